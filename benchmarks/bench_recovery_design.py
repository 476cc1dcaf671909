"""Recovery study: density of the bundled design, simulated and fitted many times.

For each seed, ``trapscape simulate --seed S`` writes the bundled Land of the
Leopard design (defaults of :class:`trapscape.simulate.SimulationParams`,
Russia 1.6 and China 0.35 adults per 100 km², North Korea 0) into a
temporary folder; the project it writes is fitted exactly as the density
step of ``trapscape run`` fits it (``fit_survey`` with the [density] options
of survey.toml, ``model = "sex+zone"``).  One row per seed and country is
appended to a CSV, so an interrupted study resumes where it stopped; then
bias (mean relative error and its SE), mean RSE and 95 % CI coverage per
country are printed, with the failed fits.

Truths (per country, adults per 100 km²):

``d_given``
    The density the simulation was given (secrdesign's comparison).  It is
    the density on the simulation's state space only: habitat within 12 km
    of the stations and at least 2 km from a settlement.
``d_mask_expected``
    Expected density over the fitted mask's cells of that country: the
    given density where a cell centre lies in the state space, 0 elsewhere
    (settlements, beyond the 12 km state-space buffer).  This is what a
    model with one density per country over that mask estimates.
``d_mask_pdot``
    The same expected density weighted by the true probability that an
    animal at the cell is detected at all, p.(x), with the true σ, λ0, sex
    ratio and the survey's usage: ∫ D p. / ∫ p. over the country's cells.
    A model with one density per country estimates this when the true
    density is not constant over the country's mask cells (the expected
    number detected is ∫ D p., and the fit divides it by ∫ p.).
``d_mask_realised``
    Activity centres drawn inside the mask's cells of that country divided
    by their area (the realised density on the mask).
``d_mask_realised_pdot``
    The realised analogue of ``d_mask_pdot``: the drawn centres in the
    country's cells weighted by p.(centre), divided by ∫ p. over them.  Its
    expectation is ``d_mask_pdot``; it removes most of the Poisson noise of
    the number of animals, so D-hat against it measures the estimator's
    own bias precisely.

``--retruth`` recomputes the truth columns of an existing CSV (simulating
again, with the mask buffer and spacing of each fit) without refitting.

Run (about a minute per seed on a loaded 2-core machine):

    nice -n 10 .venv/bin/python benchmarks/bench_recovery_design.py \
        --seeds 101-130 --csv /tmp/recovery.csv
    .venv/bin/python benchmarks/bench_recovery_design.py --summary --csv ...
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

FIELDS = (
    "seed",
    "country",
    "converged",
    "estimate",
    "se",
    "lcl",
    "ucl",
    "rse",
    "d_given",
    "d_mask_expected",
    "d_mask_realised",
    "d_mask_pdot",
    "d_mask_realised_pdot",
    "n_mask_realised",
    "mask_km2",
    "mask_buffer",
    "mask_spacing",
    "n_detected",
    "sigma_f",
    "sigma_m",
    "lambda0_f",
    "lambda0_m",
    "pmix_m",
    "sa_en",
    "sa_en_lcl",
    "sa_en_ucl",
    "sa_rn",
    "sa_rn_lcl",
    "sa_rn_ucl",
    "sa_rnl",
    "sa_rnl_lcl",
    "sa_rnl_ucl",
    "sa_expected",
    "sa_realised",
    "seconds",
    "error",
)


def _seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def _done(path: Path) -> set[int]:
    if not path.exists():
        return set()
    with path.open(newline="") as fh:
        return {int(r["seed"]) for r in csv.DictReader(fh)}


def _append(path: Path, rows: list[dict[str, Any]]) -> None:
    new = not path.exists()
    with path.open("a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in FIELDS})


def _state_space() -> Any:
    """The simulation's state space, rebuilt from its (deterministic) layers."""
    import geopandas as gpd

    from trapscape import datasets
    from trapscape import simulate as sm

    params = sm.SimulationParams()
    layers = sm._Layers.read(
        params,
        gpd.read_file(datasets.get_path("study_area.gpkg")),
        gpd.read_file(datasets.get_path("countries.gpkg")),
        gpd.read_file(datasets.get_path("land.gpkg")),
        gpd.read_file(datasets.get_path("settlements.gpkg")),
    )
    # the extra band does not depend on the seed (only its grid origin does)
    band, _xy, _ids = sm._extra_zone_stations(
        params, "China", layers, np.random.default_rng(0)
    )
    state = sm._state_space(params, [layers.study, band], layers)
    return params, layers, state


