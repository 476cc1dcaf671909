"""Read and write secr's text formats and camtrapR record tables.

So that analyses can move between trapscape and R:

* **secr trap file** (``read.traps(file, detector = ...)``): one detector per
  line, ``trapID x y [usage]``; usage is a string of 0/1 per occasion
  (``binary.usage = TRUE``, secr's default) or whitespace-separated numbers
  (``binary.usage = FALSE``). ``#`` starts a comment.
* **secr capture file** (``read.capthist(..., fmt = "trapID")``):
  ``Session ID Occasion Detector [covariates]``, one detection per line.
* **camtrapR** record table (``Station``, ``Species``, ``DateTimeOriginal``,
  ``Individual``) with its camera-trap table (``Station``, coordinates,
  ``Setup_date``, ``Retrieval_date``, optional ``ProblemN_from/_to``).

References
----------
Efford, M. G. (2024) secr: data input (vignette ``secr-datainput``).
Niedballa, J. et al. (2016) camtrapR: an R package for efficient camera trap
data management. Methods Ecol. Evol. 7, 1457-1462.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import validation as V
from .density import CaptureHistory, Mask
from .errors import InputError, SchemaError

__all__ = [
    "TrapLayout",
    "read_camtrapr",
    "read_secr",
    "read_secr_captures",
    "read_secr_mask",
    "read_secr_traps",
    "write_secr",
]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class TrapLayout:
    """Detectors read from a secr trap file.

    Attributes
    ----------
    trap_ids
        Detector labels, in file order.
    xy
        ``(J, 2)`` coordinates (metres).
    usage
        ``(J, K)`` usage, or ``None`` when the file has no usage column.
    """

    trap_ids: tuple[str, ...]
    xy: np.ndarray
    usage: np.ndarray | None = None


def _lines(path: PathLike) -> list[tuple[int, list[str]]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            out.append((lineno, [t for t in re.split(r"[\s,]+", line) if t]))
    return out


def read_secr_traps(path: PathLike, *, binary_usage: bool = True) -> TrapLayout:
    """Read a secr trap file (``trapID x y [usage]``).

    Parameters
    ----------
    path
        Text file, whitespace- or comma-separated; ``#`` comments.
    binary_usage
        Usage as one 0/1 string per detector (secr's default); otherwise
        whitespace-separated numbers after ``x y``.

    Raises
    ------
    InputError
        With file and line when a line cannot be read.
    """
    ids: list[str] = []
    xy: list[tuple[float, float]] = []
    usage: list[list[float]] = []
    for lineno, tok in _lines(path):
        if len(tok) < 3:
            raise InputError(
                f"{os.fspath(path)} line {lineno}: expected 'trapID x y "
                "[usage]', got {' '.join(tok)!r}.",
                path=path,
                row=lineno,
            )
        try:
            x, y = float(tok[1]), float(tok[2])
        except ValueError:
            if not ids and lineno == 1:
                continue  # header line without '#'
            raise InputError(
                f"{os.fspath(path)} line {lineno}: x and y must be numbers, got "
                f"{tok[1]!r} {tok[2]!r}.",
                path=path,
                row=lineno,
            ) from None
        rest = (
            tok[3 : tok.index("/")] if "/" in tok else tok[3:]
        )  # '/' starts covariates
        if binary_usage and rest:
            if not re.fullmatch(r"[01]+", rest[0]):
                raise InputError(
                    f"{os.fspath(path)} line {lineno}: usage {rest[0]!r} is not a "
                    "string of 0/1; pass binary_usage=False for numeric usage.",
                    path=path,
                    row=lineno,
                )
            usage.append([float(c) for c in rest[0]])
        elif rest:
            try:
                usage.append([float(t) for t in rest])
            except ValueError:
                raise InputError(
                    f"{os.fspath(path)} line {lineno}: usage values must be numbers.",
                    path=path,
                    row=lineno,
                ) from None
        ids.append(tok[0])
        xy.append((x, y))
    if not ids:
        raise InputError(f"{os.fspath(path)}: no detectors found.", path=path)
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise InputError(f"{os.fspath(path)}: duplicate trap ids {dup}.", path=path)
    use = None
    if usage:
        if len(usage) != len(ids) or len({len(u) for u in usage}) != 1:
            raise InputError(
                f"{os.fspath(path)}: every detector needs usage for the same "
                "number of occasions.",
                path=path,
            )
        use = np.array(usage, dtype=np.float64)
    return TrapLayout(tuple(ids), np.array(xy, dtype=np.float64), use)


def read_secr_captures(
    path: PathLike,
    traps: TrapLayout,
    *,
    n_occasions: int | None = None,
    detector: str = "proximity",
    session: str | None = None,
    sex_column: int | None = None,
) -> CaptureHistory:
    """Read a secr capture file (``Session ID Occasion Detector``).

    Parameters
    ----------
    path
        Capture file; ``#`` comments.
    traps
        Detectors (:func:`read_secr_traps`).
    n_occasions
        Number of occasions (default: from the usage, else the largest
        occasion number).
    detector
        ``"proximity"`` (repeat detections on an occasion collapse to one)
        or ``"count"``.
    session
        Keep this session only (default: require a single session).
    sex_column
        0-based column holding the individual's sex (``F``/``M``), e.g. 4
        for ``Session ID Occasion Detector sex``.
    """
    rows: list[tuple[str, str, int, str, str | None, int]] = []
    for lineno, tok in _lines(path):
        if len(tok) < 4:
            raise InputError(
                f"{os.fspath(path)} line {lineno}: expected 'Session ID Occasion "
                "Detector', got {' '.join(tok)!r}.",
                path=path,
                row=lineno,
            )
        try:
            occ = int(float(tok[2]))
        except ValueError:
            if not rows and lineno == 1:
                continue  # header without '#'
            raise InputError(
                f"{os.fspath(path)} line {lineno}: occasion {tok[2]!r} is not a "
                "whole number.",
                path=path,
                row=lineno,
            ) from None
        sx = (
            tok[sex_column]
            if sex_column is not None and len(tok) > sex_column
            else None
        )
        rows.append((tok[0], tok[1], occ, tok[3], sx, lineno))
    sessions = sorted({r[0] for r in rows})
    if session is None and len(sessions) > 1:
        raise InputError(
            f"{os.fspath(path)}: several sessions {sessions}; choose one with "
            "session=.",
            path=path,
        )
    if session is not None:
        rows = [r for r in rows if r[0] == str(session)]
    j_of = {t: j for j, t in enumerate(traps.trap_ids)}
    for r in rows:
        if r[3] not in j_of:
            raise InputError(
                f"{os.fspath(path)} line {r[5]}: detector {r[3]!r} is not in the "
                "trap file.",
                path=path,
                row=r[5],
            )
        if r[2] < 1:
            raise InputError(
                f"{os.fspath(path)} line {r[5]}: occasions are numbered from 1.",
                path=path,
                row=r[5],
            )
    if n_occasions is None:
        n_occasions = (
            traps.usage.shape[1]
            if traps.usage is not None
            else max((r[2] for r in rows), default=1)
        )
    if any(r[2] > n_occasions for r in rows):
        raise InputError(
            f"{os.fspath(path)}: an occasion exceeds n_occasions={n_occasions}.",
            path=path,
        )
    usage = (
        traps.usage
        if traps.usage is not None
        else np.ones((len(traps.trap_ids), n_occasions))
    )
    if usage.shape[1] != n_occasions:
        raise InputError(
            f"The trap usage covers {usage.shape[1]} occasions but "
            f"n_occasions={n_occasions}."
        )
    ids = _natural_sorted({r[1] for r in rows})
    i_of = {s: i for i, s in enumerate(ids)}
    caps = np.zeros((len(ids), n_occasions, len(traps.trap_ids)), dtype=np.int64)
    sex: list[str | None] = [None] * len(ids)
    for r in rows:
        caps[i_of[r[1]], r[2] - 1, j_of[r[3]]] += 1
        if r[4] is not None and r[4] not in ("NA", ""):
            sex[i_of[r[1]]] = r[4]
    if detector == "proximity":
        caps = np.minimum(caps, 1)
    return CaptureHistory(
        traps.xy,
        usage,
        caps,
        detector=detector,  # type: ignore[arg-type]
        individual_ids=tuple(ids),
        trap_ids=traps.trap_ids,
        sex=tuple(sex) if sex_column is not None else None,
    )


def _natural_sorted(values: set[str]) -> list[str]:
    def key(v: str) -> tuple[int, float, str]:
        try:
            return (0, float(v), v)
        except ValueError:
            return (1, 0.0, v)

    return sorted(values, key=key)


def read_secr_mask(path: PathLike, *, spacing: float | None = None) -> Mask:
    """Read a habitat mask saved from secr (``write.csv(mask)``: columns x, y).

    Parameters
    ----------
    path
        CSV (or whitespace-separated text) with ``x`` and ``y`` columns in
        metres; other columns are ignored.
    spacing
        Cell size in metres (secr's ``spacing(mask)``); default: the smallest
        positive difference between distinct x (or y) values.
    """
    frame = pd.read_csv(path, sep=None, engine="python", comment="#")
    cols = {str(c).strip().strip('"').lower(): c for c in frame.columns}
    if "x" not in cols or "y" not in cols:
        raise SchemaError(
            f"{os.fspath(path)}: a mask needs columns x and y; it has "
            f"{list(frame.columns)}.",
            path=path,
        )
    xy = frame[[cols["x"], cols["y"]]].to_numpy(dtype=np.float64)
    if spacing is None:
        diffs = [np.diff(np.unique(xy[:, k])) for k in (0, 1)]
        pos = np.concatenate([d[d > 1e-9] for d in diffs])
        if pos.size == 0:
            raise InputError(
                f"{os.fspath(path)}: cannot infer the mask spacing; pass spacing=.",
                path=path,
            )
        spacing = float(pos.min())
    return Mask(xy=xy, spacing=float(spacing))


def read_secr(
    trapfile: PathLike,
    capturefile: PathLike,
    *,
    detector: str = "proximity",
    binary_usage: bool = True,
    n_occasions: int | None = None,
) -> CaptureHistory:
    """Read a secr trap file and capture file into a :class:`CaptureHistory`."""
    traps = read_secr_traps(trapfile, binary_usage=binary_usage)
    return read_secr_captures(
        capturefile, traps, n_occasions=n_occasions, detector=detector
    )


def write_secr(
    ch: CaptureHistory,
    trapfile: PathLike,
    capturefile: PathLike,
    *,
    session: str = "1",
    overwrite: bool = False,
) -> None:
    """Write a capture history as secr trap and capture files.

    Usage is written as a 0/1 string when all values are 0 or 1 (read with
    ``read.traps(..., binary.usage = TRUE)``), otherwise as numbers (read with
    ``binary.usage = FALSE``).  Sex, when known, is written as a fifth column
    of the capture file.
    """
    for p in (trapfile, capturefile):
        if Path(p).exists() and not overwrite:
            raise InputError(
                f"{os.fspath(p)} exists; pass overwrite=True to replace it.", path=p
            )
    binary = bool(np.all(np.isin(ch.usage, (0.0, 1.0))))
    with open(trapfile, "w", encoding="utf-8") as fh:
        fh.write(
            "# trapID x y usage"
            + (" (binary.usage = TRUE)" if binary else " (binary.usage = FALSE)")
            + "\n"
        )
        for tid, (x, y), use in zip(ch.trap_ids, ch.traps_xy, ch.usage, strict=True):
            u = (
                "".join(str(int(v)) for v in use)
                if binary
                else " ".join(f"{v:g}" for v in use)
            )
            fh.write(f"{tid} {x:.10g} {y:.10g} {u}\n")
    has_sex = ch.sex is not None and any(s is not None for s in ch.sex)
    with open(capturefile, "w", encoding="utf-8") as fh:
        fh.write("# Session ID Occasion Detector" + (" sex" if has_sex else "") + "\n")
        for i, k, j in zip(*np.nonzero(ch.captures), strict=True):
            extra = ""
            if has_sex:
                extra = " " + (ch.sex[i] or "NA")  # type: ignore[index]
            for _ in range(int(ch.captures[i, k, j])):
                ind = ch.individual_ids[i]
                fh.write(f"{session} {ind} {k + 1} {ch.trap_ids[j]}{extra}\n")


def read_camtrapr(
    records: PathLike | pd.DataFrame,
    camtraps: PathLike | pd.DataFrame,
    *,
    species: str | None = None,
    occasion_days: float = 1.0,
    detector: str = "proximity",
    x_column: str = "utm_x",
    y_column: str = "utm_y",
    station_column: str = "Station",
    individual_column: str = "Individual",
    date_format: str | None = None,
) -> CaptureHistory:
    """Build a capture history from camtrapR tables.

    Parameters
    ----------
    records
        Record table (``Station``, ``Species``, ``DateTimeOriginal``,
        ``Individual``; optional ``Sex``).
    camtraps
        Camera-trap table (``Station``, coordinates, ``Setup_date``,
        ``Retrieval_date``, optional ``Problem1_from``/``Problem1_to``...).
        Date-only values count the setup and retrieval days as half days
        (stored at 12:00, camtrapR's convention); problem periods remove
        whole days (from 00:00 of ``from`` to 24:00 of ``to``).
    species
        Keep only this species.
    occasion_days
        Occasion length; occasions start at 00:00 of the first setup day.
    detector
        ``"proximity"`` or ``"count"``.
    x_column, y_column, station_column, individual_column
        Column names.
    date_format
        ``strftime`` format of the dates when pandas cannot infer it.
    """
    rec = records if isinstance(records, pd.DataFrame) else pd.read_csv(records)
    ct = camtraps if isinstance(camtraps, pd.DataFrame) else pd.read_csv(camtraps)
    for frame, cols, what in (
        (
            ct,
            [station_column, x_column, y_column, "Setup_date", "Retrieval_date"],
            "camera-trap table",
        ),
        (
            rec,
            [station_column, "Species", "DateTimeOriginal", individual_column],
            "record table",
        ),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"The {what} lacks column(s) {missing}; it has {list(frame.columns)}."
            )
    if species is not None:
        rec = rec[rec["Species"] == species]
    elif rec["Species"].nunique() > 1:
        raise InputError(
            f"The record table holds several species "
            f"({sorted(map(str, rec['Species'].unique()))}); choose one with "
            "species=."
        )
    named = V.individual_ids(pd.DataFrame({V.INDIVIDUAL_ID: rec[individual_column]}))
    rec = rec[named.notna().to_numpy()]

    def to_time(
        s: pd.Series, *, end_of_day: bool = False, noon: bool = True
    ) -> pd.Series:
        t = pd.to_datetime(s.astype(str), format=date_format)
        dated = t == t.dt.normalize()
        if noon:
            return t.where(~dated, t + pd.Timedelta(hours=12))
        if end_of_day:
            return t.where(~dated, t + pd.Timedelta(days=1))
        return t

    ct = ct.copy()
    ct["_setup"] = to_time(ct["Setup_date"])
    ct["_retr"] = to_time(ct["Retrieval_date"])
    stations = list(dict.fromkeys(ct[station_column].astype(str)))
    t0 = ct["_setup"].min().normalize()
    t_end = ct["_retr"].max()
    step = pd.Timedelta(days=occasion_days)
    k = int(np.ceil((t_end - t0) / step))
    edges = np.array([(t0 + q * step).value for q in range(k + 1)], dtype=np.int64)
    usage = np.zeros((len(stations), k))
    prob_cols = sorted(
        c for c in ct.columns if re.fullmatch(r"Problem\d+_from", str(c))
    )
    day_ns = pd.Timedelta(days=1).value
    for j, st in enumerate(stations):
        rows = ct[ct[station_column].astype(str) == st]
        intervals: list[tuple[int, int]] = []
        for _, r in rows.iterrows():
            pieces = [(r["_setup"].value, r["_retr"].value)]
            for pc in prob_cols:
                tc = pc.replace("_from", "_to")
                if pd.isna(r[pc]) or tc not in ct.columns or pd.isna(r[tc]):
                    continue
                pf = to_time(pd.Series([r[pc]]), noon=False).iloc[0].value
                pt = (
                    to_time(pd.Series([r[tc]]), noon=False, end_of_day=True)
                    .iloc[0]
                    .value
                )
                new = []
                for a, b in pieces:
                    if pt <= a or pf >= b:
                        new.append((a, b))
                        continue
                    if pf > a:
                        new.append((a, pf))
                    if pt < b:
                        new.append((pt, b))
                pieces = new
            intervals.extend(pieces)
        # union over cameras of the station
        merged: list[list[int]] = []
        for a, b in sorted(intervals):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        for a, b in merged:
            lo = np.maximum(edges[:-1], a)
            hi = np.minimum(edges[1:], b)
            usage[j] += np.clip(hi - lo, 0, None) / day_ns
    xy = (
        ct.groupby(ct[station_column].astype(str))[[x_column, y_column]]
        .first()
        .loc[stations]
        .to_numpy(dtype=np.float64)
    )
    ids = _natural_sorted(set(rec[individual_column].astype(str)))
    i_of = {s: i for i, s in enumerate(ids)}
    j_of = {s: j for j, s in enumerate(stations)}
    caps = np.zeros((len(ids), k, len(stations)), dtype=np.int64)
    times = pd.to_datetime(rec["DateTimeOriginal"].astype(str))
    kk = np.floor((times - t0) / step).astype(int).to_numpy()
    for (st, ind), q in zip(
        zip(
            rec[station_column].astype(str),
            rec[individual_column].astype(str),
            strict=True,
        ),
        kk,
        strict=True,
    ):
        if st not in j_of:
            raise InputError(
                f"Record at station {st!r} is not in the camera-trap table."
            )
        if 0 <= q < k and usage[j_of[st], q] > 0:
            caps[i_of[ind], q, j_of[st]] += 1
    if detector == "proximity":
        caps = np.minimum(caps, 1)
    sex = None
    if "Sex" in rec.columns:
        sx = rec.groupby(rec[individual_column].astype(str))["Sex"].agg(
            lambda s: s.dropna().astype(str).mode().iloc[0] if s.notna().any() else None
        )
        sex = tuple(sx.get(i) for i in ids)
    keep = caps.sum(axis=(1, 2)) > 0
    return CaptureHistory(
        xy,
        usage,
        caps[keep],
        detector=detector,  # type: ignore[arg-type]
        individual_ids=tuple(np.array(ids, dtype=object)[keep]),
        trap_ids=tuple(stations),
        sex=tuple(np.array(sex, dtype=object)[keep]) if sex else None,
        occasion_days=occasion_days,
    )
