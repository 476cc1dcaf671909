"""``manifest.json``: input checksums, parameters, versions, per-step status."""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from .._output import file_digest, staged_checksums
from .._steps import (
    STEP_SWITCH,
)

if TYPE_CHECKING:
    pass

from .context import _Context
from .writers import _jsonable

__all__: list[str] = []  # used by run.py

logger = logging.getLogger("trapscape.pipeline")


_VERSIONS_OF = (
    "numpy",
    "scipy",
    "pandas",
    "geopandas",
    "shapely",
    "pyproj",
    "pyogrio",
    "rasterio",
    "xarray",
    "rioxarray",
    "scikit-image",
    "pyamg",
    "matplotlib",
    "folium",
    "branca",
)


def _sha256(path: Path) -> str:
    """Checksum of a regular file (or of a folder's regular files), read in chunks.

    Anything else (a device such as ``/dev/zero``, a FIFO, a socket) is not
    read -- reading it could never end -- and gets ``"not a regular file"``.
    """
    h = hashlib.sha256()
    if path.is_dir():
        for p in sorted(q for q in path.rglob("*") if q.is_file()):
            h.update(p.relative_to(path).as_posix().encode())
            h.update(_sha256(p).encode())
        return h.hexdigest()
    if not path.is_file():  # follows links; False for devices, FIFOs, loops
        return "not a regular file"
    return str(file_digest(path)["sha256"])


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"trapscape": __version__, "python": sys.version.split()[0]}
    for dep in _VERSIONS_OF:
        try:
            out[dep] = version(dep)
        except PackageNotFoundError:
            out[dep] = "not installed"
    return out


def _recorded_path(path: Path, base: Path | None) -> str:
    """*path* as the manifest records it: relative to *base* (the project
    file's folder) where possible, so a shared manifest does not reveal the
    user's home directory; absolute only when no relative path exists (another
    drive on Windows) or no project file is known."""
    if base is None:
        return os.fspath(path)
    try:
        return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()
    except ValueError:
        return os.fspath(path)


def _manifest(
    ctx: _Context,
    switches: Mapping[str, bool],
    seconds: float,
    project_path: str | os.PathLike[str] | None,
) -> dict[str, Any]:
    inputs = {}
    base = Path(project_path).resolve().parent if project_path else None
    for name, p in sorted(ctx.inputs.items()):
        if p.exists():
            inputs[name] = {
                "path": p.name if ctx.public else _recorded_path(p, base),
                "sha256": _sha256(p),
            }
    # every file the run wrote, at every depth, with its digest: what a
    # later --overwrite may replace (see trapscape._output)
    file_checksums = staged_checksums(ctx.stage)
    manifest = {
        "trapscape_version": __version__,
        "project": (Path(project_path).name if project_path else None),
        "seed": ctx.seed,
        "public": ctx.public,
        "offline": ctx.offline,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(seconds, 3),
        "inputs": inputs,
        "steps_switched": {
            s: bool(switches.get(s, True)) for s in sorted(set(STEP_SWITCH.values()))
        },
        "steps": {
            s: {
                "status": r.status,
                "seconds": r.seconds,
                "message": r.message,
                "outputs": sorted(set(r.outputs)),
                "params": r.params,
            }
            for s, r in ctx.records.items()
        },
        "notes": list(ctx.notes),
        "versions": _versions(),
        "files": sorted(file_checksums),
        "file_checksums": file_checksums,
    }
    if ctx.public:
        from ..privacy import PUBLIC_NOTE

        manifest["privacy"] = PUBLIC_NOTE.format(cell_km=ctx.public_cell / 1000.0)
    return _jsonable(manifest)


def _write_public_readme(ctx: _Context) -> None:
    """A plain-text note at the top of a public output folder."""
    from ..privacy import PUBLIC_NOTE

    text = (
        "PUBLIC VERSION\n\n"
        + PUBLIC_NOTE.format(cell_km=ctx.public_cell / 1000.0)
        + "\n\nIn this folder: camera effort and detections are totals per grid cell "
        "(effort/effort_per_cell.csv, layer station_cells); the coverage grid and the "
        "detection-probability surface are computed from the generalised stations; "
        "per-individual layers and tables (home ranges, detections per individual, "
        "border crossings) are left out; the candidate reserve follows the grid. "
        "Density, abundance, counts of individuals per country and the corridor "
        "analysis are aggregates and are kept.\n"
    )
    (ctx.stage / "PUBLIC-README.txt").write_text(text, encoding="utf-8")
