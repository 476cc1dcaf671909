"""Camtrap DP 1.0 conformance: the descriptor, the tables and the standard's rules.

Three layers, every problem collected before anything is raised:

1. The descriptor (``datapackage.json``) against the Camtrap DP 1.0 profile
   shipped with trapscape, with :mod:`jsonschema`.  References are resolved
   from the shipped files only (a :class:`referencing.Registry`), never from
   the network.
2. Every table against its Table Schema, with vectorised pandas checks:
   field types and formats, ``required``, ``unique``, ``enum``,
   ``minimum``/``maximum``, ``pattern``, the primary keys and the foreign
   keys deployments -> media -> observations.
3. The rules the standard states in its field descriptions, which a schema
   cannot express: timestamps carry a UTC offset and are compared as
   instants; a deployment ends after it starts; media and observations lie
   inside their deployment (bounds inclusive); media-level observations name
   a media file of the same deployment, event-level ones do not; only
   animal observations carry individuals, sex, life stage or counts.

Why not the Frictionless validator: it checks the table schemas (layer 2)
row by row in Python and knows nothing of layer 3; on 100,000 observations
it took 4.5 to 8.5 times as long as the whole read here
(``benchmarks/bench_camtrap_dp.py``).

References
----------
Bubnicki J.W. et al. (2023) Camtrap DP: an open standard for the FAIR
exchange and archiving of camera trap data. Remote Sens. Ecol. Conserv.
Frictionless Data (2021) Table Schema specification, v1.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources as _resources
from typing import Any

import numpy as np
import pandas as pd

from ..errors import ProblemCollector

__all__ = [
    "TABLES",
    "Finding",
    "check_descriptor",
    "check_tables",
    "profile_version",
    "table_schema",
]

#: the three tables of a Camtrap DP package, in key order
TABLES = ("deployments", "media", "observations")

_SCHEMA_DIR = "camtrap_dp_schemas"
_DATA_PACKAGE_URI = "https://specs.frictionlessdata.io/schemas/data-package.json"
_GEOJSON_URI = "http://json.schemastore.org/geojson.json"
_VERSION = re.compile(r"/(\d+)\.(\d+)(?:\.(\d+))?/")
_NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$|^(?:NaN|-?INF)$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # the format of every datetime field
_TRUE = ("true", "True", "TRUE", "1")
_FALSE = ("false", "False", "FALSE", "0")


@dataclass(frozen=True)
class Finding:
    """Problems (errors) and warnings of a check, each with file, row, column."""

    errors: ProblemCollector = field(default_factory=ProblemCollector)
    warnings: list[str] = field(default_factory=list)


def _schema_text(name: str) -> Any:
    ref = _resources.files("trapscape.io").joinpath(_SCHEMA_DIR, name)
    return json.loads(ref.read_text(encoding="utf-8"))


@functools.cache
def table_schema(name: str) -> dict[str, Any]:
    """The Camtrap DP 1.0 Table Schema of ``name`` (deployments, media, observations)."""
    return dict(_schema_text(f"{name}-table-schema.json"))


@functools.cache
def _validator() -> Any:
    """Draft 4 validator of the profile; every reference resolves to a shipped file."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    profile = copy.deepcopy(_schema_text("camtrap-dp-profile.json"))
    # the profile pins resource schema URLs to one version; versions are
    # checked by profile_version() instead (other versions warn, not fail)
    profile["$defs"]["version"] = {}
    registry: Registry[Any] = Registry().with_resources(
        [
            (uri, Resource.from_contents(_schema_text(name), DRAFT4))
            for uri, name in (
                (_DATA_PACKAGE_URI, "data-package-minimal.json"),
                (_GEOJSON_URI, "geojson-minimal.json"),
            )
        ]
    )
    cls = jsonschema.Draft4Validator
    return cls(profile, registry=registry, format_checker=cls.FORMAT_CHECKER)


def profile_version(url: object) -> tuple[int, int] | None:
    """(major, minor) of the Camtrap DP version in a profile or schema URL."""
    if not isinstance(url, str):
        return None
    m = _VERSION.search(url)
    return None if m is None else (int(m.group(1)), int(m.group(2)))


