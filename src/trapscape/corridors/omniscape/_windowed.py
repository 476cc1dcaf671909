"""Omniscape on dask with GeoTIFF inputs read in windows (``trapscape[dask]``).

Neither the client nor a worker reads a whole input raster:

* the client scans the resistance (and source) raster in strips of whole
  block rows to find the targets (block sums of the source strength) and to
  check the values, keeping only the targets;
* every task opens the rasters itself and reads only the window its batch
  of targets reaches (rasterio windowed reads), prepares it exactly as
  :func:`.core.prepare_context` prepares the whole grid (every step is per
  cell) and solves the batch;
* the client adds the partial currents in batch order (as the
  single-process run does) into the cumulative map and, when flow potential
  is on, the flow-potential map: these are the results, held once, because
  the partials of neighbouring batches overlap anywhere on the grid; the
  normalised current, the nodata mask and the outputs are then made and
  written strip by strip (rasterio windowed writes).

ESRI ASCII grids cannot be read by window: with ``.asc`` inputs the whole
grids are read (:func:`.ini.run_ini` keeps its in-memory path).  ``.asc``
outputs are written whole.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import InputError
from ._engine import Context, Partial, batches, correction_array, solve_batch
from ._options import OmniscapeOptions

__all__ = ["WindowedInputs", "run_windowed", "scan_targets", "solve_windowed"]

logger = logging.getLogger(__name__)

#: Cells per strip the client reads or writes at a time (32 MB of float64).
STRIP_CELLS = 1 << 22


def _read(path: Path, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
    """Rows ``r0:r1``, columns ``c0:c1`` of band 1 as float64 (nodata NaN)."""
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as src:
        data = src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True).astype(
            np.float64
        )
    return np.ma.filled(data, np.nan)


@dataclass(frozen=True)
class WindowedInputs:
    """Paths of the rasters of a run and how to prepare any window of them."""

    resistance: Path
    source: Path | None
    conditions: tuple[Path, ...]
    future: tuple[Path | None, ...]
    reclass: np.ndarray | None
    options: OmniscapeOptions
    shape: tuple[int, int]

    def raw(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """The resistance as read (before reclassification)."""
        return _read(self.resistance, r0, r1, c0, c1)

    def grids(
        self, r0: int, r1: int, c0: int, c1: int
    ) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
        """Conductance, sources and condition layers of a window.

        The steps of :func:`.core.prepare_context`, cell by cell.
        """
        from .core import _reclassify, _source_strength

        opts = self.options
        res = self.raw(r0, r1, c0, c1)
        if self.reclass is not None:
            res = _reclassify(res, self.reclass)
        nodata = ~np.isfinite(res)
        given = None
        if not opts.source_from_resistance and self.source is not None:
            given = _read(self.source, r0, r1, c0, c1)
        src = _source_strength(res, given, opts)
        with np.errstate(divide="ignore"):
            cond = res if opts.resistance_is_conductance else 1.0 / res
        cond = np.where(nodata, np.nan, cond)
        present = tuple(_read(p, r0, r1, c0, c1) for p in self.conditions)
        fut = []
        for k, p in enumerate(self.future):
            uses = opts.conditions is not None and opts.conditions.uses_future(k)
            fut.append(
                _read(p, r0, r1, c0, c1) if uses and p is not None else present[k]
            )
        return cond, src, present, tuple(fut)

    def nodata(self, r0: int, r1: int) -> np.ndarray:
        """Nodata cells of rows ``r0:r1`` (after reclassification)."""
        from .core import _reclassify

        res = self.raw(r0, r1, 0, self.shape[1])
        if self.reclass is not None:
            res = _reclassify(res, self.reclass)
        return ~np.isfinite(res)


def _strips(inputs: WindowedInputs, cells: int | None) -> list[tuple[int, int]]:
    cells = STRIP_CELLS if cells is None else cells
    nrows, ncols = inputs.shape
    bs = inputs.options.block_size
    step = max(1, cells // max(ncols * bs, 1)) * bs
    return [(r, min(r + step, nrows)) for r in range(0, nrows, step)]


def scan_targets(inputs: WindowedInputs, *, cells: int | None = None) -> np.ndarray:
    """Targets of :func:`._engine.targets`, found strip by strip.

    Strips hold whole block rows, so each block is summed as in one pass.
    Also refuses resistances <= 0 and runs without any target.
    """
    opts = inputs.options
    nrows, ncols = inputs.shape
    br, bs = opts.block_radius, opts.block_size
    ys = np.arange(br, nrows - br, bs)
    xs = np.arange(br, ncols - br, bs)
    found = []
    bad = 0
    for r0, r1 in _strips(inputs, cells):
        raw = inputs.raw(r0, r1, 0, ncols)
        ok = np.isfinite(raw)
        bad += int((raw[ok] <= 0).sum())
        if bad or not len(xs):
            continue
        k0, k1 = r0 // bs, min(r1, len(ys) * bs) // bs
        if k1 <= k0:
            continue
        _, src, _, _ = inputs.grids(r0, r1, 0, ncols)
        blocks = src[: (k1 - k0) * bs, : len(xs) * bs].reshape(k1 - k0, bs, len(xs), bs)
        strength = blocks.sum(axis=(1, 3))
        yy, xx = np.meshgrid(ys[k0:k1], xs, indexing="ij")
        tg = np.column_stack([yy.ravel(), xx.ravel(), strength.ravel()])
        found.append(tg[tg[:, 2] > 0])
    if bad:
        kind = "conductance" if opts.resistance_is_conductance else "resistance"
        raise InputError(
            f"The {kind} raster has {bad} cell(s) <= 0; Omniscape needs positive "
            "values (mark impassable cells as nodata)."
        )
    out = np.concatenate(found) if found else np.zeros((0, 3))
    if not len(out):
        raise InputError(
            f"No source strength above the threshold ({opts.source_threshold}): "
            "every block of the source raster sums to 0, so there is nothing to "
            "connect. Lower source_threshold or r_cutoff, or check the source raster."
        )
    return out


def _window_bounds(
    tg: np.ndarray, options: OmniscapeOptions, shape: tuple[int, int]
) -> tuple[int, int, int, int]:
    """The rows and columns a batch reads (those of :meth:`Context.window`)."""
    d = max(options.reach, options.block_radius)
    nrows, ncols = shape
    r0 = max(int(tg[:, 0].min()) - d, 0)
    r1 = min(int(tg[:, 0].max()) + d, nrows - 1) + 1
    c0 = max(int(tg[:, 1].min()) - d, 0)
    c1 = min(int(tg[:, 1].max()) + d, ncols - 1) + 1
    return r0, r1, c0, c1


def _solve_window(
    inputs: WindowedInputs, correction: np.ndarray | None, tg: np.ndarray
) -> Partial:
    """One dask task: read the batch's window, prepare it, solve the batch."""
    r0, r1, c0, c1 = _window_bounds(tg, inputs.options, inputs.shape)
    cond, src, present, fut = inputs.grids(r0, r1, c0, c1)
    ctx = Context(
        cond, src, present, fut, inputs.options, correction, tg, (r0, c0), inputs.shape
    )
    return solve_batch(ctx, np.arange(len(tg)))


