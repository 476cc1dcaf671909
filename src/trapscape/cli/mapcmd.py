"""``trapscape map``: the interactive map of a survey (and of a finished run)."""

from __future__ import annotations

import inspect
from pathlib import Path

import click

from .._output import check_outputs, staged_file
from .options import (
    SurveyInputs,
    html_out_opt,
    lang_opt,
    overwrite_opt,
    project_lang,
    project_step,
    results_opt,
    survey_inputs,
)


@click.command(name="map")
@survey_inputs
@results_opt(
    required=False, help="Output folder of `trapscape run` whose layers to show."
)
@html_out_opt
@click.option(
    "--tiles",
    default=None,
    help="Base tiles, e.g. OpenStreetMap (needs internet). "
    "Default: none; the survey layers carry the map.",
)
@click.option(
    "--offline",
    is_flag=True,
    default=False,
    help="Kept for compatibility: Leaflet (the xstatic-leaflet package) is always "
    "inlined, so the file works without internet.",
)
@lang_opt
@overwrite_opt
def cmd(
    inputs: SurveyInputs,
    results: Path | None,
    out: Path,
    tiles: str | None,
    offline: bool,
    lang: str | None,
    overwrite: bool,
) -> None:
    """Write an interactive map (Leaflet HTML) of a survey.

    Without --results it shows stations (size: trap-nights, colour:
    independent detections, as in `trapscape run`) and the
    boundaries; with --results DIR (a `trapscape run` output) it adds coverage,
    pdot, home ranges, corridors, hotspots, proposed stations and the
    candidate reserve.  A public run gives a public map.

    Example: trapscape map survey.toml --results results --out map.html --offline
    """
    from ..effort import effort_report
    from ..pipeline import load_results, station_table
    from ..present.maps import save_map, survey_map
    from ..products import RunProducts

    check_outputs(out.parent, [out.name], overwrite=overwrite)
    survey = inputs.load()
    cov_sec, species = project_step(inputs.project, "coverage")
    eff_sec, _ = project_step(inputs.project, "effort")
    if species:  # the target species, as `trapscape run` counts it
        survey = survey.species_subset(species)
    prods = load_results(results, crs=survey.crs) if results is not None else {}
    public = bool(prods.pop("public", False))
    for k in ("records", "notes"):
        prods.pop(k, None)
    products = RunProducts(**prods)
    if public:
        from ..privacy import generalise_survey

        shown = generalise_survey(survey)
    else:
        shown = survey
        if products.stations is None:
            # the effort options of the project, as `trapscape run` uses them
            names = set(inspect.signature(effort_report).parameters) - {"survey"}
            opts = {k: v for k, v in {**cov_sec, **eff_sec}.items() if k in names}
            table = station_table(survey, effort_report(survey, **opts))
            products = products.copy(stations=table)
    m = survey_map(
        shown,
        products=products,
        tiles=tiles,
        public=public,
        lang=project_lang(inputs.project, lang),
    )
    with staged_file(out, overwrite=overwrite) as tmp:
        save_map(m, tmp)  # offline by default
    click.echo(f"Wrote {out}")