def _json_where(path: Any) -> str:
    return "/".join(str(p) for p in path) or "(top level)"


def check_descriptor(pkg: dict[str, Any], out: Finding, dp_path: str) -> None:
    """Check a parsed ``datapackage.json`` against the Camtrap DP 1.0 profile."""
    from jsonschema.exceptions import best_match

    errors = _validator().iter_errors(pkg)
    for err in sorted(errors, key=lambda e: [str(p) for p in e.path]):
        shown = best_match(err.context) if err.context else err
        where = _json_where(shown.absolute_path)
        out.errors.add(
            f"{shown.message}. Fix the descriptor (Camtrap DP 1.0 profile).",
            path=dp_path,
            column=where,
            kind="schema",
        )
    names = [r.get("name") for r in pkg.get("resources", []) if isinstance(r, dict)]
    for name in TABLES:
        if names.count(name) != 1:
            out.errors.add(
                f"resources: {names.count(name)} resources are named '{name}'; a "
                "Camtrap DP package has exactly one. Fix the descriptor.",
                path=dp_path,
                column="resources",
                kind="schema",
            )
    _check_versions(pkg, out, dp_path)


def _check_versions(pkg: dict[str, Any], out: Finding, dp_path: str) -> None:
    urls = [("profile", pkg.get("profile"))] + [
        (f"resources/{r.get('name')}/schema", r.get("schema"))
        for r in pkg.get("resources", [])
        if isinstance(r, dict) and r.get("name") in TABLES
    ]
    for where, url in urls:
        version = profile_version(url)
        if isinstance(url, str) and version != (1, 0):
            said = "no version" if version is None else "version {}.{}".format(*version)
            out.warnings.append(
                f"{dp_path}: {where} '{url}' declares {said}; trapscape checks "
                "against Camtrap DP 1.0.x, so some rules may differ."
            )


# -- tables -----------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    """One table as strings, with its file name and schema."""

    name: str
    frame: pd.DataFrame
    path: str
    _cache: dict[str, pd.Series] = field(default_factory=dict, compare=False)

    @property
    def schema(self) -> dict[str, Any]:
        return table_schema(self.name)

    def has(self, col: str) -> bool:
        return col in self.frame.columns

    def values(self, col: str) -> pd.Series:
        """Stripped strings of ``col``; missing values (schema's list) as ''."""
        if col not in self._cache:
            if col not in self.frame.columns:
                ser = pd.Series("", index=self.frame.index, dtype=object)
            else:
                ser = self.frame[col]
                if pd.api.types.infer_dtype(ser, skipna=False) != "string":
                    ser = ser.map(_as_text)  # inline data: numbers, booleans
                ser = ser.astype(object)
                if _spaced(ser):
                    ser = ser.str.strip()
                missing = ser.isin(self.schema.get("missingValues", [""]))
                ser = ser.where(~missing, "")
            self._cache[col] = ser
        return self._cache[col]


def _spaced(ser: pd.Series) -> bool:
    """Whether a value starts or ends with a blank (one scan of the joined text)."""
    joined = "\x00" + "\x00".join(ser.to_list()) + "\x00"
    return any(p in joined for p in (" \x00", "\x00 ", "\t\x00", "\x00\t"))


def _as_text(v: Any) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


def _add_rows(
    out: Finding, t: _Table, rows: np.ndarray, col: str, message: Any
) -> None:
    """One problem per 0-based row position; ``message`` maps a position to text."""
    for i in rows:
        out.errors.add(message(int(i)), path=t.path, row=int(i) + 1, column=col)


def _check_header(t: _Table, out: Finding) -> None:
    names = [f["name"] for f in t.schema["fields"]]
    lower = {n.lower(): n for n in names}
    for col in t.frame.columns:
        if col not in names:
            right = lower.get(str(col).lower())
            if right is not None:
                out.errors.add(
                    f"column '{col}' must be spelled '{right}' (names are "
                    "case-sensitive). Rename it.",
                    path=t.path,
                    column=str(col),
                    kind="schema",
                )
            else:
                out.warnings.append(
                    f"{t.path}: column '{col}' is not a Camtrap DP 1.0 "
                    f"{t.name} field; it is ignored by the standard."
                )
    for f in t.schema["fields"]:
        req = f.get("constraints", {}).get("required", False)
        if req and not t.has(f["name"]) and f["name"].lower() not in _lower_cols(t):
            out.errors.add(
                f"required {t.name} field '{f['name']}' is missing. Add the column "
                f"(Camtrap DP 1.0 {t.name} schema).",
                path=t.path,
                column=f["name"],
                kind="schema",
            )


