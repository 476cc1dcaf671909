"""``trapscape report``: re-write the transboundary brief from a finished run."""

from __future__ import annotations

from pathlib import Path

import click

from .._output import check_outputs, staged_file
from .options import (
    SurveyInputs,
    html_out_opt,
    lang_opt,
    overwrite_opt,
    project_lang,
    results_opt,
    survey_inputs,
)


@click.command(name="report")
@survey_inputs
@results_opt(required=True, help="Output folder of `trapscape run`.")
@html_out_opt
@click.option("--title", default=None, help="Report title.")
@lang_opt
@overwrite_opt
def cmd(
    inputs: SurveyInputs,
    results: Path,
    out: Path,
    title: str | None,
    lang: str | None,
    overwrite: bool,
) -> None:
    """Write report.html (self-contained, printable) from a `trapscape run` folder.

    `trapscape run` already writes report.html; use this to re-title it or to
    rebuild it after editing the run's tables.

    Example: trapscape report survey.toml --results results --out brief.html
    """
    from ..pipeline import load_results
    from ..present.report import write_report
    from ..products import RunProducts

    check_outputs(out.parent, [out.name], overwrite=overwrite)
    survey = inputs.load()
    prods = load_results(results, crs=survey.crs)
    public = bool(prods.pop("public", False))
    records = prods.pop("records", {})
    notes = prods.pop("notes", [])
    if public:
        from ..privacy import generalise_survey

        survey = generalise_survey(survey)
        prods.pop("stations", None)
        prods.pop("ranges", None)
    with staged_file(out, overwrite=overwrite) as tmp:
        write_report(
            survey,
            tmp,
            products=RunProducts(**prods),
            records=records,
            notes=notes,
            public=public,
            title=title,
            lang=project_lang(inputs.project, lang),
        )
    click.echo(f"Wrote {out}")
