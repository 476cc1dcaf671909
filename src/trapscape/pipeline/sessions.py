"""The ``sessions`` step of ``trapscape run``: several surveys fitted jointly.

Runs only when the project file has a ``[sessions]`` section.  Each
session's capture history and mask are built by
:func:`trapscape.density.survey_sessions` with the ``[density]`` settings
(occasion length, detector, mask buffer and spacing, occasion model),
which ``[sessions]`` may override; the density models of ``[sessions]
density`` are fitted by :func:`trapscape.density.fit_session_models` and
written by :func:`trapscape.pipeline.writers.write_sessions`, the writer of
``trapscape sessions``.  Nothing is written unless every session could be
built and every model fitted.
"""

from __future__ import annotations

from typing import Any

from .context import _Context, _Skip
from .writers import write_sessions

__all__: list[str] = []

#: [density] keys the sessions take over (a [sessions] key of the same name wins)
_MASK_KEYS = (
    "occasion_days",
    "detector",
    "species",
    "buffer",
    "spacing",
    "max_mask_points",
    "independence_minutes",
    "max_memory_gb",
)
_FIT_KEYS = ("detectfn", "occasion_model")
#: [sessions] keys that are not fit_sessions options
_OWN_KEYS = frozenset(
    {"density", "split", "windows", "covariates", "survey", *_MASK_KEYS}
)


def session_settings(
    density: dict[str, Any], sessions: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(survey_sessions keywords, fit_session_models keywords) of a run.

    The one rule: a [sessions] key wins over the [density] key of the same
    name; other [density] keys (the single-survey model, surfaces) do not
    apply to sessions.
    """
    build = {k: density[k] for k in _MASK_KEYS if k in density}
    build.update({k: sessions[k] for k in _MASK_KEYS if k in sessions})
    fit = {k: density[k] for k in _FIT_KEYS if k in density}
    fit.update({k: v for k, v in sessions.items() if k not in _OWN_KEYS})
    fit["density"] = sessions.get("density", ["~1", "~session"])
    return build, fit


def _step_sessions(ctx: _Context) -> str:
    from ..density.multisurvey import fit_session_models, survey_sessions
    from ..project import read_session_surveys

    cfg = dict(ctx.params.get("sessions") or {})
    if not cfg:
        raise _Skip("no [sessions] in the project file")
    parts = read_session_surveys(cfg, ctx.survey)
    build, fit = session_settings(dict(ctx.params.get("density") or {}), cfg)
    sessions = survey_sessions(
        {n: sv for n, (sv, _) in parts.items()},
        covariates={n: c for n, (_, c) in parts.items()},
        **build,
    )
    models = fit_session_models(sessions, **fit)
    ctx.products.sessions = models
    ctx.records["sessions"].outputs.extend(
        write_sessions(ctx.stage, models, None if ctx.public else sessions)
    )
    best = models.best
    d = best.estimates[best.estimates["parameter"] == "D"]
    shown = ", ".join(
        f"{s} {float(v):.3g}" for s, v in zip(d["session"], d["estimate"], strict=True)
    )
    trend = ""
    tr = models.trends
    if len(tr):
        r = tr.iloc[0]
        trend = (
            f"; trend {float(r['lambda']):.3g} per session "
            f"({float(r['lcl']):.3g}-{float(r['ucl']):.3g})"
        )
    return f"{len(sessions)} sessions, best {best.label}: {shown} per 100 km2{trend}"