def _lower_cols(t: _Table) -> set[str]:
    return {str(c).lower() for c in t.frame.columns}


def _type_ok(vals: pd.Series, spec: dict[str, Any]) -> tuple[pd.Series, str]:
    """(mask of values of the right type, what they should be) for filled values."""
    kind = spec.get("type", "string")
    if kind == "number":
        return _matches(vals, _NUMBER), "a number"
    if kind == "integer":
        return _matches(vals, _INTEGER), "a whole number"
    if kind == "boolean":
        return vals.isin(_TRUE + _FALSE), "true or false"
    if kind == "datetime":
        return _instants(vals).notna(), (
            "a date-time with a UTC offset (YYYY-MM-DDThh:mm:ssZ or "
            "YYYY-MM-DDThh:mm:ss+hh:mm)"
        )
    return pd.Series(True, index=vals.index), "text"


def _matches(vals: pd.Series, pattern: re.Pattern[str] | str) -> pd.Series:
    """Whether each value matches ``pattern`` entirely (tested once per distinct value)."""
    uniq = pd.Series(vals.unique(), dtype=object)
    good = uniq[uniq.str.fullmatch(pattern).fillna(False).astype(bool)]
    return vals.isin(good)


def _instants(vals: pd.Series) -> pd.Series:
    """``YYYY-MM-DDThh:mm:ss`` + offset as naive UTC instants (else NaT)."""
    out = pd.to_datetime(
        vals.where(vals != ""), utc=True, errors="coerce", format=_DATETIME_FORMAT
    )
    return pd.Series(out, index=vals.index).dt.tz_localize(None)


def _check_field(t: _Table, spec: dict[str, Any], out: Finding) -> None:
    name = spec["name"]
    cons = spec.get("constraints", {})
    if not t.has(name) or (
        spec.get("type", "string") in ("string", "any")
        and not set(cons) - {"required"}
        and not cons.get("required")
    ):
        return  # free text: nothing to check
    vals = t.values(name)
    filled = vals != ""
    example = spec.get("example")
    fix = f" (e.g. {example})" if example not in (None, "") else ""
    if cons.get("required"):
        _add_rows(
            out,
            t,
            np.flatnonzero(~filled.to_numpy()),
            name,
            lambda i: f"{name} is required and empty. Fill it in{fix}.",
        )
    ok, what = _type_ok(vals[filled], spec)
    bad = vals[filled][~ok]
    pos = t.frame.index.get_indexer(bad.index)
    _add_rows(
        out, t, pos, name, lambda i: f"'{vals.iloc[i]}' is not {what}. Correct it{fix}."
    )
    good = vals[filled][ok]
    _check_constraints(t, name, good, cons, out, fix)
    if cons.get("unique"):
        dup = vals[filled & vals.duplicated(keep=False)]
        first = pd.Series(np.arange(len(vals)), index=vals.index)[dup.index]
        first = first.groupby(dup).transform("min")
        later = dup.index[dup.index != first]
        _add_rows(
            out,
            t,
            np.asarray(later),
            name,
            lambda i: (
                f"{name} '{vals.iloc[i]}' is repeated (first in row "
                f"{int(first[i]) + 1}). Give each row its own id."
            ),
        )


