"""``trapscape validate``: read a survey, check everything, print a summary."""

from __future__ import annotations

import json
import warnings
from typing import Any

import click

from ..errors import TrapscapeError, TrapscapeWarning
from .options import SurveyInputs, survey_inputs

__all__ = ["cmd", "summarise"]


def summarise(survey: Any) -> dict[str, Any]:
    """Survey.summary() plus operating camera-days (from trapscape.effort when present)."""
    out = dict(survey.summary())
    days = None
    method = "span"
    try:
        from .. import effort

        op = effort.operation_matrix(survey, by="camera")
        days = float(op.sum(skipna=True).sum())
        method = "effort"
    except Exception:  # effort module absent or incomplete: fall back
        import pandas as pd

        st = survey.stations
        span = (st["retrieval"] - st["setup"]) / pd.Timedelta(days=1)
        days = float(span.clip(lower=0).sum())
    out["operating_days"] = round(days, 2)
    out["operating_days_method"] = method
    return out


def _human(s: dict[str, Any]) -> str:
    lines = [
        f"Survey:        {s['name']}",
        f"CRS:           {s['crs']}",
        f"Stations:      {s['stations']}",
        f"Cameras:       {s['cameras']} ({s['deployments']} deployments)",
        f"Period:        {s['first_setup']} to {s['last_retrieval']} "
        f"({s['span_days']} days)",
        f"Operating days: {s['operating_days']} camera-days"
        + (" (deployment spans)" if s["operating_days_method"] == "span" else ""),
        f"Malfunctions:  {s['malfunctions']}",
        f"Sightings:     {s['sightings']}",
        f"Species:       {len(s['species'])}"
        + (
            f" ({', '.join(s['species'][:8])}{', ...' if len(s['species']) > 8 else ''})"
            if s["species"]
            else ""
        ),
        f"Individuals:   {s['individuals']} ({s['identified_sightings']} identified "
        "sightings)",
    ]
    if s["boundaries"]:
        parts = ", ".join(f"{k}: {v}" for k, v in s["boundaries"].items())
        lines.append(f"Boundaries:    {parts}")
        if s.get("study_area_km2") is not None:
            lines.append(f"Study area:    {s['study_area_km2']} km2")
    else:
        lines.append("Boundaries:    none")
    return "\n".join(lines)


@click.command(name="validate")
@survey_inputs
@click.option(
    "--json", "as_json", is_flag=True, default=False, help="Print the summary as JSON."
)
def cmd(
    inputs: SurveyInputs,
    as_json: bool,
) -> None:
    """Check a survey and print what was read.

    PROJECT is a survey TOML file, a Camtrap DP datapackage.json or its
    folder; or give --stations (and --sightings, --boundaries).  Every problem
    is listed with its file, row and column; the exit status is 1 if any.
    With --json the summary (or the problems) is printed as JSON.
    """
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", TrapscapeWarning)
            survey = inputs.load()
            sessions = _sessions(inputs, survey)
    except TrapscapeError as err:
        if not as_json:
            raise
        problems = [
            {"message": p.message, "path": p.path, "row": p.row, "column": p.column}
            for p in getattr(err, "problems", ())
        ] or [
            {
                "message": str(err),
                "path": getattr(err, "path", None),
                "row": getattr(err, "row", None),
                "column": getattr(err, "column", None),
            }
        ]
        click.echo(
            json.dumps({"ok": False, "problems": problems}, indent=2, default=str)
        )
        click.get_current_context().exit(1)
    said = _pass_on(caught)
    summary = summarise(survey)
    if sessions:
        summary["sessions"] = sessions
    if as_json:
        click.echo(
            json.dumps({"ok": True, **summary, "warnings": said}, indent=2, default=str)
        )
    else:
        click.echo(_human(summary))
        if sessions:
            shown = ", ".join(
                f"{k} ({v['stations']} stations, {v['individuals']} individuals)"
                for k, v in sessions.items()
            )
            click.echo(f"Sessions:      {shown}")
        n = len(said)
        click.echo(
            "OK: no problems found"
            + (f" ({n} warning{'s' if n > 1 else ''} above)." if n else ".")
        )


def _sessions(inputs: SurveyInputs, survey: Any) -> dict[str, dict[str, int]]:
    """A project's [sessions] surveys, read and checked (name -> counts)."""
    if not inputs.toml or inputs.project is None:
        return {}
    from ..project import load_project, read_session_surveys

    section = load_project(inputs.project, read=False).params.get("sessions") or {}
    if not section:
        return {}
    read = read_session_surveys(section, survey, where=str(inputs.project))
    out = {}
    for name, (sv, _covs) in read.items():
        s = sv.summary()
        out[name] = {"stations": s["stations"], "individuals": s["individuals"]}
    return out


def _pass_on(caught: list[warnings.WarningMessage]) -> list[str]:
    """Print trapscape's warnings (one ``Warning:`` line each); re-issue others."""
    said = []
    for w in caught:
        if issubclass(w.category, TrapscapeWarning):
            said.append(str(w.message))
            click.echo(f"Warning: {w.message}", err=True)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return said
