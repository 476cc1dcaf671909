"""Run an Omniscape.jl INI file as it is: :func:`run_ini`.

Every key of Omniscape.jl's configuration is understood (the ``[...]``
section headers carry no meaning, as in Omniscape.jl); file paths are
relative to the INI file; outputs go to the folder ``project_name`` beside
the INI file with Omniscape.jl's names (``cum_currmap``,
``flow_potential``, ``normalized_cum_currmap``, ``classified_resistance``;
``.tif`` unless ``write_as_tif = false``, then ``.asc``) plus a copy of the
INI as ``config.ini``.  Unlike Omniscape.jl an existing output folder is
not renamed to ``<name>_1``: it is refused unless ``overwrite`` (and then
only trapscape's own unchanged files are replaced).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..._output import staged_outputs
from ...errors import InputError
from ...io.omniscape import GridFile, read_grid, read_ini, write_grid
from ._options import Conditions, OmniscapeOptions
from .core import OmniscapeResult, omniscape

__all__ = ["OUTPUT_NAMES", "IniRun", "options_from_ini", "run_ini"]

logger = logging.getLogger(__name__)

OUTPUT_NAMES = (
    "cum_currmap",
    "flow_potential",
    "normalized_cum_currmap",
    "classified_resistance",
)

_KNOWN = {
    "resistance_file",
    "resistance_file_is_conductance",
    "source_file",
    "project_name",
    "parallelize",
    "parallel_batch_size",
    "block_size",
    "radius",
    "buffer",
    "source_threshold",
    "source_from_resistance",
    "r_cutoff",
    "precision",
    "calc_flow_potential",
    "calc_normalized_current",
    "correct_artifacts",
    "write_raw_currmap",
    "write_as_tif",
    "mask_nodata",
    "conditional",
    "n_conditions",
    "compare_to_future",
    "condition1_file",
    "condition2_file",
    "condition1_future_file",
    "condition2_future_file",
    "comparison1",
    "comparison2",
    "condition1_lower",
    "condition1_upper",
    "condition2_lower",
    "condition2_upper",
    "reclassify_resistance",
    "reclass_table",
    "write_reclassified_resistance",
    "allow_different_projections",
    "connect_four_neighbors_only",
    "solver",
}


@dataclass(frozen=True)
class IniRun:
    """What :func:`run_ini` did."""

    result: OmniscapeResult
    out: Path
    files: tuple[str, ...]


class _Cfg:
    """Typed access to the INI's values, errors naming the file and key."""

    def __init__(self, values: Mapping[str, str], path: Path) -> None:
        self.values = dict(values)
        self.path = path

    def _bad(self, key: str, want: str) -> InputError:
        return InputError(
            f"{self.path}: {key} = {self.values[key]!r} is not {want}.", path=self.path
        )

    def has(self, key: str) -> bool:
        return key in self.values and self.values[key] != ""

    def flag(self, key: str, default: bool) -> bool:
        if not self.has(key):
            return default
        v = self.values[key].lower()
        if v in ("true", "yes", "1"):
            return True
        if v in ("false", "no", "0"):
            return False
        raise self._bad(key, "true or false")

    def number(self, key: str, default: float | None) -> float:
        if not self.has(key):
            if default is None:
                raise InputError(
                    f"{self.path}: {key} is missing; Omniscape needs it.",
                    path=self.path,
                )
            return default
        try:
            return float(self.values[key])
        except ValueError:
            raise self._bad(key, "a number") from None

    def whole(self, key: str, default: int | None) -> int:
        value = self.number(key, None if default is None else float(default))
        return round(value)

    def text(self, key: str, default: str | None = None) -> str:
        if not self.has(key):
            if default is None:
                raise InputError(
                    f"{self.path}: {key} is missing; Omniscape needs it.",
                    path=self.path,
                )
            return default
        return self.values[key]

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        """A lower-case value among ``choices`` (the first is the default)."""
        if not self.has(key):
            return choices[0]
        v = self.values[key].strip().lower()
        if v not in choices:
            raise self._bad(key, " or ".join(repr(c) for c in choices))
        return v

    def file(self, key: str) -> Path:
        p = Path(self.text(key))
        return p if p.is_absolute() else self.path.parent / p


