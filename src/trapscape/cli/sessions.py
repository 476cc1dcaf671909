"""``trapscape sessions``: multi-session SCR density (several surveys jointly)."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path
from typing import Any

import click

from .._output import check_outputs, staged_outputs
from .options import EXISTING_FILE, library_opt, out_dir_opt, overwrite_opt

__all__ = ["cmd"]

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
    lambda0/g0, sigma; every model) and sessions/fits.json (betas, covariance,
    trend).
    """
    import pandas as pd

    from ..density.multisession import fit_sessions
    from ..density.sessions_io import read_sessions
    from ..errors import TrapscapeWarning
    from ..pipeline.writers import write_csv, write_json

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
    fits: list[Any] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrapscapeWarning)
        hn = detectfn == "HN"
        for m, p0, sg in itertools.product(
            dict.fromkeys(models), dict.fromkeys(p0_models), dict.fromkeys(sigma_models)
        ):
            fits.append(
                fit_sessions(
                    sessions,
                    density=m,
                    detectfn=detectfn,  # type: ignore[arg-type]
                    occasion_model=occasion_model,  # type: ignore[arg-type]
                    lambda0=None if hn else p0,
                    g0=p0 if hn else None,
                    sigma=sg,
                    sex=sex,
                )
            )
    for w in caught:
        if issubclass(w.category, TrapscapeWarning):
            click.echo(f"Warning: {w.message}", err=True)
        else:  # pragma: no cover - passed on unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    table = model_table(fits)
    est = pd.concat(
        [f.estimates.assign(model=f.label) for f in fits], ignore_index=True
    )
    with staged_outputs(out, OUTPUTS, overwrite=overwrite) as tmp:
        write_csv(tmp, table, "sessions/models.csv")
        write_csv(tmp, est, "sessions/estimates.csv")
        write_json(tmp, {f.label: f.to_dict() for f in fits}, "sessions/fits.json")
    best = fits[int(table.index[0])]
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
    """Models sorted by AIC with dAIC and AIC weights (index: position in ``fits``).

    Labelled secr-style (``MultiSessionFit.label``), the table of
    :func:`trapscape.density.surface.aic_table`.
    """
    from ..density.surface import aic_table

    return aic_table(fits, labels=[f.label for f in fits])
