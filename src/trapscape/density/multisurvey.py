"""Sessions from surveys: several surveys, or one cut into periods, fitted jointly.

The bridge between :class:`trapscape.survey.Survey` objects and
:func:`trapscape.density.multisession.fit_sessions`:

* :func:`split_survey` cuts one survey whose deployments span several
  periods (years, seasons) into one survey per period: deployments are
  clipped to the period, sightings kept when taken within it;
* :func:`survey_sessions` builds each session's capture history and mask
  with the rules of the single-survey fit (:func:`fit_survey`): the same
  :func:`capture_history` (``occasion_days``, ``detector``, species,
  malfunctions removed) and the same mask maker (buffer 4 x the sigma
  guess, spacing sigma / 2 capped at ``max_mask_points``, clipped to the
  habitat).  The sigma guess is the RPSV pooled over the sessions, as
  :func:`trapscape.density.sessions_io.read_sessions` uses, because the
  sessions share sigma;
* :func:`fit_session_models` fits a list of density models (the one call
  behind ``trapscape sessions`` and the ``sessions`` step of ``trapscape
  run``) and :func:`model_table` ranks them by AIC.

References
----------
Efford, M. G. (2024) secr: multi-session models (vignette
``secr-multisession``).
"""

from __future__ import annotations

import datetime
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from .. import validation as V
from .._memory import DEFAULT_BUDGET_GB
from ..errors import ComputationError, InputError
from .data import DetectFn, Detector, OccasionModel, capture_history
from .multisession import MultiSessionFit, Session, fit_sessions
from .sessions_io import _pooled_rpsv
from .survey import _MaskMaker

if TYPE_CHECKING:
    from ..survey import Survey

__all__ = [
    "SessionModels",
    "fit_session_models",
    "model_table",
    "session_tables",
    "session_windows",
    "split_survey",
    "survey_sessions",
    "trend_table",
]

DateLike: TypeAlias = "str | datetime.date | pd.Timestamp"