def correction_for(inputs: WindowedInputs, tg: np.ndarray) -> np.ndarray | None:
    """The block-artifact correction (it needs the options and shape only)."""
    if not inputs.options.corrects:
        return None
    empty = np.zeros((0, 0))
    ctx = Context(empty, empty, (), (), inputs.options, None, tg, (0, 0), inputs.shape)
    return correction_array(ctx)


def solve_windowed(
    inputs: WindowedInputs,
    *,
    batch_size: int,
    workers: int,
    scheduler: str | None,
    progress: bool,
) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int, int, float]]:
    """Cumulative current and flow potential (unmasked) from windowed tasks.

    Returns the two maps and the numbers of targets, batches and workers and
    the seconds taken.
    """
    from ..._dask import dask_client, gather_in_order

    started = time.perf_counter()
    tg = scan_targets(inputs)
    groups = batches(tg, batch_size)
    correction = correction_for(inputs, tg)
    opts = inputs.options
    dtype = np.float32 if opts.precision == "single" else np.float64
    cum = np.zeros(inputs.shape, dtype)
    fp = np.zeros(inputs.shape, dtype) if opts.needs_flow_potential else None
    with dask_client(workers, scheduler) as client:
        n_workers = len(client.scheduler_info().get("workers", {})) or workers
        args = [(inputs, correction, tg[idx]) for idx in groups]
        parts: Iterator[Partial] = gather_in_order(
            client, _solve_window, args, progress=progress, desc="omniscape batches"
        )
        for part in parts:
            h, w = part.current.shape
            cum[part.row0 : part.row0 + h, part.col0 : part.col0 + w] += part.current
            if fp is not None and part.flow_potential is not None:
                fp[part.row0 : part.row0 + h, part.col0 : part.col0 + w] += (
                    part.flow_potential
                )
    return cum, fp, (len(tg), len(groups), n_workers, time.perf_counter() - started)