def _conditions(cfg: _Cfg) -> Conditions | None:
    if not cfg.flag("conditional", False):
        return None
    n = cfg.whole("n_conditions", 1)
    if n not in (1, 2):
        raise InputError(
            f"{cfg.path}: n_conditions must be 1 or 2, got {n}.", path=cfg.path
        )
    comps = []
    for k in range(1, n + 1):
        comp = cfg.text(f"comparison{k}", "within").lower()
        comps.append("equal" if comp in ("equal", "equals") else comp)
    return Conditions(
        comparisons=tuple(comps),  # type: ignore[arg-type]
        lower=tuple(cfg.number(f"condition{k}_lower", 0.0) for k in range(1, n + 1)),
        upper=tuple(cfg.number(f"condition{k}_upper", 0.0) for k in range(1, n + 1)),
        compare_to_future=cfg.text("compare_to_future", "none").lower(),  # type: ignore[arg-type]
    )


def options_from_ini(
    values: Mapping[str, str], path: str | os.PathLike[str]
) -> OmniscapeOptions:
    """:class:`OmniscapeOptions` from the keys of an Omniscape.jl INI file."""
    cfg = _Cfg(values, Path(path))
    unknown = sorted(set(values) - _KNOWN)
    if unknown:
        logger.warning(
            "%s: keys not used by Omniscape ignored: %s", path, ", ".join(unknown)
        )
    precision = cfg.text("precision", "double").lower()
    return OmniscapeOptions(
        radius=cfg.whole("radius", None),
        block_size=cfg.whole("block_size", 1),
        buffer=cfg.whole("buffer", 0),
        source_threshold=cfg.number("source_threshold", 0.0),
        r_cutoff=cfg.number("r_cutoff", math.inf),
        source_from_resistance=cfg.flag("source_from_resistance", False),
        resistance_is_conductance=cfg.flag("resistance_file_is_conductance", False),
        calc_flow_potential=cfg.flag("calc_flow_potential", False),
        calc_normalized_current=cfg.flag("calc_normalized_current", False),
        correct_artifacts=cfg.flag("correct_artifacts", True),
        connect_four_neighbors_only=cfg.flag("connect_four_neighbors_only", False),
        mask_nodata=cfg.flag("mask_nodata", True),
        precision="single" if precision in ("single", "float32") else precision,  # type: ignore[arg-type]
        # Omniscape.jl's default first
        solver=cfg.choice("solver", ("cg+amg", "cholmod")),  # type: ignore[arg-type]
        conditions=_conditions(cfg),
    )


def _check_aligned(base: GridFile, other: GridFile, key: str, same_crs: bool) -> None:
    if other.shape != base.shape or not other.transform.almost_equals(
        base.transform, precision=1e-6 * abs(base.transform.a)
    ):
        raise InputError(
            f"{key} {other.path} is not on the grid of resistance_file {base.path} "
            f"({other.shape[0]} x {other.shape[1]} cells at {tuple(other.transform)[:6]} "
            f"vs {base.shape[0]} x {base.shape[1]} at {tuple(base.transform)[:6]}). "
            "Resample it onto the resistance grid.",
            path=other.path,
        )
    if (
        same_crs
        and base.crs is not None
        and other.crs is not None
        and base.crs != other.crs
    ):
        raise InputError(
            f"{key} {other.path} has another projection than resistance_file; "
            "reproject it or set allow_different_projections = true.",
            path=other.path,
        )