def _day(value: DateLike, what: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        ts = pd.NaT
    if pd.isna(ts):
        raise InputError(f"{what}: {value!r} is not a date (use YYYY-MM-DD).")
    return ts.normalize()


def session_windows(
    survey: Survey, split: str | Mapping[str, Sequence[DateLike]]
) -> dict[str, tuple[pd.Timestamp, pd.Timestamp]]:
    """Session name -> ``(first day, last day)`` of each period.

    ``split = "year"``: one session per calendar year in which a deployment
    worked (named ``"2019"``, ...); a mapping gives the windows by name as
    ``[first day, last day]`` (both days included).
    """
    if isinstance(split, str):
        if split != "year":
            raise InputError(
                f"sessions split = {split!r}: use 'year' or a table of date "
                "windows, e.g. windows = {{ '2019' = ['2019-01-01', '2019-03-31'] }}."
            )
        st = survey.stations
        first = int(st[V.SETUP].min().year)
        last = int(st[V.RETRIEVAL].max().year)
        return {
            str(y): (pd.Timestamp(y, 1, 1), pd.Timestamp(y, 12, 31))
            for y in range(first, last + 1)
            if bool(((st[V.SETUP].dt.year <= y) & (st[V.RETRIEVAL].dt.year >= y)).any())
        }
    out: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
    for name, window in split.items():
        if isinstance(window, (str, bytes)) or len(window) != 2:
            raise InputError(
                f"sessions window {name!r} = {window!r}: give [first day, last day]."
            )
        a = _day(window[0], f"sessions window {name!r}")
        b = _day(window[1], f"sessions window {name!r}")
        if b < a:
            raise InputError(
                f"sessions window {name!r}: the last day {b.date()} is before the "
                f"first day {a.date()}."
            )
        out[str(name)] = (a, b)
    return out


def _like(ts: pd.Timestamp, series: pd.Series) -> pd.Timestamp:
    """``ts`` in the time zone of ``series`` (naive stays naive)."""
    tz = getattr(series.dt, "tz", None)
    return ts.tz_localize(tz) if tz is not None and ts.tzinfo is None else ts


def split_survey(
    survey: Survey, split: str | Mapping[str, Sequence[DateLike]]
) -> dict[str, Survey]:
    """One survey per period (see :func:`session_windows`), in time order.

    Each deployment is clipped to the period (setup and retrieval moved to
    its first day 00:00 and the day after its last day 00:00); deployments
    outside it are left out, and so are sightings taken outside it.

    Raises
    ------
    InputError
        A period without any working deployment (named), or fewer than two
        periods.
    """
    windows = session_windows(survey, split)
    out: dict[str, Survey] = {}
    st, si = survey.stations, survey.sightings
    for name, (first, last) in sorted(windows.items(), key=lambda kv: kv[1][0]):
        start = _like(first, st[V.SETUP])
        end = _like(last + pd.Timedelta(days=1), st[V.SETUP])
        keep = (st[V.SETUP] < end) & (st[V.RETRIEVAL] > start)
        if not bool(keep.any()):
            raise InputError(
                f"session {name!r} ({first.date()} to {last.date()}): no deployment "
                "worked in this period; change or remove the window."
            )
        part = st[keep].copy()
        part[V.SETUP] = part[V.SETUP].clip(lower=start)
        part[V.RETRIEVAL] = part[V.RETRIEVAL].clip(upper=end)
        deps = set(part[V.DEPLOYMENT_ID].astype(str))
        t = si[V.TIMESTAMP]
        in_window = (t >= _like(start, t)) & (t < _like(end, t))
        sight = si[in_window & si[V.DEPLOYMENT_ID].astype(str).isin(deps)].copy()
        probs = survey.problems
        if V.DEPLOYMENT_ID in probs.columns:
            probs = probs[probs[V.DEPLOYMENT_ID].astype(str).isin(deps)].copy()
        out[name] = replace(
            survey, stations=part, sightings=sight, problems=probs, name=name
        )
    if len(out) < 2:
        raise InputError(
            f"sessions split gives {len(out)} session(s) ({', '.join(out)}); a "
            "multi-session fit needs at least two periods with deployments."
        )
    return out


def survey_sessions(
    surveys: Mapping[str, Survey],
    *,
    covariates: Mapping[str, Mapping[str, float]] | None = None,
    occasion_days: float = 1.0,
    detector: Detector = "proximity",
    species: str | None = None,
    buffer: float | None = None,
    spacing: float | None = None,
    max_mask_points: int = 5000,
    independence_minutes: float = 30.0,
    max_memory_gb: float | None = DEFAULT_BUDGET_GB,
) -> list[Session]:
    """Sessions (capture history, mask, covariates) from surveys, in the given order.

    Parameters
    ----------
    surveys
        Session name -> survey (one CRS in metres).
    covariates
        Session name -> numeric session covariates (e.g. ``{"prey": 0.8}``).
    occasion_days, detector, species, independence_minutes, max_memory_gb
        As for :func:`trapscape.density.fit_survey` (the same
        :func:`capture_history`).
    buffer, spacing, max_mask_points
        Mask settings as for :func:`fit_survey`; the default buffer is 4 x
        the sigma guess pooled over the sessions.

    Raises
    ------
    ComputationError
        A session in which no animal was detected (named).
    """
    covs = dict(covariates or {})
    hists = {}
    for name, sv in surveys.items():
        ch = capture_history(
            sv,
            occasion_days=occasion_days,
            detector=detector,
            species=species,
            independence_minutes=independence_minutes,
            max_memory_gb=max_memory_gb,
        )
        if ch.n == 0:
            raise ComputationError(
                f"Session {name!r} has no identified animal detected"
                + (f" ({species})" if species else "")
                + "; it cannot be fitted. Remove it from the sessions or check "
                "its sightings (individual_id) and period."
            )
        hists[name] = ch
    guess = _pooled_rpsv(list(hists.values()))
    out = []
    for name, sv in surveys.items():
        maker = _MaskMaker.for_survey(
            sv, "null", spacing, max_mask_points, max_memory_gb
        )
        mask = maker.build(hists[name].traps_xy, buffer=buffer, sigma_guess=guess)
        out.append(Session(name, hists[name], mask, dict(covs.get(name, {}) or {})))
    return out


@dataclass(frozen=True)
class SessionModels:
    """Multi-session density models fitted to the same sessions.

    Attributes
    ----------
    fits
        One :class:`MultiSessionFit` per density model, in the order asked.
    table
        :func:`model_table` of the fits (sorted by AIC).
    """

    fits: tuple[MultiSessionFit, ...]
    table: pd.DataFrame

    @property
    def best(self) -> MultiSessionFit:
        """The fit with the lowest AIC."""
        return self.fits[int(self.table.index[0])]

    @property
    def estimates(self) -> pd.DataFrame:
        """Every model's per-session estimates, with a ``model`` column."""
        return pd.concat(
            [f.estimates.assign(model=f.label) for f in self.fits],
            ignore_index=True,
        )

    @property
    def trends(self) -> pd.DataFrame:
        """:func:`trend_table` of the fits."""
        return trend_table(self.fits)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: model label (``D~1 lambda0~1 sigma~1``) -> its fit's summary."""
        return {f.label: f.to_dict() for f in self.fits}


def fit_session_models(
    sessions: Sequence[Session],
    *,
    density: str | Sequence[str] = ("~1", "~session"),
    detectfn: DetectFn = "HHN",
    occasion_model: OccasionModel = "auto",
    lambda0: str | Sequence[str] | None = None,
    g0: str | Sequence[str] | None = None,
    sigma: str | Sequence[str] = "~1",
    **options: Any,
) -> SessionModels:
    """Fit every density x detection model to the sessions and rank them by AIC.

    Parameters
    ----------
    sessions
        The sessions (:func:`survey_sessions` or
        :func:`trapscape.density.sessions_io.read_sessions`).
    density
        One density formula or several (``"~1"``, ``"~session"``,
        ``"~Session"``, ``"~prey"``); repeats are fitted once.
    lambda0, g0, sigma
        One detection formula or several each (``"~1"``, ``"~session"``, ...,
        as in :func:`fit_sessions`); every combination with ``density`` is
        fitted.  ``lambda0`` goes with ``detectfn="HHN"``, ``g0`` with ``"HN"``.
    detectfn, occasion_model, options
        Passed to :func:`fit_sessions` for every model (e.g. ``sex=True``).

    Raises
    ------
    ComputationError
        A model that cannot be fitted (the message names it and the sessions).
    """
    models = [density] if isinstance(density, str) else list(density)
    if not models:
        raise InputError("no density model given; e.g. density = ['~1', '~Session'].")
    p0_name = "g0" if g0 is not None else "lambda0"
    p0_given = g0 if g0 is not None else lambda0
    p0_models: list[str | None] = [None]
    if p0_given is not None:
        p0_models = list(_formulas(p0_given, p0_name))
    fits = []
    for m, p0, sg in itertools.product(
        dict.fromkeys(models),
        dict.fromkeys(p0_models),
        dict.fromkeys(_formulas(sigma, "sigma")),
    ):
        detection: dict[str, Any] = {"sigma": sg}
        if p0 is not None:
            detection[p0_name] = p0
        try:
            fits.append(
                fit_sessions(
                    sessions,
                    density=m,
                    detectfn=detectfn,
                    occasion_model=occasion_model,
                    **detection,
                    **options,
                )
            )
        except ComputationError as err:
            names = ", ".join(s.name for s in sessions)
            what = f"D{m}" + "".join(f" {k}{v}" for k, v in detection.items())
            raise ComputationError(
                f"model {what!r} on sessions {names}: {err}"
            ) from err
    return SessionModels(fits=tuple(fits), table=model_table(fits))


def _formulas(value: str | Sequence[str], what: str) -> list[str]:
    """One formula or several, as a non-empty list."""
    out = [value] if isinstance(value, str) else list(value)
    if not out:
        raise InputError(f"no {what} model given; e.g. {what} = ['~1', '~session'].")
    return out


def model_table(fits: Sequence[MultiSessionFit]) -> pd.DataFrame:
    """Models sorted by AIC with dAIC and AIC weights (index: position in ``fits``).

    The AIC table of :func:`trapscape.density.surface.aic_table`.
    """
    from .surface import aic_table

    return aic_table(list(fits), labels=[f.label for f in fits])


def trend_table(fits: Sequence[MultiSessionFit]) -> pd.DataFrame:
    """One row per trend model: rate of change per session ``lambda`` with 95 % CI."""
    rows = [
        {
            "model": f.label,
            "lambda": f.trend["lambda"],
            "lcl": f.trend["lcl"],
            "ucl": f.trend["ucl"],
            "beta": f.trend.get("beta", math.nan),
            "se_beta": f.trend.get("se_beta", math.nan),
            "aic": f.aic,
        }
        for f in fits
        if f.trend
    ]
    cols = ["model", "lambda", "lcl", "ucl", "beta", "se_beta", "aic"]
    return pd.DataFrame(rows, columns=cols)


def session_tables(
    sessions: Sequence[Session],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The sessions as the long tables :func:`read_sessions` reads.

    Returns ``(traps, captures, covariates)``: ``session, trap_id, x, y,
    usage1..usageK`` (sessions with fewer occasions get usage 0 in the
    others, which adds nothing to the likelihood), ``session,
    individual_id, occasion, trap_id, sex`` (one row per detection) and
    ``session`` plus one column per session covariate.
    """
    k_max = max(s.history.usage.shape[1] for s in sessions)
    traps, caps = [], []
    for s in sessions:
        ch = s.history
        t = pd.DataFrame(
            {
                "session": s.name,
                "trap_id": list(ch.trap_ids) if ch.trap_ids else None,
                "x": ch.traps_xy[:, 0],
                "y": ch.traps_xy[:, 1],
            }
        )
        if not ch.trap_ids:
            t["trap_id"] = [str(j + 1) for j in range(len(t))]
        usage = np.zeros((len(t), k_max))
        usage[:, : ch.usage.shape[1]] = ch.usage
        for k in range(k_max):
            t[f"usage{k + 1}"] = usage[:, k]
        traps.append(t)
        ind = ch.individual_ids or tuple(str(i + 1) for i in range(ch.n))
        i_idx, k_idx, j_idx = np.nonzero(ch.captures)
        reps = ch.captures[i_idx, k_idx, j_idx].astype(int)
        c = pd.DataFrame(
            {
                "session": s.name,
                "individual_id": np.repeat(np.asarray(ind, dtype=object)[i_idx], reps),
                "occasion": np.repeat(k_idx + 1, reps),
                "trap_id": np.repeat(t["trap_id"].to_numpy()[j_idx], reps),
            }
        )
        if ch.sex is not None:
            c["sex"] = np.repeat(np.asarray(ch.sex, dtype=object)[i_idx], reps)
        caps.append(c)
    covs = pd.DataFrame([{"session": s.name, **dict(s.covariates)} for s in sessions])
    return (
        pd.concat(traps, ignore_index=True),
        pd.concat(caps, ignore_index=True),
        covs,
    )
