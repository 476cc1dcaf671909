"""Density surfaces (secr's ``D ~ x + y`` and mask covariates), GeoTIFF, AIC.

Reference: secr 5.3.0 ``D ~ x + y`` on ``captdata`` with the spacing-10 mask
(``tests/data/secr_multisession/captdata_D_xy.json``, see its README).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import box

from trapscape import density as dn
from trapscape.density import _likelihood as L
from trapscape.density._setup import _design
from trapscape.density.secr import read_secr_mask
from trapscape.density.surface import aic_table, fit_surface, raster_covariate
from trapscape.errors import InputError

HERE = Path(__file__).parent / "data"
REF = json.loads((HERE / "secr_multisession" / "captdata_D_xy.json").read_text())


def _captdata() -> dn.CaptureHistory:
    import pandas as pd

    traps = pd.read_csv(HERE / "secr" / "traps.csv")
    caps = pd.read_csv(HERE / "secr" / "captures.csv")
    ids = sorted(caps["ID"].unique())
    tidx = {t: i for i, t in enumerate(traps["trapID"])}
    arr = np.zeros((len(ids), 5, len(traps)), dtype=int)
    for r in caps.itertuples():
        arr[ids.index(r.ID), r.occasion - 1, tidx[r.trapID]] += 1
    return dn.CaptureHistory(
        traps[["x", "y"]].to_numpy(float), np.ones((len(traps), 5)), arr
    )


@pytest.fixture(scope="module")
def xy_fit() -> dn.surface.SurfaceFit:
    mask = read_secr_mask(HERE / "secr" / "mask_spacing10.csv")
    halves = {"west": box(0, 0, 505, 1000), "east": box(505, 0, 1000, 1000)}
    return fit_surface(
        _captdata(), mask, density="~x + y", detectfn="HN", regions=halves
    )


def test_trend_surface_equals_secr(xy_fit: dn.surface.SurfaceFit) -> None:
    f = xy_fit
    assert f.loglik == pytest.approx(REF["logLik"], rel=1e-6)
    assert f.aic == pytest.approx(REF["AIC"], abs=1e-3)
    assert list(f.beta_names) == list(REF["beta"])
    for name, want in REF["beta"].items():
        got = f.beta[f.beta_names.index(name)]
        assert got == pytest.approx(want, rel=0.01, abs=1e-4)
    assert f.scaling["x"] == pytest.approx(
        (REF["mask_meanSD"][0]["x"], REF["mask_meanSD"][1]["x"])
    )
    d = f.surface["D"].to_numpy() / 1e4  # per ha
    s = REF["D_surface_per_ha"]
    assert d.min() == pytest.approx(s["min"], rel=0.01)
    assert d.max() == pytest.approx(s["max"], rel=0.01)
    assert d.mean() == pytest.approx(s["mean"], rel=0.01)
    assert d[0] == pytest.approx(s["first_mask_point"], rel=0.01)
    assert d[-1] == pytest.approx(s["last_mask_point"], rel=0.01)
    parts = f.region_n.set_index("region")["estimate"]
    assert parts["west"] + parts["east"] == pytest.approx(parts["mask"].iloc[0])
    # D per 100 km2 x cell area (10 m x 10 m = 1e-4 km2) over the western cells
    west = f.surface.loc[f.surface["x"] < 505, "D"].sum() / 100.0 * 1e-4
    assert parts["west"] == pytest.approx(west, rel=1e-9)
    rn = f.region_n[f.region_n["region"] == "mask"].set_index("quantity")
    r = REF["region_N_mask"]
    assert rn.loc["E.N", "estimate"] == pytest.approx(r["E.N"], rel=0.01)
    assert rn.loc["E.N", "se"] == pytest.approx(r["E.N_SE"], rel=0.05)
    assert rn.loc["R.N", "estimate"] == pytest.approx(r["R.N"], rel=0.01)
    assert rn.loc["R.N", "se"] == pytest.approx(r["R.N_SE"], rel=0.05)


def test_surface_gradient_is_analytic() -> None:
    ch = _captdata()
    mask = read_secr_mask(HERE / "secr" / "mask_spacing10.csv")
    null, _, _ = _design(ch, mask, detectfn="HN", model="null")
    z = (mask.xy - mask.xy.mean(0)) / mask.xy.std(0)
    xmat = np.column_stack([np.ones(len(mask)), z, z[:, 0] * z[:, 1]])
    import dataclasses

    design = dataclasses.replace(null, d_matrix=xmat, n_d=4)
    beta = np.array([1.8, 0.1, -0.05, 0.02, -1.7, math.log(28.0)])
    _, g = L.loglik_and_gradient(beta, design)
    np.testing.assert_allclose(g, L.numeric_gradient(beta, design), rtol=1e-5)


def test_constant_surface_is_the_null_model() -> None:
    ch = _captdata()
    mask = read_secr_mask(HERE / "secr" / "mask_spacing10.csv")
    flat = fit_surface(ch, mask, density="~1", detectfn="HN")
    null = dn.fit(ch, mask, detectfn="HN")
    assert flat.loglik == pytest.approx(null.loglik, rel=1e-9)
    assert flat.estimates.iloc[0]["estimate"] == pytest.approx(
        null.estimate("D"), rel=1e-5
    )


def test_surface_geotiff(xy_fit: dn.surface.SurfaceFit, tmp_path: Path) -> None:
    import rasterio

    n_mask = len(xy_fit.surface)
    out = tmp_path / "surface.tif"
    xy_fit.write_geotiff(out)
    with rasterio.open(out) as src:
        band = src.read(1)
        assert src.count == 2
        assert np.isfinite(band).sum() == n_mask
        assert np.nanmax(band) == pytest.approx(xy_fit.surface["D"].max(), rel=1e-6)


@pytest.mark.slow
def test_raster_covariates_and_aic(
    xy_fit: dn.surface.SurfaceFit, tmp_path: Path
) -> None:
    import rasterio
    from rasterio.transform import from_origin

    ch = _captdata()
    mask = read_secr_mask(HERE / "secr" / "mask_spacing10.csv")
    # a covariate raster: 'forest' rising to the east, 5 m cells over the mask
    xs = np.arange(201.0, 801.0, 5.0) + 2.5  # cell edges off the 10 m mask lattice
    grid = np.tile((xs - 500.0) / 100.0, (120, 1)).astype("float32")
    tif = tmp_path / "forest.tif"
    with rasterio.open(
        tif,
        "w",
        driver="GTiff",
        width=120,
        height=120,
        count=1,
        dtype="float32",
        transform=from_origin(201.0, 801.0, 5.0, 5.0),
    ) as dst:
        dst.write(grid, 1)
    forest = raster_covariate(tif, mask)
    assert np.all(np.isfinite(forest))
    expect = (np.floor((mask.xy[:, 0] - 201.0) / 5.0) * 5.0 + 203.5 - 500.0) / 100.0
    np.testing.assert_allclose(forest, expect, atol=1e-6)
    cov_fit = fit_surface(ch, mask, density="~forest", covariates={"forest": forest})
    assert cov_fit.beta_names[:2] == ("D", "D.forest")
    # forest is linear in x: the same surface as D ~ x, up to the scaling
    x_fit = fit_surface(ch, mask, density="~x")
    assert cov_fit.loglik == pytest.approx(x_fit.loglik, rel=1e-8)
    table = aic_table([xy_fit, cov_fit])
    assert list(table.columns) == [
        "model",
        "npar",
        "loglik",
        "aic",
        "aicc",
        "daic",
        "aic_weight",
    ]
    assert table["daic"].iloc[0] == 0.0
    assert table["aic_weight"].sum() == pytest.approx(1.0)
    with pytest.raises(InputError, match="no mask covariate 'elevation'"):
        fit_surface(ch, mask, density="~elevation")
    with pytest.raises(InputError, match="missing at"):
        fit_surface(
            ch,
            mask,
            density="~forest",
            covariates={"forest": np.where(forest > 1.5, np.nan, forest)},
        )


def test_surface_as_a_map_layer(xy_fit: dn.surface.SurfaceFit) -> None:
    import dataclasses

    from trapscape.density.surface import best_surface
    from trapscape.present.maps import raster_overlay_png

    fit = dataclasses.replace(xy_fit, crs="EPSG:32652")
    da = fit.to_dataarray()
    assert int(np.isfinite(da.values).sum()) == len(fit.surface)
    assert float(np.nanmax(da.values)) == pytest.approx(
        fit.surface["D"].max(), rel=1e-6
    )
    assert da.rio.crs.to_epsg() == 32652
    png, ((s, w), (n, e)) = raster_overlay_png(da, cmap="magma")
    assert png[:4] == b"\x89PNG" and s < n and w < e
    worse = dataclasses.replace(fit, aic=fit.aic + 1.0)
    assert best_surface([worse, fit]) is fit
