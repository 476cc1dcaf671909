"""Density surfaces: log-linear density on mask covariates (secr's ``D ~ covariates``).

``D(x) = exp(beta_0 + beta' z(x))`` over the habitat mask, with ``z`` the
covariates of each mask point (Borchers & Efford 2008, section 4; Efford,
secr vignette "secr-densitysurfaces").  The likelihood is the full SCR
likelihood of :mod:`trapscape.density.fitting` with a density per mask point
(its analytic gradient follows by the chain rule through the design matrix).

Covariates:

* ``x`` and ``y``, the mask coordinates, are standardised as secr does for
  its trend surfaces: ``(x - mean(x)) / sd(x)`` over the mask points (sample
  SD, ``n - 1``), so that ``D ~ x + y`` gives secr's betas
  (``SurfaceFit.scaling`` records the means and SDs);
* any other covariate is used as given: a column of the ``covariates``
  table (one value per mask point), e.g. sampled from a raster with
  :func:`raster_covariate` (forest cover, elevation, distance to roads).

The result gives the surface (D per 100 km² and its SE at every mask point,
by the delta method on the link scale), expected and realised N over the
mask (secr's ``region.N``: E.N with its delta-method SE, R.N = n + undetected,
SE ``sqrt(SE(E.N)^2 - E.N)``), AIC/AICc for model selection
(:func:`aic_table`) and a GeoTIFF of the surface (:meth:`SurfaceFit.write_geotiff`).

References
----------
Borchers, D. L. & Efford, M. G. (2008) Spatially explicit maximum likelihood
methods for capture-recapture studies. Biometrics 64, 377-385.
Efford, M. G. & Fewster, R. M. (2013) Estimating population size by spatially
explicit capture-recapture. Oikos 122, 918-928.
Efford, M. G. (2024) secr: density surfaces (vignette
``secr-densitysurfaces``).
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..errors import ComputationError, InputError
from . import _likelihood as _lik
from ._setup import _check_fittable, _design, _occasion_model, _start
from .data import HA, PER_100KM2, CaptureHistory, DetectFn, Mask, OccasionModel, rpsv
from .fitting import _covariance, _maximise, check_precision
from .mask import _as_geometry
from .result import _beta_record, _real_row, _records

__all__ = [
    "SurfaceFit",
    "aic_table",
    "best_surface",
    "fit_surface",
    "raster_covariate",
]


@dataclass(frozen=True)
class SurfaceFit:
    """A fitted density surface.

    Attributes
    ----------
    estimates
        Link-scale density coefficients (``D`` intercept per 100 km² on the
        log scale, then ``D.<covariate>``) and the real detection parameters.
    beta, beta_names, vcov
        All link-scale coefficients (secr's names) and their covariance.
    loglik, aic, aicc, npar, n
        Fit summary (AICc with n animals).
    surface
        Per mask point: ``x``, ``y``, ``D`` (per 100 km²), ``se``, ``lcl``,
        ``ucl`` and the covariates used.
    region_n
        Expected (``E.N``) and realised (``R.N``) number over the mask.
    scaling
        ``{"x": (mean, sd), "y": (mean, sd)}`` of the coordinate covariates.
    """

    density: str
    estimates: pd.DataFrame
    beta: np.ndarray
    beta_names: tuple[str, ...]
    vcov: np.ndarray
    loglik: float
    aic: float
    aicc: float
    npar: int
    n: int
    detectfn: str
    occasion_model: str
    surface: pd.DataFrame
    region_n: pd.DataFrame
    mask_spacing: float
    crs: Any = None
    scaling: dict[str, tuple[float, float]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (without the per-point surface)."""
        d = self.surface["D"]
        return {
            "density_model": self.density,
            "detectfn": self.detectfn,
            "occasion_model": self.occasion_model,
            "estimates": _records(self.estimates),
            "beta": _beta_record(self.beta_names, self.beta, self.vcov),
            "loglik": self.loglik,
            "aic": self.aic,
            "aicc": self.aicc,
            "npar": self.npar,
            "n_individuals": self.n,
            "scaling": {k: list(v) for k, v in self.scaling.items()},
            "surface_per_100km2": {
                "min": float(d.min()),
                "max": float(d.max()),
                "mean": float(d.mean()),
            },
            "region_n": _records(self.region_n),
            "notes": list(self.notes),
        }

    def _grid(self) -> tuple[np.ndarray, float, float]:
        """``(2, rows, cols)`` D and SE on the mask lattice, west and north edges."""
        xy = self.surface[["x", "y"]].to_numpy()
        sp = float(self.mask_spacing)
        col = np.rint((xy[:, 0] - xy[:, 0].min()) / sp).astype(int)
        row = np.rint((xy[:, 1].max() - xy[:, 1]) / sp).astype(int)
        grid = np.full((2, row.max() + 1, col.max() + 1), np.nan, dtype="float32")
        grid[0, row, col] = self.surface["D"].to_numpy()
        grid[1, row, col] = self.surface["se"].to_numpy()
        return grid, xy[:, 0].min() - sp / 2, xy[:, 1].max() + sp / 2

    def to_dataarray(self) -> Any:
        """The surface (D per 100 km²) as an ``xarray.DataArray`` with its CRS."""
        import rioxarray  # noqa: F401
        import xarray as xr

        grid, x0, y1 = self._grid()
        sp = float(self.mask_spacing)
        da = xr.DataArray(
            grid[0],
            dims=("y", "x"),
            coords={
                "y": y1 - sp / 2 - sp * np.arange(grid.shape[1]),
                "x": x0 + sp / 2 + sp * np.arange(grid.shape[2]),
            },
            name="density_per_100km2",
        )
        if self.crs is not None:
            da = da.rio.write_crs(self.crs)
        return da.rio.write_nodata(np.nan)

    def write_geotiff(self, path: str | os.PathLike[str]) -> None:
        """Write the surface (D per 100 km²; band 2 its SE) as a GeoTIFF.

        The raster is the mask's lattice (cells of the mask spacing centred
        on the mask points); cells off the mask are NaN (nodata).
        """
        import rasterio
        from rasterio.transform import from_origin

        grid, x0, y1 = self._grid()
        sp = float(self.mask_spacing)
        crs = None
        if self.crs is not None:
            from pyproj import CRS

            crs = CRS.from_user_input(self.crs).to_wkt()
        with rasterio.open(
            path,
            "w",
            driver="GTiff",
            width=grid.shape[2],
            height=grid.shape[1],
            count=2,
            dtype="float32",
            crs=crs,
            transform=from_origin(x0, y1, sp, sp),
            nodata=np.nan,
        ) as dst:
            dst.write(grid)
            dst.set_band_description(1, "D per 100 km2")
            dst.set_band_description(2, "SE of D per 100 km2")


def _terms(density: str) -> list[str]:
    rhs = density.replace(" ", "")
    rhs = rhs[1:] if rhs.startswith("~") else rhs
    if rhs in ("", "1"):
        return []
    terms = rhs.split("+")
    for t in terms:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", t):
            raise InputError(
                f"density model {density!r}: {t!r} is not a covariate name "
                "(use e.g. '~x + y' or '~forest + elevation')."
            )
    return terms


def _design_matrix(
    density: str, mask: Mask, covariates: pd.DataFrame | None
) -> tuple[np.ndarray, list[str], dict[str, tuple[float, float]], pd.DataFrame]:
    """``(M, P)`` matrix, coefficient names, x/y scaling, the covariate values."""
    terms = _terms(density)
    cols = [np.ones(len(mask))]
    names = ["D"]
    scaling: dict[str, tuple[float, float]] = {}
    used = pd.DataFrame(index=range(len(mask)))
    for t in terms:
        if covariates is not None and t in covariates.columns:
            vals = pd.to_numeric(covariates[t], errors="coerce").to_numpy(float)
            if len(vals) != len(mask):
                raise InputError(
                    f"mask covariate {t!r} has {len(vals)} values for {len(mask)} "
                    "mask points."
                )
            bad = ~np.isfinite(vals)
            if np.any(bad):
                raise InputError(
                    f"mask covariate {t!r} is missing at {int(bad.sum())} of "
                    f"{len(mask)} mask points (e.g. at x={mask.xy[bad][0, 0]:.0f}, "
                    f"y={mask.xy[bad][0, 1]:.0f}); cover the mask with the raster or "
                    "clip the mask to it."
                )
            cols.append(vals)
        elif t in ("x", "y"):
            raw = mask.xy[:, 0 if t == "x" else 1]
            mean, sd = float(raw.mean()), float(raw.std(ddof=1))
            scaling[t] = (mean, sd)
            cols.append((raw - mean) / sd)
        else:
            have = [] if covariates is None else list(covariates.columns)
            raise InputError(
                f"density model {density!r}: no mask covariate {t!r} (have x, y"
                f"{', ' + ', '.join(map(str, have)) if have else ''})."
            )
        used[t] = cols[-1]
        names.append(f"D.{t}")
    xmat = np.column_stack(cols)
    if np.linalg.matrix_rank(xmat) < xmat.shape[1]:
        raise InputError(
            f"density model {density!r}: a covariate is constant over the mask or a "
            "combination of the others; drop it."
        )
    return xmat, names, scaling, used


def fit_surface(
    ch: CaptureHistory,
    mask: Mask,
    *,
    density: str = "~x + y",
    covariates: pd.DataFrame | Mapping[str, Sequence[float]] | None = None,
    detectfn: DetectFn = "HHN",
    occasion_model: OccasionModel = "auto",
    maxiter: int = 300,
    regions: Mapping[str, Any] | None = None,
) -> SurfaceFit:
    """Fit a log-linear density surface ``D(x) = exp(beta' z(x))`` (secr's ``D ~ ...``).

    Parameters
    ----------
    ch, mask
        Data and habitat mask (lattice masks give a GeoTIFF).
    density
        ``"~x + y"`` (trend surface; coordinates standardised as secr does),
        ``"~forest"``, ``"~forest + x"``, ... or ``"~1"``.
    covariates
        Mask covariates: one value per mask point and column (a table or a
        mapping name -> values), e.g. from :func:`raster_covariate`.
    detectfn, occasion_model
        See :func:`trapscape.density.fit`.
    maxiter
        Optimiser iteration limit.
    regions
        Optional name -> polygon (projected, metres): E.N in each, the
        surface summed over the mask cells whose centres lie inside (parts
        of a region beyond the mask are not counted).

    Raises
    ------
    InputError
        Unknown or incomplete covariates, a singular design.
    ComputationError
        Data that cannot support SCR, a fit that does not converge or is flat
        in sigma.
    """
    with _lik.blas_single_thread():
        return _fit_surface(
            ch,
            mask,
            density=density,
            covariates=None if covariates is None else pd.DataFrame(covariates),
            detectfn=detectfn,
            occasion_model=occasion_model,
            maxiter=maxiter,
            regions=regions,
        )


def _fit_surface(
    ch: CaptureHistory,
    mask: Mask,
    *,
    density: str,
    covariates: pd.DataFrame | None,
    detectfn: str,
    occasion_model: str,
    maxiter: int,
    regions: Mapping[str, Any] | None = None,
) -> SurfaceFit:
    t0 = time.perf_counter()
    _check_fittable(ch)
    om = _occasion_model(ch, occasion_model)
    xmat, d_names, scaling, used = _design_matrix(density, mask, covariates)
    null, _, _ = _design(ch, mask, detectfn=detectfn, model="null", occasion_model=om)
    sg = rpsv(ch)
    sg = max(sg if np.isfinite(sg) and sg > 0 else 2 * mask.spacing, mask.spacing)
    b_null = _start(ch, null, sg)
    design = dataclasses.replace(null, d_matrix=xmat, n_d=xmat.shape[1])
    beta0 = np.concatenate([[b_null[0]], np.zeros(xmat.shape[1] - 1), b_null[1:]])
    opt = _maximise(design, mask, beta0, maxiter=maxiter)
    beta = opt.beta
    ll, grad = _lik.loglik_and_gradient(beta, design)
    vcov, invertible = _covariance(opt)
    if not (
        np.isfinite(ll)
        and invertible
        and not np.any(opt.at_bound)
        and np.max(np.abs(grad)) < 1e-3
    ):
        raise ComputationError(
            f"The density-surface fit (D {density}) did not converge ({opt.res.message})"
            " or its information matrix is not invertible; simplify the model."
        )
    nd = xmat.shape[1]
    p0name, p0link = ("lambda0", "log") if detectfn == "HHN" else ("g0", "logit")
    se = np.sqrt(np.diag(vcov))
    rows = [_real_row("D", "log", beta[0] + math.log(PER_100KM2), se[0])]
    for k in range(1, nd):
        rows.append(
            {
                "parameter": d_names[k],
                "link": "coefficient",
                "estimate": float(beta[k]),
                "se": float(se[k]),
                "lcl": float(beta[k] - 1.959963984540054 * se[k]),
                "ucl": float(beta[k] + 1.959963984540054 * se[k]),
            }
        )
    rows.append(_real_row(p0name, p0link, float(beta[nd]), float(se[nd])))
    rows.append(_real_row("sigma", "log", float(beta[nd + 1]), float(se[nd + 1])))
    table = pd.DataFrame(rows)
    surface = _surface_table(beta, vcov, xmat, mask, used)
    check_table = table[table["parameter"].isin([p0name, "sigma"])].copy()
    notes = check_precision(
        check_table, n=ch.n, n_recaptures=ch.n_recaptures, what="The surface fit"
    )
    table["rse"] = np.where(
        table["link"] == "coefficient", np.nan, table["se"] / table["estimate"]
    )
    npar = beta.size
    aic = -2 * ll + 2 * npar
    aicc = (
        aic + 2 * npar * (npar + 1) / (ch.n - npar - 1)
        if ch.n - npar - 1 > 0
        else math.nan
    )
    return SurfaceFit(
        density=density,
        estimates=table,
        beta=beta,
        beta_names=(*d_names, p0name, "sigma"),
        vcov=vcov,
        loglik=ll,
        aic=aic,
        aicc=aicc,
        npar=npar,
        n=ch.n,
        detectfn=detectfn,
        occasion_model=om,
        surface=surface,
        region_n=_mask_n(beta, vcov, design, ch.n, mask, regions),
        mask_spacing=mask.spacing,
        crs=mask.crs,
        scaling=scaling,
        notes=tuple(notes),
        seconds=time.perf_counter() - t0,
    )


def _surface_table(
    beta: np.ndarray,
    vcov: np.ndarray,
    xmat: np.ndarray,
    mask: Mask,
    used: pd.DataFrame,
) -> pd.DataFrame:
    nd = xmat.shape[1]
    eta = xmat @ beta[:nd]
    v = np.einsum("mi,ij,mj->m", xmat, vcov[:nd, :nd], xmat)
    se_eta = np.sqrt(np.maximum(v, 0.0))
    d = np.exp(eta) * PER_100KM2
    z = 1.959963984540054
    out = pd.DataFrame(
        {
            "x": mask.xy[:, 0],
            "y": mask.xy[:, 1],
            "D": d,
            "se": d * np.sqrt(np.expm1(se_eta**2)),
            "lcl": d * np.exp(-z * se_eta),
            "ucl": d * np.exp(z * se_eta),
        }
    )
    for c in used.columns:
        out[f"z_{c}"] = used[c].to_numpy()
    return out


def _mask_n(
    beta: np.ndarray,
    vcov: np.ndarray,
    design: _lik.Design,
    n: int,
    mask: Mask,
    regions: Mapping[str, Any] | None,
) -> pd.DataFrame:
    """E.N and R.N over the mask (secr's ``region.N``), E.N in each region."""
    assert design.d_matrix is not None
    nd = design.n_d
    da = _lik.density_at_mask(beta, design) * design.cell_area
    e_n = float(da.sum())
    g = design.d_matrix.T @ da  # d E.N / d beta_D
    se_en = float(math.sqrt(max(g @ vcov[:nd, :nd] @ g, 0.0)))
    real = _lik.unpack(beta, design)
    logq = _lik.class_terms(design, float(real.p0[0]), float(real.sigma[0]))["logq"]
    r_n = n + float(np.sum(da * np.exp(logq)))
    se_rn = math.sqrt(max(se_en**2 - e_n, 0.0))
    area = design.cell_area * design.d2.shape[0] * HA / 1e6
    rows = [
        {"region": "mask", "quantity": q, "estimate": v, "se": e, "area_km2": area}
        for q, v, e in (("E.N", e_n, se_en), ("R.N", r_n, se_rn))
    ]
    for name, geom0 in (regions or {}).items():
        geom = _as_geometry(geom0)
        if geom is None or geom.is_empty:
            continue
        inside = shapely.contains_xy(geom, mask.xy[:, 0], mask.xy[:, 1])
        g_r = design.d_matrix[inside].T @ da[inside]
        rows.append(
            {
                "region": str(name),
                "quantity": "E.N",
                "estimate": float(da[inside].sum()),
                "se": float(math.sqrt(max(g_r @ vcov[:nd, :nd] @ g_r, 0.0))),
                "area_km2": float(inside.sum()) * design.cell_area * HA / 1e6,
            }
        )
    return pd.DataFrame(rows)


def raster_covariate(
    path: str | os.PathLike[str], mask: Mask, *, band: int = 1
) -> np.ndarray:
    """Values of a raster at the mask points (the cell holding each; NaN off it).

    Numeric rasters such as forest cover, elevation or distance to roads, for
    :func:`fit_surface`.  When both the mask and the raster have a CRS and
    they differ, the mask points are transformed to the raster's CRS first.
    Cells of the raster's nodata value are NaN.
    """
    import rasterio

    xy = mask.xy
    try:
        src = rasterio.open(path)
    except rasterio.errors.RasterioIOError as err:
        raise InputError(
            f"{os.fspath(path)}: cannot be read as a raster ({err}).", path=path
        ) from None
    with src:
        if band < 1 or band > src.count:
            raise InputError(
                f"{os.fspath(path)}: no band {band} (the raster has {src.count}).",
                path=path,
            )
        if mask.crs is not None and src.crs is not None:
            from pyproj import CRS, Transformer

            if CRS.from_user_input(mask.crs) != CRS.from_user_input(src.crs.to_wkt()):
                tr = Transformer.from_crs(mask.crs, src.crs.to_wkt(), always_xy=True)
                xy = np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))
        rows, cols = rasterio.transform.rowcol(src.transform, xy[:, 0], xy[:, 1])
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        data = src.read(band, masked=True)
        out = np.full(len(mask), np.nan)
        vals = data[rows[inside], cols[inside]]
        out[inside] = np.ma.filled(vals.astype(float), np.nan)
    return out