def _inputs(cfg: _Cfg, opts: OmniscapeOptions) -> dict[str, Any]:
    res = read_grid(cfg.file("resistance_file"), what="resistance_file")
    same_crs = not cfg.flag("allow_different_projections", False)
    out: dict[str, Any] = {"grid": res, "resistance": res.values}
    if not opts.source_from_resistance:
        src = read_grid(cfg.file("source_file"), what="source_file")
        _check_aligned(res, src, "source_file", same_crs)
        out["source"] = src.values
    if cfg.flag("reclassify_resistance", False):
        table_path = cfg.file("reclass_table")
        try:
            out["reclass"] = np.loadtxt(table_path, ndmin=2)
        except (OSError, ValueError) as exc:
            raise InputError(
                f"reclass_table {table_path}: cannot read two columns of numbers ({exc}).",
                path=table_path,
            ) from None
    if opts.conditions is not None:
        present: list[np.ndarray] = []
        future: list[np.ndarray | None] = []
        for k in range(1, len(opts.conditions.comparisons) + 1):
            g = read_grid(cfg.file(f"condition{k}_file"), what=f"condition{k}_file")
            _check_aligned(res, g, f"condition{k}_file", same_crs)
            present.append(g.values)
            if opts.conditions.uses_future(k - 1):
                key = f"condition{k}_future_file"
                f = read_grid(cfg.file(key), what=key)
                _check_aligned(res, f, key, same_crs)
                future.append(f.values)
            else:
                future.append(None)
        out["conditions"], out["future"] = present, future
    return out


def run_ini(
    path: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
) -> IniRun:
    """Run an Omniscape.jl INI file; write its outputs beside it.

    Everything is checked and computed before anything is written; the
    outputs are staged and moved into ``<INI folder>/<project_name>/`` at
    the end (see :mod:`trapscape._output`); ``out`` replaces that folder.
    """
    ini = Path(path)
    values = read_ini(ini)
    cfg = _Cfg(values, ini)
    opts = options_from_ini(values, ini)
    out_dir = Path(out) if out is not None else cfg.file("project_name")
    suffix = ".tif" if cfg.flag("write_as_tif", True) else ".asc"
    reclassify = cfg.flag("reclassify_resistance", False)
    wanted = [
        name
        for name, on in zip(
            OUTPUT_NAMES,
            (
                cfg.flag("write_raw_currmap", True),
                opts.calc_flow_potential,
                opts.calc_normalized_current,
                reclassify and cfg.flag("write_reclassified_resistance", False),
            ),
            strict=True,
        )
        if on
    ]
    names = [n + suffix for n in wanted] + ["config.ini"]
    if suffix == ".asc":
        names += [n + ".prj" for n in wanted]
    from ..._output import check_outputs

    check_outputs(out_dir, names, overwrite=overwrite, what="Omniscape outputs")
    if scheduler is not None or workers > 1:  # GeoTIFFs read by window
        from ._windowed import run_windowed

        run = run_windowed(
            cfg,
            opts,
            ini=ini,
            out_dir=out_dir,
            names=names,
            wanted=wanted,
            suffix=suffix,
            overwrite=overwrite,
            batch_size=_batch_size(cfg),
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )
        if run is not None:
            return run
    data = _inputs(cfg, opts)
    result = omniscape(
        data["resistance"],
        data.get("source"),
        options=opts,
        reclass_table=data.get("reclass"),
        conditions=data.get("conditions"),
        future_conditions=data.get("future"),
        batch_size=cfg.whole("parallel_batch_size", 64)
        if cfg.has("parallel_batch_size")
        else 64,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    grid: GridFile = data["grid"]
    dtype = "float32" if opts.precision == "single" else "float64"
    maps = {
        "cum_currmap": result.cumulative_current,
        "flow_potential": result.flow_potential,
        "normalized_cum_currmap": result.normalized_current,
        "classified_resistance": _classified(data, opts),
    }
    written = []
    with staged_outputs(
        out_dir, names, overwrite=overwrite, what="Omniscape outputs"
    ) as tmp:
        for name in wanted:
            write_grid(
                maps[name],
                tmp / (name + suffix),
                transform=grid.transform,
                crs=grid.crs,
                dtype=dtype,
            )
            written.append(name + suffix)
        shutil.copyfile(ini, tmp / "config.ini")
        written.append("config.ini")
    return IniRun(result, out_dir, tuple(written))


def _batch_size(cfg: _Cfg) -> int:
    return (
        cfg.whole("parallel_batch_size", 64) if cfg.has("parallel_batch_size") else 64
    )


def _classified(data: Mapping[str, Any], opts: OmniscapeOptions) -> np.ndarray | None:
    table = data.get("reclass")
    if table is None:
        return None
    res = np.asarray(data["resistance"], dtype=np.float64)
    out = res.copy()
    for old, new in table:
        out[res == old] = new
    return out