def _true_pdot(
    params: Any, xy: np.ndarray, traps: np.ndarray, usage: np.ndarray
) -> np.ndarray:
    """P(an animal centred at each point is detected at all), true parameters."""
    d2 = ((xy[:, None, :] - traps[None, :, :]) ** 2).sum(axis=2)
    out = np.zeros(len(xy))
    pm = params.male_share
    for sex, share in (("F", 1 - pm), ("M", pm)):
        sig, lam = params.sigma_of(sex), params.lambda0_of(sex)
        hazard = (lam * np.exp(-d2 / (2 * sig**2)) * usage[None, :]).sum(axis=1)
        out += share * (1 - np.exp(-hazard))
    return out


def _mask_truth(
    fit: Any, survey: Any, species: str | None, truth: dict[str, Any], geo: Any
) -> dict[str, dict[str, float]]:
    """Expected and realised density over the fitted mask, per zone."""
    return _truth_on_mask(
        (fit.model, fit.mask_buffer, fit.mask_spacing), survey, species, truth, geo
    )


def _truth_on_mask(
    fitted: tuple[str, float, float],
    survey: Any,
    species: str | None,
    truth: dict[str, Any],
    geo: Any,
) -> dict[str, dict[str, float]]:
    """Expected and realised density over a mask (model, buffer, spacing)."""
    import shapely
    from scipy.spatial import cKDTree

    from trapscape.density import capture_history
    from trapscape.density.mask import make_mask
    from trapscape.density.survey import _MaskMaker

    params, layers, state = geo
    ch = capture_history(survey, species=species)
    model, buffer, spacing = fitted
    maker = _MaskMaker.for_survey(survey, model, None, 5000, None)
    mask = make_mask(
        ch.traps_xy,
        buffer=buffer,
        spacing=spacing,
        habitat=maker.habitat,
        zones=maker.zones,
        crs=maker.crs,
        max_memory_gb=None,
    )
    xy = mask.xy
    labels = np.asarray(mask.zone)
    in_state = shapely.contains_xy(state, xy[:, 0], xy[:, 1])
    # the simulation's zone of each cell centre (first zone containing it)
    sim_zone = np.full(len(xy), "", dtype=object)
    for name, g in zip(layers.zones["name"], layers.zones.geometry, strict=True):
        inside = shapely.contains_xy(g, xy[:, 0], xy[:, 1]) & (sim_zone == "")
        sim_zone[inside] = name
    dens = np.array([params.densities.get(z, 0.0) for z in sim_zone]) * in_state
    usage = ch.usage.sum(axis=1)
    pdot = _true_pdot(params, xy, ch.traps_xy, usage)
    a = np.array([[an["x"], an["y"]] for an in truth["animals"]])
    pdot_a = _true_pdot(params, a, ch.traps_xy, usage)
    cell_area = mask.spacing**2
    # the cell holding each activity centre (if any)
    d, k = cKDTree(xy).query(a, p=np.inf)
    held = d <= mask.spacing / 2
    out: dict[str, dict[str, float]] = {}
    for z in sorted(set(labels)):
        sel = labels == z
        area = sel.sum() * cell_area / 1e8  # 100 km2
        mine = held & sel[k]
        n_real = int(np.sum(mine))
        out[z] = {
            "d_mask_expected": float(dens[sel].mean()),
            "d_mask_pdot": float(np.sum(dens[sel] * pdot[sel]) / np.sum(pdot[sel])),
            "d_mask_realised": n_real / area,
            # realised analogue of d_mask_pdot: centres weighted by p.
            "d_mask_realised_pdot": float(
                np.sum(pdot_a[mine]) / (np.sum(pdot[sel]) * cell_area / 1e8)
            ),
            "n_mask_realised": n_real,
            "mask_km2": area * 100,
        }
    return out