def best_surface(fits: Sequence[SurfaceFit]) -> SurfaceFit:
    """The surface with the smallest AIC (the first on a tie)."""
    return min(fits, key=lambda f: f.aic)


def aic_table(fits: Sequence[Any], labels: Sequence[str] | None = None) -> pd.DataFrame:
    """Models ranked by AIC: logLik, npar, AIC, AICc, dAIC, AIC weight.

    ``fits`` are fitted models with ``loglik``, ``npar``, ``aic`` and
    ``aicc`` (e.g. :class:`SurfaceFit`, :class:`~trapscape.density.SCRFit`,
    :class:`~trapscape.density.MultiSessionFit`) of the same data; the
    index is each model's position in ``fits``.
    """
    names = (
        list(labels)
        if labels is not None
        else [
            f"D {getattr(f, 'density', getattr(f, 'model', k))}"
            for k, f in enumerate(fits)
        ]
    )
    table = pd.DataFrame(
        {
            "model": names,
            "npar": [f.npar for f in fits],
            "loglik": [f.loglik for f in fits],
            "aic": [f.aic for f in fits],
            "aicc": [f.aicc for f in fits],
        }
    )
    table["daic"] = table["aic"] - table["aic"].min()
    w = np.exp(-0.5 * table["daic"])
    table["aic_weight"] = w / w.sum()
    return table.sort_values("aic", kind="stable")
