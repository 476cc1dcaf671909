"""Design evaluation by simulation: simulate and refit a layout many times.

For each candidate design (a set of stations, each working a number of days)
:func:`evaluate_designs` simulates ``replicates`` surveys from the SCR capture
model with known density and detection parameters and fits each with the same
SCR model, as the R package secrdesign does (``run.scenarios`` then
``estimateSummary``; Efford 2024).  The summary per design and parameter is
secrdesign's: relative bias ``RB``, its standard error, mean relative standard
error ``RSE``, ``RMSE`` and relative RMSE, coverage of the 95 % interval
``COV`` and the share of failed fits, plus the mean numbers of animals
detected ``n``, recaptures ``r`` and detections, and the time per replicate.

The simulation follows the capture model the fit assumes (Borchers & Efford
2008; Royle et al. 2014, ch. 5):

* the habitat mask is built around each design's stations
  (:func:`trapscape.density.make_mask`: buffer 4 sigma, spacing sigma / 2);
  the number of activity centres at each mask point is Poisson with mean
  ``D_m x cell area`` (``D_m`` the density of the point's zone);
* each animal belongs to a sex class with the shares and parameters of
  :meth:`~trapscape.detection.DetectionParams.sex_classes`;
* station ``j`` works its first ``days_j`` days; occasions are
  ``occasion_days`` long and usage ``u_jk`` is the days station ``j`` worked
  in occasion ``k``; a proximity detector records an animal at distance
  ``d`` on occasion ``k`` with probability ``1 - exp(-u_jk lambda0 g(d))``
  (``"HHN"``) or ``1 - (1 - g0 g(d))^u_jk`` (``"HN"``), a count detector a
  Poisson number with mean ``u_jk lambda0 g(d)``;
  ``g(d) = exp(-d^2 / 2 sigma^2)``;
* the detected animals form a :class:`~trapscape.density.CaptureHistory` on
  the same mask, fitted with :func:`trapscape.density.fit`.

Each replicate draws from its own generator, seeded from ``(seed, design
name, replicate)`` (:class:`numpy.random.SeedSequence`), so the results do not
depend on how replicates are batched or scheduled: with ``workers`` (a local
``dask.distributed`` cluster) or ``scheduler`` (a running one) they equal the
in-process run exactly.

References
----------
Efford, M. G. (2024). secrdesign: Sampling Design for Spatially Explicit
Capture-Recapture. R package version 2.9. https://CRAN.R-project.org/package=secrdesign

Borchers, D. L. & Efford, M. G. (2008). Spatially explicit maximum likelihood
methods for capture-recapture studies. *Biometrics* 64, 377-385.

Royle, J. A., Chandler, R. B., Sollmann, R. & Gardner, B. (2014). *Spatial
Capture-Recapture*. Academic Press (ch. 10, design of SCR studies).

Sollmann, R., Gardner, B. & Belant, J. L. (2012). How does spatial study
design influence density estimates from spatial capture-recapture models?
*PLoS ONE* 7, e34575.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from .. import validation as V
from .._dask import close_client, open_client
from ..detection import DetectionParams
from ..errors import (
    ComputationError,
    InputError,
    ProblemCollector,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from ..density.data import CaptureHistory, Mask
    from ..survey import Survey
    from .planner import Plan

__all__ = [
    "SUMMARY_COLUMNS",
    "Design",
    "DesignEvaluation",
    "design_from_stations",
    "designs_for_plan",
    "evaluate_designs",
    "evaluate_plan",
]

logger = logging.getLogger(__name__)

#: columns of :attr:`DesignEvaluation.summary`, one row per design and parameter
SUMMARY_COLUMNS = (
    "design",
    "stations",
    "parameter",
    "true",
    "replicates",
    "n_valid",
    "failed_share",
    "mean_estimate",
    "RB",
    "RB_se",
    "RSE",
    "RMSE",
    "rRMSE",
    "COV",
    "mean_n",
    "mean_r",
    "mean_detections",
    "expected_n",
    "expected_r",
    "seconds_per_replicate",
)

ModelName = Literal["null", "zone"]


@dataclass(frozen=True)
class Design:
    """A candidate layout: station coordinates and their operating days.

    Attributes
    ----------
    name
        Label of the design in the outputs.
    traps_xy
        ``(J, 2)`` station coordinates in metres (projected CRS).
    days
        ``(J,)`` days each station works, from the start of the session.
    """

    name: str
    traps_xy: np.ndarray
    days: np.ndarray

    def __post_init__(self) -> None:
        xy = np.asarray(self.traps_xy, dtype=float).reshape(-1, 2)
        days = np.asarray(self.days, dtype=float).reshape(-1)
        if not str(self.name).strip():
            raise InputError("A design needs a non-empty name.")
        if len(xy) == 0:
            raise InputError(
                f"Design {self.name!r} has no stations; give at least two stations."
            )
        if days.shape != (len(xy),):
            raise InputError(
                f"Design {self.name!r}: {len(days)} operating days for {len(xy)} "
                "stations; give one value per station."
            )
        if not np.all(np.isfinite(xy)) or not np.all(np.isfinite(days)):
            raise InputError(
                f"Design {self.name!r}: station coordinates and days must be finite."
            )
        if np.any(days < 0) or not np.any(days > 0):
            raise InputError(
                f"Design {self.name!r}: operating days must be >= 0 with at least "
                "one station working."
            )
        object.__setattr__(self, "traps_xy", xy)
        object.__setattr__(self, "days", days)

    def usage(self, occasion_days: float) -> np.ndarray:
        """``(J, K)`` days each station worked in each occasion.

        ``K = ceil(max(days) / occasion_days)``; station ``j`` works from the
        start, so its usage is ``occasion_days`` on its full occasions and
        the remainder on the last one.
        """
        k = max(1, math.ceil(float(self.days.max()) / occasion_days - 1e-9))
        start = np.arange(k, dtype=float) * occasion_days
        return np.clip(self.days[:, None] - start[None, :], 0.0, occasion_days)


def _union_days(setup: pd.Series, retrieval: pd.Series) -> float:
    """Days covered by the union of ``[setup, retrieval]`` intervals."""
    iv = sorted(
        (s, r)
        for s, r in zip(setup, retrieval, strict=True)
        if pd.notna(s) and pd.notna(r) and r > s
    )
    total = pd.Timedelta(0)
    cur_s, cur_e = None, None
    for s, e in iv:
        if cur_e is None or s > cur_e:
            if cur_e is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None:
        total += cur_e - cur_s
    return float(total / pd.Timedelta(days=1))


def design_from_stations(
    stations: gpd.GeoDataFrame,
    *,
    name: str,
    days: float | None = None,
) -> Design:
    """A design from a stations table (the schema of :func:`trapscape.io.read_stations`).

    Parameters
    ----------
    stations
        Stations (or deployments: several rows per ``station_id``) in a
        projected CRS.
    name
        Label of the design.
    days
        Days every station works; default: per station, the days covered by
        its deployments (union of ``setup`` to ``retrieval``; camera
        malfunctions are not removed).

    Raises
    ------
    InputError
        If the table has no station or no operating days.
    """
    from ..crs import require_projected

    if stations is None or len(stations) == 0:
        raise InputError(f"Design {name!r}: the stations table has no rows.")
    require_projected(stations.crs, what=f"design {name!r}")
    ids = stations[V.STATION_ID].astype(str)
    first = stations.groupby(ids, sort=False).head(1)
    xy = np.column_stack([first.geometry.x, first.geometry.y])
    if days is not None:
        d = np.full(len(first), float(days))
    else:
        missing = [c for c in (V.SETUP, V.RETRIEVAL) if c not in stations]
        if missing:
            raise InputError(
                f"Design {name!r}: the stations table has no {missing} column(s); "
                "give days= (operating days per station)."
            )
        d = np.array(
            [
                _union_days(g[V.SETUP], g[V.RETRIEVAL])
                for _, g in stations.groupby(ids, sort=False)
            ]
        )
    return Design(name=name, traps_xy=xy, days=d)


def designs_for_plan(
    survey: Survey, plan: Plan, *, session_days: float | None = None
) -> list[Design]:
    """The survey's layout and the survey's plus the plan's proposed stations.

    Returns designs ``"current"`` (the survey's stations with their observed
    days) and ``"current+plan"`` (those, less any the plan moves, plus the
    proposed stations, each working ``session_days``, default the plan's
    session length).
    """
    current = design_from_stations(survey.stations, name="current")
    if len(plan.stations) == 0:
        return [current]
    new = design_from_stations(plan.stations, name="plan", days=session_days)
    kept = current
    if plan.removed:  # "move" mode: the moved stations leave their old sites
        st = survey.stations
        kept = design_from_stations(
            st[~st[V.STATION_ID].astype(str).isin(set(plan.removed))], name="kept"
        )
    both = Design(
        name="current+plan",
        traps_xy=np.vstack([kept.traps_xy, new.traps_xy]),
        days=np.concatenate([kept.days, new.days]),
    )
    return [current, both]


def evaluate_plan(
    survey: Survey,
    plan: Plan | None,
    params: DetectionParams,
    *,
    replicates: int,
    seed: int = 0,
    density: float | None = None,
    designs: Mapping[str, gpd.GeoDataFrame] | None = None,
    session_days: float | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> DesignEvaluation:
    """Evaluate the current layout, the planned one and other station layers.

    The designs are :func:`designs_for_plan` (``"current"`` and, with a plan
    that proposes stations, ``"current+plan"``) followed by each layer of
    ``designs`` (name -> stations table, as :func:`design_from_stations`
    reads it).  The mask is clipped to ``survey.habitat``; the true density
    is ``density`` (animals per 100 km2), else the fitted
    ``params.density_per_100km2``.  ``trapscape plan --evaluate`` and the plan
    step of ``trapscape run`` (``[plan] evaluate_replicates``) call this.

    Raises
    ------
    InputError
        As :func:`evaluate_designs`; also when a design layer has no rows.
    """
    from ..crs import to_projected

    found = (
        designs_for_plan(survey, plan, session_days=session_days)
        if plan is not None
        else [design_from_stations(survey.stations, name="current")]
    )
    for name, layer in (designs or {}).items():
        found.append(design_from_stations(to_projected(layer, survey.crs), name=name))
    hab = survey.habitat
    return evaluate_designs(
        found,
        params,
        density=density,
        replicates=replicates,
        seed=seed,
        habitat=None if hab is None or len(hab) == 0 else hab.union_all(),
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )


# ----------------------------------------------------------------- truth
@dataclass(frozen=True)
class _Truth:
    """The true parameters and what the simulation and fit need of them."""

    params: DetectionParams
    density: float | Mapping[str, float]  # animals per 100 km2
    detector: str
    model: ModelName
    occasion_days: float
    zones: Any = None
    habitat: Any = None
    max_mask_points: int = 3000

    def density_at(self, mask: Mask) -> np.ndarray:
        """Animals per 100 km2 at each mask point."""
        if not isinstance(self.density, Mapping):
            return np.full(len(mask), float(self.density))
        if mask.zone is None:
            raise InputError(
                "A density per zone needs zones= (name -> polygon) to label the mask."
            )
        labels = np.asarray(mask.zone, dtype=object)
        unknown = sorted(set(labels) - set(self.density))
        if unknown:
            raise InputError(
                f"density has no value for zone(s) {unknown}; give one per zone "
                f"(given: {sorted(self.density)})."
            )
        return np.array([float(self.density[z]) for z in labels])

    def true_values(self, mask: Mask) -> dict[str, float]:
        """True value of each fitted parameter (as named in the fit's table)."""
        out: dict[str, float] = {}
        dens = self.density_at(mask)
        if self.model == "zone" and isinstance(self.density, Mapping):
            for z in sorted(set(np.asarray(mask.zone, dtype=object))):
                out[f"D[{z}]"] = float(self.density[z])
        else:
            out["D"] = float(dens.mean())
        p = self.params
        if p.detectfn == "HHN":
            out["lambda0"] = float(p.lambda0)  # type: ignore[arg-type]
        else:
            out["g0"] = float(p.g0)  # type: ignore[arg-type]
        out["sigma"] = float(p.sigma)
        return out


def _mask_for(design: Design, truth: _Truth) -> Mask:
    from ..density import make_mask

    sig = max(c.sigma for _, c in truth.params.sex_classes())
    return make_mask(
        design.traps_xy,
        buffer=4.0 * sig,
        sigma_guess=sig,
        habitat=truth.habitat,
        zones=truth.zones,
        max_points=truth.max_mask_points,
    )


# ----------------------------------------------------------------- one replicate
def replicate_rng(seed: int, design: str, replicate: int) -> np.random.Generator:
    """The generator of one replicate, from ``(seed, design name, replicate)``."""
    key = zlib.crc32(design.encode("utf-8"))
    ss = np.random.SeedSequence(entropy=int(seed), spawn_key=(key, int(replicate)))
    return np.random.default_rng(ss)


#: animals simulated at a time: bounds the memory of one replicate to about
#: ``3 x 8 x CHUNK x K x J`` bytes whatever the population size (fixed, so
#: the random draws, hence the results, do not depend on the machine)
CHUNK_ANIMALS = 256


def simulate_history(
    design: Design,
    mask: Mask,
    truth: _Truth,
    rng: np.random.Generator,
) -> CaptureHistory:
    """One simulated capture history of ``design`` on ``mask``."""
    from ..density import CaptureHistory

    dens = truth.density_at(mask) / 1e8  # animals per m2
    counts = rng.poisson(dens * mask.cell_area)
    centres = np.repeat(mask.xy, counts, axis=0)
    classes = truth.params.sex_classes()
    shares = np.array([w for w, _ in classes])
    cls = rng.choice(len(classes), size=len(centres), p=shares / shares.sum())
    usage = design.usage(truth.occasion_days)  # (J, K)
    caps_parts, cls_parts = [], []
    for start in range(0, len(centres), CHUNK_ANIMALS):
        sl = slice(start, start + CHUNK_ANIMALS)
        caps = _detections(centres[sl], cls[sl], design, usage, truth, rng)
        seen = caps.sum(axis=(1, 2)) > 0
        caps_parts.append(caps[seen])
        cls_parts.append(cls[sl][seen])
    k, j = usage.shape[1], len(design.traps_xy)
    captures = (
        np.concatenate(caps_parts) if caps_parts else np.zeros((0, k, j), np.int64)
    )
    seen_cls = np.concatenate(cls_parts) if cls_parts else np.zeros(0, np.int64)
    sex_names = [_sex_label(p, i) for i, (_w, p) in enumerate(classes)]
    sex = tuple(sex_names[c] for c in seen_cls) if truth.params.by_sex else None
    return CaptureHistory(
        traps_xy=design.traps_xy,
        usage=usage,
        captures=captures,
        detector=truth.detector,  # type: ignore[arg-type]
        sex=sex,
        occasion_days=truth.occasion_days,
    )


def _detections(
    centres: np.ndarray,
    cls: np.ndarray,
    design: Design,
    usage: np.ndarray,
    truth: _Truth,
    rng: np.random.Generator,
) -> np.ndarray:
    """``(n, K, J)`` detections of animals at ``centres`` (sex class ``cls``)."""
    d2 = ((centres[:, None, :] - design.traps_xy[None, :, :]) ** 2).sum(axis=2)
    caps = np.zeros((len(centres), usage.shape[1], len(design.traps_xy)), np.int64)
    u = usage.T[None, :, :]  # (1, K, J)
    for c, (_w, p) in enumerate(truth.params.sex_classes()):
        rows = np.flatnonzero(cls == c)
        if len(rows) == 0:
            continue
        g = np.exp(-d2[rows] / (2.0 * p.sigma**2))[:, None, :]  # (n, 1, J)
        if p.detectfn == "HHN":
            hz = float(p.lambda0) * g * u  # type: ignore[arg-type]
            if truth.detector == "count":
                caps[rows] = rng.poisson(hz)
                continue
            prob = -np.expm1(-hz)
        else:
            prob = 1.0 - (1.0 - np.minimum(float(p.g0) * g, 1.0)) ** u  # type: ignore[arg-type]
        caps[rows] = rng.random(prob.shape) < prob
    return caps


def _sex_label(params: DetectionParams, index: int) -> str:
    return sorted(params.by_sex)[index] if params.by_sex else str(index)


@dataclass(frozen=True)
class _Task:
    """A batch of replicates of one design (what a dask task receives)."""

    design: Design
    mask: Mask
    truth: _Truth
    seed: int
    replicates: tuple[int, ...]


def _fit_row(ch: CaptureHistory, mask: Mask, truth: _Truth) -> dict[str, Any]:
    """Estimates of one fit as ``{parameter: (est, se, lcl, ucl)}`` (or a failure)."""
    from ..density import fit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            res = fit(
                ch,
                mask,
                detectfn=truth.params.detectfn,  # type: ignore[arg-type]
                model=truth.model,
                max_memory_gb=None,
                # the simulation used fractional usage (a station's last
                # part-day): keep it, or the fit's truncation would bias lambda0
                integer_usage=False,
            )
        except (ComputationError, ValueError, ArithmeticError) as err:
            # a failed replicate (no recaptures, no convergence, singular
            # information), counted in failed_share as secrdesign does
            return {"ok": False, "error": str(err).splitlines()[0][:200]}
    if not res.converged:
        return {"ok": False, "error": "did not converge"}
    est = {
        str(r.parameter): (float(r.estimate), float(r.se), float(r.lcl), float(r.ucl))
        for r in res.estimates.itertuples()
    }
    return {"ok": True, "estimates": est}


def run_batch(task: _Task) -> list[dict[str, Any]]:
    """Simulate and fit the replicates of one batch; one record per replicate."""
    out = []
    for rep in task.replicates:
        t0 = time.perf_counter()
        gen = replicate_rng(task.seed, task.design.name, rep)
        ch = simulate_history(task.design, task.mask, task.truth, gen)
        rec: dict[str, Any] = {
            "design": task.design.name,
            "replicate": rep,
            "n": ch.n,
            "r": ch.n_recaptures,
            "detections": ch.n_detections,
        }
        rec.update(_fit_row(ch, task.mask, task.truth))
        rec["seconds"] = time.perf_counter() - t0
        out.append(rec)
    return out


# ----------------------------------------------------------------- result
@dataclass(frozen=True)
class DesignEvaluation:
    """Result of :func:`evaluate_designs`.

    Attributes
    ----------
    summary
        One row per design and parameter, columns :data:`SUMMARY_COLUMNS`:
        ``true`` value, ``replicates``, ``n_valid`` successful fits,
        ``failed_share``, ``mean_estimate``; relative bias
        ``RB = mean(est - true) / true`` and its standard error ``RB_se``;
        ``RSE`` the mean of ``SE / est``; ``RMSE`` and ``rRMSE = RMSE / true``;
        ``COV`` the share of 95 % intervals holding the true value; the mean
        animals detected ``mean_n``, recaptures ``mean_r`` and detections
        over all replicates; ``expected_n`` and ``expected_r`` from the
        capture model (:func:`~trapscape.planning.expected_counts`; ``E[r]``
        counts a last part-occasion as a whole one); and the mean time per
        replicate in seconds (the only column that varies between runs).
    replicates
        One row per design, replicate and parameter: ``n``, ``r``,
        ``detections``, ``ok``, ``estimate``, ``se``, ``lcl``, ``ucl``,
        ``error``.
    settings
        Seed, replicates, model, detector, occasion length, the true
        parameters and the workers used.
    """

    summary: pd.DataFrame
    replicates: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary and settings (non-finite numbers as ``None``)."""

        def clean(v: Any) -> Any:
            if isinstance(v, float | np.floating):
                return float(v) if math.isfinite(v) else None
            if isinstance(v, np.integer):
                return int(v)
            return v

        rows = [
            {k: clean(v) for k, v in row.items()}
            for row in self.summary.to_dict(orient="records")
        ]
        return {"settings": self.settings, "summary": rows}


def _summarise(
    records: list[dict[str, Any]],
    designs: Sequence[Design],
    truths: Mapping[str, dict[str, float]],
    expected: Mapping[str, tuple[float, float]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """secrdesign's estimateSummary per design and parameter."""
    rep_rows = []
    for rec in records:
        for par, tv in truths[rec["design"]].items():
            e = rec.get("estimates", {}).get(par) if rec["ok"] else None
            est, se, lcl, ucl = e if e is not None else (math.nan,) * 4
            rep_rows.append(
                {
                    "design": rec["design"],
                    "replicate": rec["replicate"],
                    "parameter": par,
                    "true": tv,
                    "n": rec["n"],
                    "r": rec["r"],
                    "detections": rec["detections"],
                    "ok": bool(rec["ok"]) and e is not None and math.isfinite(est),
                    "estimate": est,
                    "se": se,
                    "lcl": lcl,
                    "ucl": ucl,
                    "error": rec.get("error", ""),
                    "seconds": rec["seconds"],
                }
            )
    reps = pd.DataFrame(rep_rows)
    rows = []
    for d in designs:
        sub_d = reps[reps["design"] == d.name]
        for par, tv in truths[d.name].items():
            s = sub_d[sub_d["parameter"] == par]
            rows.append(_summary_row(d, par, tv, s, *expected[d.name]))
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    return summary, reps.drop(columns="seconds")


def _summary_row(
    d: Design,
    par: str,
    tv: float,
    s: pd.DataFrame,
    expected_n: float,
    expected_r: float,
) -> dict[str, Any]:
    ok = s[s["ok"]]
    est = ok["estimate"].to_numpy(dtype=float)
    se = ok["se"].to_numpy(dtype=float)
    nv = len(est)
    rel = (est - tv) / tv
    cov = (ok["lcl"].to_numpy() <= tv) & (tv <= ok["ucl"].to_numpy())
    rmse = float(np.sqrt(np.mean((est - tv) ** 2))) if nv else math.nan
    return {
        "design": d.name,
        "stations": len(d.traps_xy),
        "parameter": par,
        "true": tv,
        "replicates": len(s),
        "n_valid": nv,
        "failed_share": 1.0 - nv / len(s) if len(s) else math.nan,
        "mean_estimate": float(est.mean()) if nv else math.nan,
        "RB": float(rel.mean()) if nv else math.nan,
        "RB_se": float(rel.std(ddof=1) / math.sqrt(nv)) if nv > 1 else math.nan,
        "RSE": float(np.nanmean(se / est)) if nv else math.nan,
        "RMSE": rmse,
        "rRMSE": rmse / tv if nv else math.nan,
        "COV": float(cov.mean()) if nv else math.nan,
        "mean_n": float(s["n"].mean()),
        "mean_r": float(s["r"].mean()),
        "mean_detections": float(s["detections"].mean()),
        "expected_n": expected_n,
        "expected_r": expected_r,
        "seconds_per_replicate": float(s["seconds"].mean()),
    }


# ----------------------------------------------------------------- execution
def _run_tasks(
    tasks: list[_Task],
    *,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
) -> list[dict[str, Any]]:
    """Run the batches in process or on dask; records in task order."""
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=sum(len(t.replicates) for t in tasks), desc="replicates")
    out: list[dict[str, Any]] = []
    try:
        if workers is None and scheduler is None:
            for t in tasks:
                out.extend(run_batch(t))
                if bar is not None:
                    bar.update(len(t.replicates))
            return out
        client, cluster = open_client(workers, scheduler)
        try:
            futures = [client.submit(run_batch, t, pure=False) for t in tasks]
            for t, fut in zip(tasks, futures, strict=True):
                out.extend(fut.result())
                if bar is not None:
                    bar.update(len(t.replicates))
        finally:
            close_client(client, cluster)
        return out
    finally:
        if bar is not None:
            bar.close()