def _without_settlements(survey: Any, geo: Any) -> Any:
    """The survey with the simulation's settlement buffers cut out of its habitat."""
    from dataclasses import replace

    _params, layers, _state = geo
    hab = survey.habitat.to_crs(layers.crs)
    hab = hab.set_geometry(hab.geometry.difference(layers.settle))
    return replace(survey, habitat=hab.to_crs(survey.habitat.crs))


def _in_zones(survey: Any, geo: Any) -> Any:
    """The survey with its habitat cut to the zone polygons (no sliver land)."""
    from dataclasses import replace

    _params, layers, _state = geo
    hab = survey.habitat.to_crs(layers.crs)
    hab = hab.set_geometry(hab.geometry.intersection(layers.zones.union_all()))
    return replace(survey, habitat=hab.to_crs(survey.habitat.crs))


def run_seed(
    seed: int,
    geo: Any,
    *,
    no_settlements: bool = False,
    in_zones: bool = False,
    buffer: float | None = None,
) -> list[dict[str, Any]]:
    """Simulate one seed, fit it like the density step, return rows per country."""
    from trapscape import density
    from trapscape.errors import TrapscapeError
    from trapscape.project import load_project

    with tempfile.TemporaryDirectory(prefix="recov_") as tmp:
        folder = Path(tmp) / "sim"
        cmd = [sys.executable, "-m", "trapscape", "simulate", "--out", str(folder)]
        subprocess.run([*cmd, "--seed", str(seed)], check=True, capture_output=True)
        truth = json.loads((folder / "truth.json").read_text())
        proj = load_project(folder / "survey.toml")
        opts = dict(proj.params.get("density", {}))
        survey = proj.survey
        if no_settlements:  # experiment: the mask without the settlement holes
            survey = _without_settlements(survey, geo)
        if in_zones:  # experiment: no land outside the zone polygons
            survey = _in_zones(survey, geo)
        if buffer is not None:  # experiment: a fixed (wider) mask buffer
            opts["buffer"] = buffer
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = density.fit_survey(survey, species=proj.species, **opts)
        except TrapscapeError as err:
            secs = time.perf_counter() - t0
            return [
                {
                    "seed": seed,
                    "country": z,
                    "converged": False,
                    "d_given": d,
                    "seconds": round(secs, 1),
                    "error": str(err).splitlines()[0][:200],
                }
                for z, d in sorted(truth["parameters"]["densities"].items())
            ]
        secs = time.perf_counter() - t0
        mt = _mask_truth(fit, survey, proj.species, truth, geo)
    est = fit.estimates.set_index("parameter")
    common = {
        "seed": seed,
        "converged": bool(fit.converged),
        "mask_buffer": round(float(fit.mask_buffer or 0), 1),
        "mask_spacing": float(fit.mask_spacing),
        "n_detected": fit.n,
        "sigma_f": est.loc["sigma[F]", "estimate"],
        "sigma_m": est.loc["sigma[M]", "estimate"],
        "lambda0_f": est.loc["lambda0[F]", "estimate"],
        "lambda0_m": est.loc["lambda0[M]", "estimate"],
        "pmix_m": est.loc["pmix[M]", "estimate"],
        "seconds": round(secs, 1),
        "sa_expected": truth["expected_n_in_study_area"],
        "sa_realised": truth["n_in_study_area"],
    }
    rn = fit.region_n
    for q, key in (("E.N", "sa_en"), ("R.N", "sa_rn"), ("R.N.local", "sa_rnl")):
        r = rn[(rn["region"] == "study area") & (rn["quantity"] == q)]
        if len(r):
            common[key] = r["estimate"].iloc[0]
            common[f"{key}_lcl"] = r["lcl"].iloc[0]
            common[f"{key}_ucl"] = r["ucl"].iloc[0]
    rows = []
    for z, d in sorted(truth["parameters"]["densities"].items()):
        p = f"D[{z}]"
        row = {**common, "country": z, "d_given": d, **mt.get(z, {})}
        if p in est.index:
            r = est.loc[p]
            row.update(
                estimate=r["estimate"],
                se=r["se"],
                lcl=r["lcl"],
                ucl=r["ucl"],
                rse=r["se"] / r["estimate"] if r["estimate"] > 0 else math.nan,
            )
        else:
            row["error"] = "not a parameter (zone left out)"
        rows.append(row)
    return rows