def _check_constraints(
    t: _Table,
    name: str,
    good: pd.Series,
    cons: dict[str, Any],
    out: Finding,
    fix: str,
) -> None:
    """enum, pattern, minimum and maximum of values already of the right type."""
    index = t.frame.index

    def report(mask: pd.Series, text: str) -> None:
        sel = good[mask]
        _add_rows(
            out,
            t,
            index.get_indexer(sel.index),
            name,
            lambda i: f"'{t.values(name).iloc[i]}' {text}",
        )

    if "enum" in cons:
        allowed = ", ".join(cons["enum"])
        report(~good.isin(cons["enum"]), f"is not one of: {allowed}. Use one of them.")
    if "pattern" in cons:
        report(
            ~_matches(good, cons["pattern"]),
            f"does not match the pattern {cons['pattern']}. Correct it{fix}.",
        )
    if "minimum" in cons or "maximum" in cons:
        num = pd.to_numeric(good, errors="coerce")
        lo, hi = cons.get("minimum"), cons.get("maximum")
        if lo is not None:
            report(num < lo, f"is below the minimum {lo}. Correct it{fix}.")
        if hi is not None:
            report(num > hi, f"is above the maximum {hi}. Correct it{fix}.")


def _check_foreign_keys(tables: dict[str, _Table], out: Finding) -> None:
    for t in tables.values():
        for fk in t.schema.get("foreignKeys", []):
            col, ref = fk["fields"], fk["reference"]
            other = tables.get(ref["resource"])
            if other is None or not t.has(col) or not other.has(ref["fields"]):
                continue
            vals = t.values(col)
            known = set(other.values(ref["fields"]))
            bad = np.flatnonzero(((vals != "") & ~vals.isin(known)).to_numpy())
            _add_rows(
                out,
                t,
                bad,
                col,
                lambda i, v=vals, o=other, r=ref, c=col: (
                    f"{c} '{v.iloc[i]}' is not a "
                    f"{r['fields']} of {o.path.rsplit('/', 1)[-1]}. Fix the id or add "
                    f"the missing {r['resource']} row."
                ),
            )


def check_tables(
    frames: dict[str, pd.DataFrame],
    paths: dict[str, str],
    out: Finding,
    *,
    descriptor: dict[str, Any] | None = None,
    dp_path: str = "datapackage.json",
) -> None:
    """Check the tables against their schemas and the standard's rules.

    ``frames`` maps a table name to its cells as read (strings); ``paths``
    to the file named in problems.  Tables that are absent are skipped
    (their absence is a descriptor problem).  With the ``descriptor``, its
    temporal, spatial and taxonomic coverage are compared with the tables
    (differences are warnings).
    """
    tables = {
        n: _Table(n, frames[n].reset_index(drop=True), paths[n])
        for n in TABLES
        if n in frames
    }
    for t in tables.values():
        _check_header(t, out)
        for spec in t.schema["fields"]:
            _check_field(t, spec, out)
    _check_foreign_keys(tables, out)
    _check_rules(tables, out)
    if descriptor is not None:
        _check_coverage(descriptor, tables, out, dp_path)


def _coordinates(geo: Any) -> list[tuple[float, float]]:
    """Every (lon, lat) pair in a GeoJSON object's coordinates and bbox."""
    found: list[tuple[float, float]] = []
    stack = [geo.get("coordinates", []) if isinstance(geo, dict) else []]
    while stack:
        item = stack.pop()
        if (
            isinstance(item, list)
            and len(item) >= 2
            and all(isinstance(v, (int, float)) for v in item[:2])
        ):
            found.append((float(item[0]), float(item[1])))
        elif isinstance(item, list):
            stack.extend(item)
    box = geo.get("bbox") if isinstance(geo, dict) else None
    if isinstance(box, list) and len(box) == 4:
        found += [(float(box[0]), float(box[1])), (float(box[2]), float(box[3]))]
    return found


