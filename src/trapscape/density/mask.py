"""Habitat masks: candidate activity centres around the detectors.

:func:`make_mask` follows secr's ``make.mask(type = "trapbuffer")``, clipped to
habitat and labelled by zone, under a memory budget for the mask and for the
fit that will be made on it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely

from .. import validation as V
from .._memory import DEFAULT_BUDGET_GB, check_budget, coarser, grid_cells
from ..crs import require_projected
from ..errors import ComputationError, InputError
from .data import Mask

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry


__all__ = ["make_mask"]


logger = logging.getLogger(__name__)


def make_mask(
    traps_xy: np.ndarray,
    *,
    buffer: float | None = None,
    spacing: float | None = None,
    sigma_guess: float | None = None,
    habitat: BaseGeometry | Any = None,
    zones: Mapping[str, BaseGeometry] | Any = None,
    max_points: int = 5000,
    crs: Any = None,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> Mask:
    """Build a habitat mask: grid points within ``buffer`` of any detector.

    The grid follows secr's ``make.mask(type = "trapbuffer")``: cell centres
    at ``min - buffer + spacing/2`` stepping by ``spacing`` to
    ``max + buffer``, keeping points within ``buffer`` of a detector.

    Parameters
    ----------
    traps_xy
        ``(J, 2)`` detector coordinates in metres (projected CRS).
    buffer
        Buffer in metres (default ``4 * sigma_guess``).
    spacing
        Grid spacing in metres (default ``sigma_guess / 2``, widened until the
        mask has at most ``max_points`` points).
    sigma_guess
        Spatial scale guess in metres (e.g. :func:`rpsv`); required when
        ``buffer`` or ``spacing`` is not given.
    habitat
        Optional polygon(s) (shapely geometry or GeoSeries/GeoDataFrame) to
        clip the mask to (land, study area, without settlements).
    zones
        Optional mapping name -> polygon or GeoDataFrame with a ``name``
        column; labels each mask point (points in no zone take the nearest).
    max_points
        Upper bound on the number of points when ``spacing`` is chosen here.
    crs
        CRS of the coordinates; when given it must be projected in metres.
    max_memory_gb
        Memory budget in GiB of the mask and of the model fitted on it (the
        fit holds several mask x detector arrays).  With an explicit
        ``spacing`` the number of points is estimated first (from a coarse
        sample of the buffer and habitat) and a mask over the budget is
        refused, naming a spacing that fits; ``None``: no check.

    Returns
    -------
    Mask

    Raises
    ------
    ComputationError
        If the mask is empty, or the mask and fit would exceed
        ``max_memory_gb``.
    """
    if crs is not None:
        require_projected(crs, "mask CRS")
    txy = np.asarray(traps_xy, dtype=np.float64)
    if txy.ndim != 2 or txy.shape[1] != 2 or len(txy) == 0:
        raise InputError(
            f"traps_xy must be a (J, 2) array of metres, got shape {txy.shape}."
        )
    if (buffer is None or spacing is None) and (
        sigma_guess is None or not np.isfinite(sigma_guess) or sigma_guess <= 0
    ):
        raise InputError(
            "make_mask needs buffer and spacing, or a positive sigma_guess "
            "(metres) to derive them."
        )
    buffer = float(4.0 * float(sigma_guess or 0.0) if buffer is None else buffer)
    if buffer <= 0:
        raise InputError(f"buffer must be positive metres, got {buffer}.")
    hab = _as_geometry(habitat)
    if spacing is None:
        spacing = float(sigma_guess) / 2.0  # type: ignore[arg-type]
        n_box = _box_points(txy, buffer, spacing)
        if n_box > _MAX_SEARCH_POINTS:
            # a tiny sigma_guess on a wide array: start the search coarser
            # rather than build a huge first grid
            spacing *= math.sqrt(n_box / _MAX_SEARCH_POINTS)
        for _ in range(60):
            xy = _grid(txy, buffer, spacing, hab)
            if len(xy) <= max_points:
                break
            spacing *= math.sqrt(len(xy) / max_points) * 1.02
    else:
        spacing = float(spacing)
        if spacing <= 0:
            raise InputError(f"spacing must be positive metres, got {spacing}.")
        n_box = _box_points(txy, buffer, spacing)
        _check_mask_memory(
            _estimate_points(txy, buffer, spacing, hab, n_box),
            len(txy),
            spacing,
            max_memory_gb,
            extra_bytes=n_box * _GRID_BYTES_PER_POINT,
        )
        xy = _grid(txy, buffer, spacing, hab)
    if len(xy) == 0:
        raise ComputationError(
            "The habitat mask is empty: no grid point lies within the "
            "buffer of a detector and inside the habitat polygons. Check "
            "the habitat layer's CRS and extent, or enlarge the buffer."
        )
    zone_labels = _zone_labels(xy, zones) if zones is not None else None
    logger.info(
        "Mask: %d points, spacing %.1f m, buffer %.0f m", len(xy), spacing, buffer
    )
    return Mask(
        xy=xy,
        spacing=spacing,
        buffer=buffer,
        zone=zone_labels,
        crs=crs,
        habitat=hab,
        zone_polygons=zones if zone_labels is not None else None,
    )


# Memory of a mask and of the fit on it, calibrated on the bundled example
# (251 detectors, 82 individuals, model "zone"; peak RSS by
# resource.getrusage around make_mask + fit): 17.0 k points -> 59 B per mask
# point x detector above the baseline; `trapscape density --spacing 400`
# (67.9 k points, buffer 14.5 km) peaked at 1.21 GB, ~56 B per entry above
# ~250 MB of imports and data.  64 B per entry leaves a margin.  Building the
# mask holds the bounding-box lattice, kd-tree distances and kept points:
# tracemalloc peak 168 MB for a 2.84 M-point box (100 m), 59 B per point.
_FIT_BYTES_PER_ENTRY = 64  # per mask point x detector
_GRID_BYTES_PER_POINT = 64  # per point of the bounding-box lattice
_MAX_SEARCH_POINTS = 2_000_000


def _box_points(txy: np.ndarray, buffer: float, spacing: float) -> int:
    lo = txy.min(axis=0) - buffer
    hi = txy.max(axis=0) + buffer
    return grid_cells((lo[0], lo[1], hi[0], hi[1]), spacing)


def _estimate_points(
    txy: np.ndarray, buffer: float, spacing: float, hab: Any, n_box: int
) -> int:
    """Number of mask points at ``spacing``, from a coarse sample of the box."""
    sample = 100_000
    if n_box <= sample:
        return len(_grid(txy, buffer, spacing, hab))
    coarse = spacing * math.sqrt(n_box / sample)
    kept = len(_grid(txy, buffer, coarse, hab))
    return math.ceil(kept / max(_box_points(txy, buffer, coarse), 1) * n_box)


def _check_mask_memory(
    n_points: int,
    n_detectors: int,
    spacing: float,
    max_memory_gb: float | None,
    *,
    extra_bytes: float = 0.0,
    what: str = "the habitat mask",
) -> None:
    check_budget(
        n_points,
        _FIT_BYTES_PER_ENTRY * max(int(n_detectors), 1),
        what=f"{what} at spacing {spacing:g} m with {n_detectors} detectors",
        unit="points",
        budget_gb=max_memory_gb,
        extra_bytes=extra_bytes,
        suggest=lambda f: (
            f"Use a mask spacing of {coarser(spacing, f)} m or coarser "
            f"(now {spacing:g} m), or leave spacing unset to choose it "
            "automatically."
        ),
    )


def _as_geometry(obj: Any) -> BaseGeometry | None:
    if obj is None:
        return None
    if hasattr(obj, "geometry") and hasattr(obj.geometry, "union_all"):
        return obj.geometry.union_all()
    if hasattr(obj, "union_all"):
        return obj.union_all()
    return obj


def _grid(txy: np.ndarray, buffer: float, spacing: float, hab: Any) -> np.ndarray:
    from scipy.spatial import cKDTree

    lo = txy.min(axis=0) - buffer
    hi = txy.max(axis=0) + buffer
    eps = spacing * 1e-9
    xs = np.arange(lo[0] + spacing / 2, hi[0] + eps, spacing)
    ys = np.arange(lo[1] + spacing / 2, hi[1] + eps, spacing)
    gx, gy = np.meshgrid(xs, ys)
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    dist, _ = cKDTree(txy).query(pts)
    pts = pts[dist <= buffer * (1 + 1e-12)]
    if hab is not None and len(pts):
        import shapely

        pts = pts[shapely.contains_xy(hab, pts[:, 0], pts[:, 1])]
    return np.asarray(pts)


def _zone_labels(xy: np.ndarray, zones: Any) -> tuple[str, ...]:
    """Zone name of each point; points outside every zone take the nearest zone."""

    if hasattr(zones, "geometry") and V.NAME in getattr(zones, "columns", ()):
        items = [
            (str(nm), g) for nm, g in zip(zones[V.NAME], zones.geometry, strict=True)
        ]
    else:
        items = [(str(k), _as_geometry(g)) for k, g in dict(zones).items()]
    items = [(nm, g) for nm, g in items if g is not None and not g.is_empty]
    labels = np.full(len(xy), "", dtype=object)
    for name, geom in items:
        inside = shapely.contains_xy(geom, xy[:, 0], xy[:, 1]) & (labels == "")
        labels[inside] = name
    out = labels == ""
    if np.any(out) and items:
        pts = shapely.points(xy[out])
        dist = np.stack([shapely.distance(g, pts) for _, g in items])
        labels[out] = np.array([nm for nm, _ in items], dtype=object)[
            dist.argmin(axis=0)
        ]
    labels[labels == ""] = "outside"
    return tuple(labels.tolist())
