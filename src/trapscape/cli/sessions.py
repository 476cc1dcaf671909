"""``trapscape sessions``: multi-session SCR density (several surveys jointly)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from .._output import check_outputs, staged_outputs
from .options import EXISTING_FILE, library_opt, out_dir_opt, overwrite_opt

__all__ = ["cmd", "model_table"]

#: what the command writes into --out
OUTPUTS = ("sessions",)

_FIT = "trapscape.density.multisession:fit_sessions"


@click.command(name="sessions")
@click.option(
    "--traps",
    type=EXISTING_FILE,
    required=True,
    help="CSV: session, trap_id, x, y, usage (or usage1, usage2, ...) in days.",
)
@click.option(
    "--captures",
    type=EXISTING_FILE,
    required=True,
    help="CSV: session, individual_id, occasion, trap_id [, sex].",
)
@click.option(
    "--covariates",
    type=EXISTING_FILE,
    default=None,
    help="CSV: session and one column per session covariate (e.g. Prey).",
)
@click.option(
    "--masks",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="Folder with mask_<session>.csv (x, y) per session; others are built.",
)
@click.option(
    "--model",
    "models",
    multiple=True,
    default=("~1", "~session"),
    show_default=True,
    help="Density model: ~1, ~session, ~Session (trend) or ~COV[+COV]; repeat "
    "to compare by AIC.",
)
@click.option(
    "--lambda0",
    "--g0",
    "p0_models",
    multiple=True,
    default=("~1",),
    show_default=True,
    help="Model of lambda0 (g0 with --detectfn HN) over sessions: ~1 (shared), "
    "~session, ~Session or ~COV; repeat to compare (every combination is fitted).",
)
@click.option(
    "--sigma",
    "sigma_models",
    multiple=True,
    default=("~1",),
    show_default=True,
    help="Model of sigma over sessions, as --lambda0.",
)
@click.option(
    "--sex",
    is_flag=True,
    default=False,
    help="lambda0/g0 and sigma by sex (captures column 'sex', F/M; a known-class "
    "mixture as `trapscape density --model sex`), sex difference shared by sessions.",
)
@library_opt(
    "--detectfn",
    of=_FIT,
    use=True,
    type=click.Choice(["HHN", "HN"]),
    help="Hazard half-normal (lambda0) or half-normal (g0).",
)
@library_opt(
    "--occasion-model",
    of=_FIT,
    use=True,
    type=click.Choice(["auto", "bernoulli", "binomial"]),
    help="Bernoulli per occasion (secr fastproximity = FALSE) or collapsed binomial.",
)
@click.option(
    "--buffer", type=float, default=None, help="Mask buffer (m) without --masks."
)
@click.option(
    "--spacing", type=float, default=None, help="Mask spacing (m) without --masks."
)
@out_dir_opt
@overwrite_opt
def cmd(
    traps: Path,
    captures: Path,
    covariates: Path | None,
    masks: Path | None,
    models: tuple[str, ...],
    p0_models: tuple[str, ...],
    sigma_models: tuple[str, ...],
    sex: bool,
    detectfn: str,
    occasion_model: str,
    buffer: float | None,
    spacing: float | None,
    out: Path,
    overwrite: bool,
) -> None:
    """Density of several sessions (years, reserves) fitted jointly.

    Density by session, trend or session covariates; detection parameters
    shared or by session (secr's multi-session models). Every combination of
    --model, --lambda0 and --sigma is fitted. Writes into OUT:
    sessions/models.csv (logLik, AIC, AICc, dAIC per model, secr-style
    names such as "D~session lambda0~1 sigma~1"),
    sessions/estimates.csv (D per 100 km2 per session with SE, RSE and 95% CI,
    lambda0/g0, sigma; every model), sessions/fits.json (betas, covariance,
    trend) and, with a ~Session model, sessions/trend.csv (rate of change per
    session with 95% CI).
    """
    from ..density.multisurvey import fit_session_models
    from ..density.sessions_io import read_sessions
    from ..errors import TrapscapeWarning
    from ..pipeline.writers import write_sessions

    out = Path(out)
    check_outputs(out, OUTPUTS, overwrite=overwrite)
    sessions = read_sessions(
        traps,
        captures,
        covariates=covariates,
        masks=masks,
        buffer=buffer,
        spacing=spacing,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrapscapeWarning)
        fitted = fit_session_models(
            sessions,
            density=list(models),
            detectfn=detectfn,  # type: ignore[arg-type]
            occasion_model=occasion_model,  # type: ignore[arg-type]
            lambda0=None if detectfn == "HN" else list(p0_models),
            g0=list(p0_models) if detectfn == "HN" else None,
            sigma=list(sigma_models),
            sex=sex,
        )
    for w in caught:
        if issubclass(w.category, TrapscapeWarning):
            click.echo(f"Warning: {w.message}", err=True)
        else:  # pragma: no cover - passed on unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    with staged_outputs(out, OUTPUTS, overwrite=overwrite) as tmp:
        write_sessions(tmp, fitted)
    best = fitted.best
    dens = best.estimates[best.estimates["parameter"] == "D"]
    shown = "; ".join(
        f"{r['session']} {r['estimate']:.3g} ({r['lcl']:.3g}-{r['ucl']:.3g}, "
        f"RSE {100 * r['rse']:.0f}%)"
        for _, r in dens.iterrows()
    )
    trend = ""
    if best.trend:
        t = best.trend
        trend = f"; trend {t['lambda']:.3g} per session ({t['lcl']:.3g}-{t['ucl']:.3g})"
    click.echo(
        f"{len(sessions)} sessions, best by AIC: {best.label} "
        f"({best.occasion_model} occasions): {shown} per 100 km2{trend}. "
        f"Results in {out}",
        err=True,
    )


def model_table(fits: list[Any]) -> Any:
    """Models sorted by AIC (:func:`trapscape.density.multisurvey.model_table`)."""
    from ..density.multisurvey import model_table as table

    return table(fits)