def _check_coverage(
    desc: dict[str, Any], tables: dict[str, _Table], out: Finding, dp_path: str
) -> None:
    """temporal, spatial and taxonomic of the descriptor against the tables."""
    dep, obs = tables.get("deployments"), tables.get("observations")
    temporal = desc.get("temporal")
    if dep is not None and isinstance(temporal, dict):
        days = pd.concat(
            [dep.values("deploymentStart"), dep.values("deploymentEnd")]
        ).str[:10]
        days = days[days != ""]
        lo, hi = str(temporal.get("start", "")), str(temporal.get("end", ""))
        if len(days) and (days.min() < lo or days.max() > hi):
            out.warnings.append(
                f"{dp_path}: temporal ({lo} to {hi}) does not cover the "
                f"deployments ({days.min()} to {days.max()}). Update it."
            )
    points = _coordinates(desc.get("spatial"))
    if dep is not None and points:
        lon = pd.to_numeric(dep.values("longitude"), errors="coerce")
        lat = pd.to_numeric(dep.values("latitude"), errors="coerce")
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        outside = (lon < min(xs)) | (lon > max(xs)) | (lat < min(ys)) | (lat > max(ys))
        if outside.any():
            out.warnings.append(
                f"{dp_path}: spatial does not cover {int(outside.sum())} "
                "deployment(s) (first: row "
                f"{int(np.flatnonzero(outside.to_numpy())[0]) + 1} of "
                "deployments). Update it."
            )
    taxa = desc.get("taxonomic")
    if obs is not None and isinstance(taxa, list):
        listed = {t.get("scientificName") for t in taxa if isinstance(t, dict)}
        names = set(obs.values("scientificName")) - listed - {""}
        if names:
            shown = ", ".join(sorted(names)[:5])
            out.warnings.append(
                f"{dp_path}: taxonomic does not list {len(names)} scientificName(s) "
                f"of the observations ({shown}). Add them."
            )


# -- the rules of the field descriptions ---------------------------------------


def _check_rules(tables: dict[str, _Table], out: Finding) -> None:
    dep = tables.get("deployments")
    if dep is None or not (dep.has("deploymentStart") and dep.has("deploymentEnd")):
        return
    start = _instants(dep.values("deploymentStart"))
    end = _instants(dep.values("deploymentEnd"))
    bad = np.flatnonzero((end < start).to_numpy())
    _add_rows(
        out,
        dep,
        bad,
        "deploymentEnd",
        lambda i: (
            f"deploymentEnd {dep.values('deploymentEnd').iloc[i]} is before "
            f"deploymentStart {dep.values('deploymentStart').iloc[i]} (compared as "
            "instants). Correct one of them."
        ),
    )
    _not_both(dep, "cameraHeight", "cameraDepth", out)
    ids = dep.values("deploymentID")
    window = pd.DataFrame({"a": start.to_numpy(), "b": end.to_numpy()}, index=ids)
    window = window[~window.index.duplicated()]
    media = tables.get("media")
    if media is not None:
        _inside(media, "timestamp", window, out)
    obs = tables.get("observations")
    if obs is not None:
        _inside(obs, "eventStart", window, out)
        _inside(obs, "eventEnd", window, out)
        _check_event_order(obs, out)
        _check_levels(obs, media, out)
        _check_animal_only(obs, out)
        _check_boxes(obs, out)


def _not_both(t: _Table, a: str, b: str, out: Finding) -> None:
    both = (t.values(a) != "") & (t.values(b) != "")
    _add_rows(
        out,
        t,
        np.flatnonzero(both.to_numpy()),
        b,
        lambda i: (
            f"{a} and {b} are both given; the standard says not to combine "
            "them (a camera is above ground or under water). Empty one."
        ),
    )


def _check_boxes(obs: _Table, out: Finding) -> None:
    """Bounding boxes belong to a media file and lie inside it."""
    level = obs.values("observationLevel")
    for col in ("bboxX", "bboxY", "bboxWidth", "bboxHeight"):
        given = (obs.values(col) != "") & (level != "media")
        _add_rows(
            out,
            obs,
            np.flatnonzero(given.to_numpy()),
            col,
            lambda i, c=col: (
                f"{c} on an observation that is not media-level; a "
                "bounding box is drawn on the media file named by mediaID. Empty "
                "it, or set observationLevel to media."
            ),
        )
    for pos, size in (("bboxX", "bboxWidth"), ("bboxY", "bboxHeight")):
        a = pd.to_numeric(obs.values(pos), errors="coerce")
        w = pd.to_numeric(obs.values(size), errors="coerce")
        total = a + w
        over = (total > 1 + 1e-9).to_numpy()
        _add_rows(
            out,
            obs,
            np.flatnonzero(over),
            size,
            lambda i, p=pos, z=size, t=total: (
                f"{p} + {z} = {t.iloc[i]:g} "
                "reaches beyond the media file (both are relative to its size, at "
                "most 1 together). Correct the box."
            ),
        )