def finish_strip(
    inputs: WindowedInputs,
    cum: np.ndarray,
    fp: np.ndarray | None,
    r0: int,
    r1: int,
) -> dict[str, np.ndarray]:
    """Rows ``r0:r1`` of the outputs (masks ``cum`` and ``fp`` in place).

    The steps of :func:`.core.assemble` on one strip.
    """
    opts = inputs.options
    out: dict[str, np.ndarray] = {}
    c, f = cum[r0:r1], None if fp is None else fp[r0:r1]
    if opts.calc_normalized_current and f is not None:
        with np.errstate(divide="ignore", invalid="ignore"):
            norm = c / f
        norm[np.isnan(norm)] = 0.0
        out["normalized_cum_currmap"] = norm
    if opts.mask_nodata:
        nodata = inputs.nodata(r0, r1)
        for grid in (c, f, out.get("normalized_cum_currmap")):
            if grid is not None:
                grid[nodata] = np.nan
    out["cum_currmap"] = c
    if f is not None:
        out["flow_potential"] = f
    if inputs.reclass is not None:
        res = inputs.raw(r0, r1, 0, inputs.shape[1])
        cls = res.copy()
        for old, new in inputs.reclass:
            cls[res == old] = new
        out["classified_resistance"] = cls
    return out


def write_strips(
    inputs: WindowedInputs,
    cum: np.ndarray,
    fp: np.ndarray | None,
    paths: dict[str, Path],
    *,
    transform: Any,
    crs: Any,
    dtype: str,
    cells: int | None = None,
) -> None:
    """Write the outputs named in ``paths`` as GeoTIFFs, strip by strip."""
    import rasterio
    from rasterio.windows import Window

    from ...io.omniscape import NODATA, tif_profile

    ncols = inputs.shape[1]
    profile = tif_profile(inputs.shape, dtype, transform, crs)
    dsts = {name: rasterio.open(p, "w", **profile) for name, p in paths.items()}
    try:
        for r0, r1 in _strips(inputs, cells):
            maps = finish_strip(inputs, cum, fp, r0, r1)
            for name, dst in dsts.items():
                vals = maps[name]
                data = np.where(np.isnan(vals), NODATA, vals).astype(dtype)
                dst.write(data, 1, window=Window(0, r0, ncols, r1 - r0))
    finally:
        for dst in dsts.values():
            dst.close()


def is_windowable(paths: Sequence[Path | None]) -> bool:
    """``True`` when every input can be read by window (not ASCII grids)."""
    return all(p is None or p.suffix.lower() != ".asc" for p in paths)


def _header(path: Path, what: str) -> Any:
    """A :class:`GridFile` of the raster's grid without reading its values."""
    import rasterio
    from rasterio.errors import RasterioIOError

    from ...io.omniscape import GridFile

    if not path.is_file():
        raise InputError(
            f"{what}: no such file {path}. Fix the path in the INI file.", path=path
        )
    try:
        with rasterio.open(path) as src:
            shape, transform, crs = (src.height, src.width), src.transform, src.crs
    except RasterioIOError as exc:
        raise InputError(
            f"{what}: {path} is not a raster ({exc}).", path=path
        ) from None
    # a zero-stride view: the shape without the values
    return GridFile(np.broadcast_to(np.float64(0.0), shape), transform, crs, path)