def _check_inputs(
    designs: Sequence[Design],
    replicates: int,
    workers: int | None,
    batch_size: int,
) -> None:
    pc = ProblemCollector()
    if not designs:
        pc.add("No design to evaluate: give at least one Design.")
    names = [d.name for d in designs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        pc.add(f"Design names must be unique; repeated: {dup}.")
    if isinstance(replicates, bool) or not isinstance(replicates, int | np.integer):
        pc.add(f"replicates must be a whole number >= 1, got {replicates!r}.")
    elif replicates < 1:
        pc.add(f"replicates must be >= 1, got {replicates}.")
    if workers is not None and (isinstance(workers, bool) or int(workers) < 1):
        pc.add(f"workers must be >= 1, got {workers!r}.")
    if batch_size < 1:
        pc.add(f"batch_size must be >= 1, got {batch_size!r}.")
    for d in designs:
        if len(d.traps_xy) < 2:
            pc.add(
                f"Design {d.name!r} has {len(d.traps_xy)} station; SCR needs "
                "recaptures at two or more stations."
            )
    pc.raise_if_any()


def evaluate_designs(
    designs: Sequence[Design],
    params: DetectionParams,
    *,
    density: float | Mapping[str, float] | None = None,
    replicates: int = 100,
    seed: int = 0,
    model: ModelName = "null",
    detector: Literal["proximity", "count"] = "proximity",
    occasion_days: float | None = None,
    zones: Any = None,
    habitat: Any = None,
    max_mask_points: int = 3000,
    batch_size: int = 5,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
) -> DesignEvaluation:
    """Bias, precision and interval coverage of candidate designs by simulation.

    For each design, simulate ``replicates`` surveys from the SCR capture
    model with the true ``density`` and detection ``params``, fit each with
    the same model, and summarise as secrdesign's ``estimateSummary`` does
    (Efford 2024); see the module docs for the simulation.

    Parameters
    ----------
    designs
        Candidate layouts (:class:`Design`, :func:`design_from_stations`,
        :func:`designs_for_plan`); unique names.
    params
        True detection parameters (``detectfn``, ``lambda0`` per day or
        ``g0``, ``sigma`` in metres, ``by_sex`` classes with shares).  With
        ``by_sex`` the animals are drawn from the classes but the fit is the
        plain ``model`` (the table's ``lambda0``/``sigma`` are then the
        single-class estimates, compared with ``params``' own values).
    density
        True density in animals per 100 km2: one value, or a mapping zone
        name -> value (needs ``zones``).  Default
        ``params.density_per_100km2``.
    replicates
        Simulated surveys per design (secrdesign's ``nrepl``), >= 1.
    seed
        Seed; replicate ``i`` of design ``name`` uses the generator of
        ``(seed, name, i)``.
    model
        ``"null"`` (one density) or ``"zone"`` (a density per zone).
    detector
        ``"proximity"`` (at most one record per animal, station and
        occasion) or ``"count"`` (Poisson counts; ``"HHN"`` only).
    occasion_days
        Occasion length in days (default ``params.occasion_days``).
    zones, habitat
        Optional zone polygons (name -> polygon, or a layer with a ``name``
        column) labelling the mask, and a habitat polygon clipping it; both
        in the designs' projected CRS.
    max_mask_points
        Upper bound on the mask size (spacing widened from sigma / 2).
    batch_size
        Replicates per task.
    workers
        Run the batches on a new local ``dask.distributed`` cluster of this
        many worker processes.
    scheduler
        Address of a running dask scheduler (e.g. ``tcp://host:8786``).
    progress
        Show a progress bar over replicates.

    Returns
    -------
    DesignEvaluation

    Raises
    ------
    InputError
        No design, a design with fewer than two stations, repeated names,
        ``replicates`` < 1, no density, an unknown zone.
    MissingDependencyError
        ``workers`` or ``scheduler`` without dask installed.
    ComputationError
        An unreachable scheduler.

    Examples
    --------
    >>> import numpy as np
    >>> from trapscape.detection import DetectionParams
    >>> xy = np.array([(x, y) for x in range(0, 8000, 2000) for y in range(0, 8000, 2000)])
    >>> res = evaluate_designs([Design("grid", xy, np.full(16, 60.0))],
    ...     DetectionParams(sigma=1500, lambda0=0.05), density=40.0,
    ...     replicates=2, seed=1)
    >>> list(res.summary["parameter"])
    ['D', 'lambda0', 'sigma']
    """
    designs = list(designs)
    _check_inputs(designs, replicates, workers, batch_size)
    truth = _make_truth(
        params, density, detector, model, occasion_days, zones, habitat, max_mask_points
    )
    masks = {d.name: _mask_for(d, truth) for d in designs}
    truths = {d.name: truth.true_values(masks[d.name]) for d in designs}
    expected = {d.name: _expected_nr(d, masks[d.name], truth) for d in designs}
    tasks = [
        _Task(d, masks[d.name], truth, int(seed), batch)
        for d in designs
        for batch in _batches(int(replicates), batch_size)
    ]
    t0 = time.perf_counter()
    records = _run_tasks(tasks, workers=workers, scheduler=scheduler, progress=progress)
    summary, reps = _summarise(records, designs, truths, expected)
    logger.info(
        "Evaluated %d designs x %d replicates in %.1f s",
        len(designs),
        replicates,
        time.perf_counter() - t0,
    )
    settings = _settings(truth, replicates=replicates, seed=seed)
    settings.update(workers=workers, scheduler=scheduler)
    return DesignEvaluation(summary=summary, replicates=reps, settings=settings)


def _batches(replicates: int, size: int) -> list[tuple[int, ...]]:
    """Replicate numbers ``0..replicates-1`` in consecutive batches of ``size``."""
    return [
        tuple(range(s, min(s + size, replicates))) for s in range(0, replicates, size)
    ]


def _settings(truth: _Truth, *, replicates: int, seed: int) -> dict[str, Any]:
    """The settings recorded with the result (JSON-ready)."""
    dens = truth.density
    return {
        "replicates": int(replicates),
        "seed": int(seed),
        "model": truth.model,
        "detector": truth.detector,
        "occasion_days": truth.occasion_days,
        "detectfn": truth.params.detectfn,
        "density_per_100km2": dict(dens) if isinstance(dens, Mapping) else dens,
        "method": "simulate and refit (secrdesign, Efford 2024)",
    }


def _make_truth(
    params: DetectionParams,
    density: float | Mapping[str, float] | None,
    detector: str,
    model: str,
    occasion_days: float | None,
    zones: Any,
    habitat: Any,
    max_mask_points: int,
) -> _Truth:
    pc = ProblemCollector()
    dens = params.density_per_100km2 if density is None else density
    if dens is None:
        pc.add(
            "No true density: give density= (animals per 100 km2, or per zone) or "
            "detection parameters with density_per_100km2."
        )
    elif isinstance(dens, Mapping):
        bad = {k: v for k, v in dens.items() if not (float(v) >= 0)}
        if bad or not any(float(v) > 0 for v in dens.values()):
            pc.add(f"density per zone must be >= 0 with one > 0, got {dict(dens)}.")
        if zones is None:
            pc.add("A density per zone needs zones= to label the mask.")
    elif not float(dens) > 0:
        pc.add(f"density must be positive animals per 100 km2, got {dens!r}.")
    if model not in ("null", "zone"):
        pc.add(f"model must be 'null' or 'zone', got {model!r}.")
    if model == "zone" and zones is None:
        pc.add("model='zone' needs zones= (name -> polygon).")
    if detector not in ("proximity", "count"):
        pc.add(f"detector must be 'proximity' or 'count', got {detector!r}.")
    if detector == "count" and params.detectfn != "HHN":
        pc.add("Count detectors are simulated with detectfn 'HHN' only.")
    occ = float(params.occasion_days if occasion_days is None else occasion_days)
    if not occ > 0:
        pc.add(f"occasion_days must be positive, got {occasion_days!r}.")
    pc.raise_if_any()
    return _Truth(
        params=params,
        density=dens,  # type: ignore[arg-type]
        detector=detector,
        model=model,  # type: ignore[arg-type]
        occasion_days=occ,
        zones=zones,
        habitat=habitat,
        max_mask_points=int(max_mask_points),
    )


def _expected_nr(design: Design, mask: Mask, truth: _Truth) -> tuple[float, float]:
    """E[n] and E[r] of the design on its mask (Efford & Boulanger 2019)."""
    from .objectives import expected_counts

    dens = truth.density_at(mask) / 1e8
    en = er = 0.0
    for level in np.unique(dens):
        sel = dens == level
        if level <= 0:
            continue
        out = expected_counts(
            mask.xy[sel],
            design.traps_xy,
            design.days,
            truth.params,
            density=float(level),
            cell_area=mask.cell_area,
            detector=truth.detector,  # type: ignore[arg-type]
        )
        en += out["E_n"]
        er += out["E_r"]
    return float(en), float(er)