def _inside(t: _Table, col: str, window: pd.DataFrame, out: Finding) -> None:
    """Times of ``col`` inside their deployment's start..end (inclusive)."""
    if not (t.has(col) and t.has("deploymentID")):
        return
    when = _instants(t.values(col))
    dep = t.values("deploymentID")
    a = window["a"].reindex(dep).to_numpy()
    b = window["b"].reindex(dep).to_numpy()
    w = when.to_numpy()
    outside = (w < a) | (w > b)
    shown = t.values(col)
    _add_rows(
        out,
        t,
        np.flatnonzero(outside),
        col,
        lambda i: (
            f"{col} {shown.iloc[i]} is outside deployment '{dep.iloc[i]}' "
            f"({pd.Timestamp(a[i]).isoformat()} to {pd.Timestamp(b[i]).isoformat()}, "
            "inclusive, compared as instants). Check the time or the deployment."
        ),
    )


def _check_event_order(obs: _Table, out: Finding) -> None:
    if not (obs.has("eventStart") and obs.has("eventEnd")):
        return
    a, b = _instants(obs.values("eventStart")), _instants(obs.values("eventEnd"))
    _add_rows(
        out,
        obs,
        np.flatnonzero((b < a).to_numpy()),
        "eventEnd",
        lambda i: (
            f"eventEnd {obs.values('eventEnd').iloc[i]} is before eventStart "
            f"{obs.values('eventStart').iloc[i]}. Correct one of them."
        ),
    )


def _check_levels(obs: _Table, media: _Table | None, out: Finding) -> None:
    """Media-level observations name a media file (of their deployment); events don't."""
    if not obs.has("observationLevel"):
        return
    level = obs.values("observationLevel")
    mid = obs.values("mediaID")
    _add_rows(
        out,
        obs,
        np.flatnonzero(((level == "media") & (mid == "")).to_numpy()),
        "mediaID",
        lambda i: (
            "a media-level observation needs the mediaID of the file it "
            "classifies. Fill it in, or set observationLevel to event."
        ),
    )
    _add_rows(
        out,
        obs,
        np.flatnonzero(((level == "event") & (mid != "")).to_numpy()),
        "mediaID",
        lambda i: (
            f"an event-level observation has mediaID '{mid.iloc[i]}'; mediaID "
            "applies only to media-level observations. Empty it, or set "
            "observationLevel to media."
        ),
    )
    if media is None or not (media.has("mediaID") and media.has("deploymentID")):
        return
    dep_of = pd.Series(
        media.values("deploymentID").to_numpy(), index=media.values("mediaID")
    )
    dep_of = dep_of[~dep_of.index.duplicated()]
    theirs = dep_of.reindex(mid).to_numpy()
    own = obs.values("deploymentID").to_numpy()
    wrong = (mid != "").to_numpy() & pd.notna(theirs) & (theirs != own)
    _add_rows(
        out,
        obs,
        np.flatnonzero(wrong),
        "mediaID",
        lambda i: (
            f"media '{mid.iloc[i]}' belongs to deployment '{theirs[i]}', not "
            f"'{own[i]}'. Fix the mediaID or the deploymentID."
        ),
    )


#: fields that describe observed animals; empty unless observationType is animal
_ANIMAL_ONLY = ("individualID", "sex", "lifeStage", "count")


def _check_animal_only(obs: _Table, out: Finding) -> None:
    if not obs.has("observationType"):
        return
    kind = obs.values("observationType")
    for col in _ANIMAL_ONLY:
        vals = obs.values(col)
        bad = (
            (vals != "")
            & (kind != "animal")
            & ~((col == "count") & kind.isin(["human", "vehicle"]))
        )
        _add_rows(
            out,
            obs,
            np.flatnonzero(bad.to_numpy()),
            col,
            lambda i, c=col, v=vals: (
                f"{c} '{v.iloc[i]}' on an observation of type "
                f"'{kind.iloc[i]}'; only animal observations describe individuals"
                f"{' (counts also humans and vehicles)' if c == 'count' else ''}. Empty "
                "it, or set observationType to animal."
            ),
        )