def retruth(path: Path, geo: Any) -> None:
    """Recompute the truth columns of the CSV's rows (no refit)."""
    from trapscape.project import load_project

    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    for seed in sorted({int(r["seed"]) for r in rows}):
        mine = [r for r in rows if int(r["seed"]) == seed and r["mask_buffer"]]
        if not mine:
            continue
        with tempfile.TemporaryDirectory(prefix="recov_") as tmp:
            folder = Path(tmp) / "sim"
            cmd = [sys.executable, "-m", "trapscape", "simulate", "--out", str(folder)]
            subprocess.run([*cmd, "--seed", str(seed)], check=True, capture_output=True)
            truth = json.loads((folder / "truth.json").read_text())
            proj = load_project(folder / "survey.toml")
            r0 = mine[0]
            fitted = ("sex+zone", float(r0["mask_buffer"]), float(r0["mask_spacing"]))
            mt = _truth_on_mask(fitted, proj.survey, proj.species, truth, geo)
        for r in mine:
            r.update(mt.get(r["country"], {}))
        print(f"seed {seed}: truth recomputed", flush=True)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=FIELDS)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in FIELDS})


def _num(v: str) -> float:
    try:
        return float(v)
    except ValueError:
        return math.nan


def summary(path: Path) -> None:
    """Bias, RSE and coverage per country and truth, from the CSV."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    seeds = sorted({int(r["seed"]) for r in rows})
    failed = sorted({int(r["seed"]) for r in rows if r["converged"] != "True"})
    print(
        f"{len(seeds)} seeds ({seeds[0]}-{seeds[-1]}); not converged/failed: "
        f"{failed or 'none'}"
    )
    for r in rows:
        if r["converged"] != "True" and r["error"]:
            print(f"  seed {r['seed']} {r['country']}: {r['error']}")
    print(
        f"{'country':8} {'truth':20} {'n':>3} {'truth mean':>10} {'D-hat mean':>10} "
        f"{'bias %':>7} {'SE %':>5} {'RSE %':>6} {'cover':>9}"
    )
    for country in sorted({r["country"] for r in rows}):
        ok = [
            r
            for r in rows
            if r["country"] == country
            and r["converged"] == "True"
            and math.isfinite(_num(r["estimate"]))
            and math.isfinite(_num(r["se"]))
        ]
        if not ok:
            print(f"{country:8} no estimates")
            continue
        est = np.array([_num(r["estimate"]) for r in ok])
        lcl = np.array([_num(r["lcl"]) for r in ok])
        ucl = np.array([_num(r["ucl"]) for r in ok])
        rse = np.array([_num(r["rse"]) for r in ok])
        for tname in (
            "d_given",
            "d_mask_expected",
            "d_mask_pdot",
            "d_mask_realised",
            "d_mask_realised_pdot",
        ):
            t = np.array([_num(r[tname]) for r in ok])
            rel = est / t - 1.0
            cov = int(np.sum((lcl <= t) & (t <= ucl)))
            se = rel.std(ddof=1) / math.sqrt(len(rel)) if len(rel) > 1 else math.nan
            print(
                f"{country:8} {tname:20} {len(ok):3d} {t.mean():10.4f} "
                f"{est.mean():10.4f} {100 * rel.mean():7.2f} {100 * se:5.2f} "
                f"{100 * rse.mean():6.1f} {cov:3d}/{len(ok):<3d}"
            )
    sig = {
        k: np.array([_num(r[k]) for r in rows if r["country"] == "Russia"])
        for k in ("sigma_f", "sigma_m", "lambda0_f", "lambda0_m", "pmix_m")
    }
    true = {
        "sigma_f": 2500,
        "sigma_m": 4000,
        "lambda0_f": 0.05,
        "lambda0_m": 0.05,
        "pmix_m": 1 / 2.2,
    }
    rus = [r for r in rows if r["country"] == "Russia" and r["converged"] == "True"]
    for key, tkey in (
        ("sa_en", "sa_expected"),
        ("sa_rn", "sa_realised"),
        ("sa_rnl", "sa_realised"),
    ):
        e = np.array([_num(r[key]) for r in rus])
        t = np.array([_num(r[tkey]) for r in rus])
        lo = np.array([_num(r[f"{key}_lcl"]) for r in rus])
        hi = np.array([_num(r[f"{key}_ucl"]) for r in rus])
        ok = np.isfinite(e) & np.isfinite(t)
        if ok.sum() > 1:
            rel = e[ok] / t[ok] - 1
            cov = int(np.sum((lo[ok] <= t[ok]) & (t[ok] <= hi[ok])))
            print(
                f"study area {key} vs {tkey}: truth mean {t[ok].mean():.2f}, "
                f"estimate mean {e[ok].mean():.2f}, bias {100 * rel.mean():.2f} % "
                f"(SE {100 * rel.std(ddof=1) / math.sqrt(ok.sum()):.2f}), "
                f"coverage {cov}/{ok.sum()}"
            )
    print("detection (mean, relative bias %, SE %):")
    for k, v in sig.items():
        v = v[np.isfinite(v)]
        if len(v):
            rel = v / true[k] - 1
            print(
                f"  {k:9} {v.mean():10.4g} {100 * rel.mean():7.2f} "
                f"{100 * rel.std(ddof=1) / math.sqrt(len(v)) if len(v) > 1 else 0:5.2f}"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="101-130")
    ap.add_argument("--csv", type=Path, default=Path("recovery_design.csv"))
    ap.add_argument("--summary", action="store_true", help="only print the summary")
    ap.add_argument(
        "--no-settlements",
        action="store_true",
        help="experiment: cut the simulation's settlement buffers out of the habitat",
    )
    ap.add_argument(
        "--in-zones",
        action="store_true",
        help="experiment: cut the habitat to the zone polygons (no sliver land)",
    )
    ap.add_argument("--buffer", type=float, help="experiment: mask buffer (m)")
    ap.add_argument(
        "--retruth", action="store_true", help="recompute the truth columns only"
    )
    a = ap.parse_args()
    if a.retruth:
        retruth(a.csv, _state_space())
    elif not a.summary:
        done = _done(a.csv)
        geo = _state_space()
        for seed in _seeds(a.seeds):
            if seed in done:
                continue
            t0 = time.perf_counter()
            rows = run_seed(
                seed,
                geo,
                no_settlements=a.no_settlements,
                in_zones=a.in_zones,
                buffer=a.buffer,
            )
            _append(a.csv, rows)
            d = {r["country"]: r.get("estimate", "") for r in rows}
            print(f"seed {seed}: {d} ({time.perf_counter() - t0:.0f} s)", flush=True)
    summary(a.csv)


if __name__ == "__main__":
    main()