def windowed_inputs(
    cfg: Any, opts: OmniscapeOptions
) -> tuple[WindowedInputs, Any] | None:
    """The run's rasters as :class:`WindowedInputs` and the resistance grid.

    ``None`` when an input is an ASCII grid (read whole instead).
    """
    from .ini import _check_aligned

    keys = ["resistance_file"]
    if not opts.source_from_resistance:
        keys.append("source_file")
    n_cond = 0 if opts.conditions is None else len(opts.conditions.comparisons)
    for k in range(1, n_cond + 1):
        keys.append(f"condition{k}_file")
        assert opts.conditions is not None
        if opts.conditions.uses_future(k - 1):
            keys.append(f"condition{k}_future_file")
    # absolute: the workers open the files themselves (a shared file system
    # for a remote cluster)
    paths = {key: cfg.file(key).resolve() for key in keys}
    if not is_windowable(list(paths.values())):
        return None
    base = _header(paths["resistance_file"], "resistance_file")
    same_crs = not cfg.flag("allow_different_projections", False)
    for key in keys[1:]:
        _check_aligned(base, _header(paths[key], key), key, same_crs)
    reclass = None
    if cfg.flag("reclassify_resistance", False):
        table_path = cfg.file("reclass_table")
        try:
            reclass = np.loadtxt(table_path, ndmin=2)
        except (OSError, ValueError) as exc:
            raise InputError(
                f"reclass_table {table_path}: cannot read two columns of numbers ({exc}).",
                path=table_path,
            ) from None
    inputs = WindowedInputs(
        paths["resistance_file"],
        paths.get("source_file"),
        tuple(paths[f"condition{k}_file"] for k in range(1, n_cond + 1)),
        tuple(paths.get(f"condition{k}_future_file") for k in range(1, n_cond + 1)),
        reclass,
        opts,
        base.shape,
    )
    return inputs, base


def run_windowed(
    cfg: Any,
    opts: OmniscapeOptions,
    *,
    ini: Path,
    out_dir: Path,
    names: list[str],
    wanted: list[str],
    suffix: str,
    overwrite: bool,
    batch_size: int,
    workers: int,
    scheduler: str | None,
    progress: bool,
) -> Any:
    """:func:`.ini.run_ini` on dask with windowed reads (``None``: ASCII inputs)."""
    import shutil

    from ..._output import staged_outputs
    from ...io.omniscape import write_grid
    from .core import OmniscapeResult, worker_memory_bytes
    from .ini import IniRun

    found = windowed_inputs(cfg, opts)
    if found is None:
        return None
    inputs, base = found
    need = worker_memory_bytes(
        inputs.shape, opts, batch_size, 2 * len(inputs.conditions), distributed=True
    )
    logger.info("omniscape: about %.2f GiB per worker (windowed reads)", need / 2**30)
    cum, fp, (n_targets, n_batches, n_workers, seconds) = solve_windowed(
        inputs,
        batch_size=batch_size,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    dtype = "float32" if opts.precision == "single" else "float64"
    written = []
    with staged_outputs(
        out_dir, names, overwrite=overwrite, what="Omniscape outputs"
    ) as tmp:
        paths = {name: tmp / (name + suffix) for name in wanted}
        if suffix == ".tif":
            write_strips(
                inputs,
                cum,
                fp,
                paths,
                transform=base.transform,
                crs=base.crs,
                dtype=dtype,
            )
        else:  # ASCII grids are text: written whole
            maps = finish_strip(inputs, cum, fp, 0, inputs.shape[0])
            for name in wanted:
                write_grid(
                    maps[name],
                    paths[name],
                    transform=base.transform,
                    crs=base.crs,
                    dtype=dtype,
                )
        written = [name + suffix for name in wanted]
        shutil.copyfile(ini, tmp / "config.ini")
        written.append("config.ini")
    result = OmniscapeResult(
        cum,
        fp if opts.calc_flow_potential else None,
        None,  # written strip by strip, not kept
        opts,
        n_targets,
        n_batches,
        seconds,
        n_workers,
    )
    return IniRun(result, out_dir, tuple(written))
