"""``trapscape plan``: propose new camera-trap sites for the next season."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .._output import check_outputs, staged_outputs
from .options import (
    EXISTING_FILE,
    EXISTING_PATH,
    SurveyInputs,
    cell_size_opt,
    dask_opts,
    detection_from_options,
    detection_opts,
    grouped,
    library_opt,
    max_memory_opt,
    out_dir_opt,
    overwrite_opt,
    progress_enabled,
    read_layer,
    read_toml,
    region_arg,
    survey_inputs,
)

__all__ = ["OUTPUTS", "cmd"]

#: what the command writes into --out: the plan step's files of
#: ``trapscape run`` (layers of results.gpkg, tables and GPX in plan/)
OUTPUTS = ("results.gpkg", "plan")
ALL_OUTPUTS = OUTPUTS


def _pairs(values: tuple[str, ...], what: str, cast: type) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in values:
        name, sep, num = v.partition("=")
        if not sep or not name.strip():
            raise click.BadParameter(
                f"{v!r}: expected NAME=VALUE, e.g. coverage=1.", param_hint=what
            )
        try:
            out[name.strip()] = cast(num)
        except ValueError as err:
            raise click.BadParameter(
                f"{v!r}: {num!r} is not a number.", param_hint=what
            ) from err
    return out


def check_zone_names(
    given: Any, known: Any, *, option: str, where: str = "the zones layer"
) -> None:
    """Refuse zone names not among ``known``, with a "did you mean" hint.

    Raises
    ------
    InputError
        Naming every unknown zone, the closest known name (difflib) and the
        zones present.
    """
    import difflib

    from ..errors import ProblemCollector

    known = sorted({str(k) for k in known})
    pc = ProblemCollector()
    for name in given:
        if str(name) in known:
            continue
        close = difflib.get_close_matches(str(name), known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        pc.add(
            f"{option} {name!r}: no zone of that name in {where}; {hint}"
            f"zones present: {', '.join(known) or '(none)'}."
        )
    pc.raise_if_any()


def _project_sections(inputs: SurveyInputs) -> tuple[dict[str, Any], dict[str, Any]]:
    """[plan] and [detection] sections of a project TOML (empty otherwise)."""
    project = inputs.project
    if project is None or not inputs.toml:
        return {}, {}
    doc = read_toml(project)
    plan_sec = dict(doc.get("plan", {}) or {})
    det_sec = dict(doc.get("detection", {}) or {})
    return plan_sec, det_sec


@dataclass(frozen=True)
class SiteConstraints:
    """Where new cameras may go: the site options of ``trapscape plan``."""

    candidates_path: Path | None
    exclude_paths: tuple[Path, ...]
    settlements_path: Path | None
    settlement_buffer: float  # the option's default: candidate_sites' own
    access_path: Path | None
    max_access_distance: float | None

    @property
    def constrained(self) -> bool:
        """Whether any constraint is given (else the planner builds its grid)."""
        return bool(
            self.candidates_path
            or self.exclude_paths
            or self.settlements_path
            or self.access_path
            or self.max_access_distance is not None
        )

    def candidates(self, survey: Any, kw: dict[str, Any]) -> Any:
        """Candidate sites under these constraints (None: no constraint)."""
        from .. import planning
        from .._steps import defaults

        if not self.constrained:
            return None
        lib = defaults("plan")  # the library's defaults, written once in planning.plan
        return planning.candidate_sites(
            survey,
            spacing=float(kw.get("spacing", lib["spacing"])),
            candidates=(
                None
                if self.candidates_path is None
                else read_layer(self.candidates_path, None, "candidates", survey.crs)
            ),
            exclude=[
                read_layer(p, None, "exclude", survey.crs) for p in self.exclude_paths
            ],
            settlements=(
                None
                if self.settlements_path is None
                else read_layer(self.settlements_path, None, "settlements", survey.crs)
            ),
            settlement_buffer=self.settlement_buffer,
            access=(
                None
                if self.access_path is None
                else read_layer(self.access_path, None, "access", survey.crs)
            ),
            max_access_distance=self.max_access_distance,
            min_spacing=(
                0.0
                if kw.get("move")
                else float(kw.get("min_spacing", lib["min_spacing"]))
            ),
            zone_budget=kw.get("zone_budget"),
            region=kw.get("region", lib["region"]),
        )


#: the site options, given to the command as one ``sites`` object
site_constraint_opts = grouped(
    "sites",
    SiteConstraints,
    click.option(
        "--candidates",
        "candidates_path",
        type=EXISTING_PATH,
        help="Candidate sites (points) instead of a grid.",
    ),
    click.option(
        "--exclude",
        "exclude_paths",
        multiple=True,
        type=EXISTING_PATH,
        help="Polygons where cameras may not go (water, fields), repeatable.",
    ),
    click.option(
        "--settlements",
        "settlements_path",
        type=EXISTING_PATH,
        help="Settlements (points or polygons) to keep away from.",
    ),
    library_opt(
        "--settlement-buffer",
        of="trapscape.planning:candidate_sites",
        use=True,
        type=float,
        help="Minimum distance to --settlements in metres.",
    ),
    click.option(
        "--access",
        "access_path",
        type=EXISTING_PATH,
        help="Roads/tracks (lines) the sites must be near.",
    ),
    click.option(
        "--max-access-distance",
        type=float,
        default=None,
        help="Maximum distance to --access in metres.",
    ),
)


@dataclass(frozen=True)
class DesignEvaluationOptions:
    """The design-evaluation options of ``trapscape plan`` (``--evaluate R``)."""

    evaluate: int | None
    design_paths: tuple[Path, ...]
    workers: int | None
    scheduler: str | None

    def replicates(self, project_value: Any) -> int:
        """R: ``--evaluate``, else ``[plan] evaluate_replicates`` (default 0)."""
        return int(self.evaluate if self.evaluate is not None else project_value or 0)

    def run(
        self,
        survey: Any,
        result: Any,
        params: Any,
        *,
        replicates: int,
        seed: int,
        density: float | None,
        progress: bool,
    ) -> Any:
        """The evaluation (:func:`trapscape.planning.evaluate_plan`); None if R = 0."""
        from .. import planning
        from ..errors import InputError
        from ..io import read_stations

        if replicates <= 0:
            if self.design_paths or (self.workers, self.scheduler) != (None, None):
                raise InputError(
                    "--design, --workers and --scheduler apply to the design "
                    "evaluation; give --evaluate R (replicates per design) too."
                )
            return None
        designs = {
            p.stem: read_stations(p, crs=survey.crs).stations for p in self.design_paths
        }
        return planning.evaluate_plan(
            survey,
            result,
            params,
            replicates=replicates,
            seed=seed,
            density=density,
            designs=designs,
            workers=self.workers,
            scheduler=self.scheduler,
            progress=progress,
        )


#: ``--evaluate``, ``--design``, ``--workers`` and ``--scheduler``, given to
#: the command as one ``evaluation_opts`` object
evaluation_opts = grouped(
    "evaluation_opts",
    DesignEvaluationOptions,
    click.option(
        "--evaluate",
        "evaluate",
        type=click.IntRange(min=0),
        default=None,
        metavar="R",
        help="Also evaluate the designs by simulation: R simulated surveys per "
        "design, each refitted (secrdesign's bias, RSE and CI coverage); writes "
        "plan/design_evaluation.csv and .json [default: [plan] "
        "evaluate_replicates, 0].",
    ),
    click.option(
        "--design",
        "design_paths",
        multiple=True,
        type=EXISTING_FILE,
        help="Another station file to evaluate with --evaluate (named by its "
        "file name), repeatable.",
    ),
    dask_opts("the --evaluate replicates"),
)


@click.command(name="plan")
@survey_inputs
@out_dir_opt
@library_opt(
    "--n-new",
    of="plan",
    type=click.IntRange(min=0),
    help="Number of new sites (default {default}).",
)
@library_opt(
    "--spacing",
    of="plan",
    type=float,
    help="Candidate grid spacing in metres (default {default}).",
)
@library_opt(
    "--min-spacing",
    of="plan",
    type=float,
    help="Minimum distance between stations in metres (default {default}).",
)
@click.option(
    "--objective",
    "objective",
    multiple=True,
    metavar="NAME=WEIGHT",
    help="Objective weight, repeatable: coverage, precision, border "
    "(default coverage=1 precision=1 border=0.5).",
)
@click.option(
    "--zone-budget",
    multiple=True,
    metavar="ZONE=N",
    help="Maximum new sites in a zone, repeatable (e.g. China=0).",
)
@library_opt(
    "--region",
    of="plan",
    metavar="NAME|FILE",
    help="Where to look for gaps and place sites: {default} (default), parks, "
    "study_area+parks, or a polygon file. Use study_area+parks when the park "
    "beyond the study area has few cameras.",
)
@detection_opts(density=True)
@click.option(
    "--hotspots",
    type=EXISTING_PATH,
    help="Border-crossing hotspots (lines/points with a score column), e.g. the "
    "results.gpkg of `trapscape corridors` (layer 'border_hotspots').",
)
@click.option(
    "--hotspots-layer",
    default=None,
    help="Layer of --hotspots (default: 'border_hotspots' when the file has it, "
    "else its first layer).",
)
@library_opt(
    "--score-column",
    of="plan",
    help="Score column of --hotspots (default {default}).",
)
@site_constraint_opts
@library_opt(
    "--threshold", of="plan", type=float, help="pdot threshold (default {default})."
)
@click.option(
    "--session-start", default=None, help="First day of the next session (YYYY-MM-DD)."
)
@click.option(
    "--session-days", type=float, default=None, help="Session length in days."
)
@click.option(
    "--move",
    type=click.IntRange(min=0),
    default=None,
    help="Also move this many existing stations.",
)
@click.option(
    "--seed", type=int, default=None, help="Seed for tie-breaking (default 0)."
)
@library_opt(
    "--detector",
    of="plan",
    type=click.Choice(["proximity", "count"]),
    help="Detector type for E[n]/E[r] (default {default}).",
)
@library_opt(
    "--existing-usage",
    of="plan",
    type=click.Choice(["session", "observed"]),
    help="Existing stations run the next session or keep their "
    "observed usage [default: {default}].",
)
@cell_size_opt
@max_memory_opt(
    "plan",
    ": a candidate set x mask too large for it is refused before it is "
    "built, naming a coarser --spacing (or --cell-size) [default: {default}].",
)
@evaluation_opts
@overwrite_opt
def cmd(
    inputs: SurveyInputs,
    out: Path,
    n_new: int | None,
    spacing: float | None,
    min_spacing: float | None,
    objective: tuple[str, ...],
    zone_budget: tuple[str, ...],
    region: str | None,
    detection_file: Path | None,
    lambda0: float | None,
    sigma: float | None,
    density: float | None,
    hotspots: Path | None,
    hotspots_layer: str | None,
    score_column: str | None,
    sites: SiteConstraints,
    threshold: float | None,
    session_start: str | None,
    session_days: float | None,
    move: int | None,
    seed: int | None,
    detector: str | None,
    existing_usage: str | None,
    cell_size: float | None,
    max_memory_gb: float | None,
    evaluation_opts: DesignEvaluationOptions,
    overwrite: bool,
) -> None:
    """Propose new camera sites that raise coverage, density precision and border watch.

    PROJECT is a survey TOML file (its [plan] section gives defaults for the
    options, with the keyword names of trapscape.planning.plan) or a Camtrap
    DP package; or give --stations. --region study_area+parks also fills the
    gaps in the parks beyond the study area (e.g. across a border).  Writes
    into --out the files of the plan step of ``trapscape run``: results.gpkg
    (layers proposed_stations, plan_candidates) and, in plan/,
    proposed_stations.csv (re-readable with --stations),
    proposed_stations.gpx (GPS waypoints), plan_summary.csv (before/after
    per objective and zone), plan_selection.csv (selection order and gains)
    and, with --move, removed_stations.csv.  With --evaluate R the current
    layout, the layout with the proposed stations and each --design file are
    simulated and refitted R times (planning.evaluate_plan), giving
    plan/design_evaluation.csv and plan/design_evaluation.json.
    """
    from tqdm.contrib.logging import logging_redirect_tqdm

    from .. import planning
    from .._steps import check_section, merge
    from ..pipeline.writers import write_design_evaluation, write_plan

    check_outputs(out, ALL_OUTPUTS, overwrite=overwrite)
    project = inputs.project
    plan_sec, det_sec = _project_sections(inputs)
    check_section("plan", plan_sec, str(project) if project is not None else None)
    survey = inputs.load()
    params = detection_from_options(
        detection_file,
        det_sec,
        lambda0=lambda0,
        sigma=sigma,
        density=density,
        require=True,
        base=project.parent if project is not None else None,
    )

    kw: dict[str, Any] = merge(
        plan_sec,
        {
            "n_new": n_new,
            "spacing": spacing,
            "min_spacing": min_spacing,
            "threshold": threshold,
            "session_start": session_start,
            "session_days": session_days,
            "move": move,
            "score_column": score_column,
            "detector": detector,
            "existing_usage": existing_usage,
            "cell_size": cell_size,
            "max_memory_gb": max_memory_gb,
        },
    )
    replicates = evaluation_opts.replicates(kw.pop("evaluate_replicates", 0))
    _objectives_and_budgets(kw, survey, objective, zone_budget)
    _seed_region_hotspots(
        kw,
        survey,
        project,
        seed=seed,
        region=region,
        hotspots=(hotspots, hotspots_layer),
    )
    candidates = sites.candidates(survey, kw)
    if candidates is not None:
        kw["candidates"] = candidates

    show = progress_enabled()
    with logging_redirect_tqdm():
        result = planning.plan(survey, params, progress=show, **kw)
        evaluation = evaluation_opts.run(
            survey,
            result,
            params,
            replicates=replicates,
            seed=int(kw["rng"]),
            density=kw.get("density"),
            progress=show,
        )

    # prune: a removed_stations.csv of an earlier run with --move goes
    with staged_outputs(out, ALL_OUTPUTS, overwrite=overwrite, prune=True) as tmp:
        write_plan(tmp, result)
        if evaluation is not None:
            write_design_evaluation(tmp, evaluation)

    _echo_result(result, out)
    if evaluation is not None:
        _echo_evaluation(evaluation)


def _echo_evaluation(ev: Any) -> None:
    """One line per design: RB, RSE and coverage of the density estimate."""
    s = ev.summary
    click.echo(
        f"Design evaluation ({ev.settings['replicates']} replicates per design):"
    )
    for _, row in s[s["parameter"].str.startswith("D")].iterrows():
        click.echo(
            f"  {row['design']:<16} {row['parameter']:<8} stations {row['stations']:>4}"
            f"  RB {row['RB']:+.3f}  RSE {row['RSE']:.3f}  COV {row['COV']:.2f}"
            f"  failed {row['failed_share']:.0%}"
        )


def _objectives_and_budgets(
    kw: dict[str, Any],
    survey: Any,
    objective: tuple[str, ...],
    zone_budget: tuple[str, ...],
) -> None:
    """Set ``objectives`` and ``zone_budget`` of ``kw``; check the zone names."""
    if objective:
        kw["objectives"] = _pairs(objective, "--objective", float)
    if zone_budget:
        kw["zone_budget"] = _pairs(zone_budget, "--zone-budget", int)
    if kw.get("zone_budget"):
        zones = survey.zones
        check_zone_names(
            kw["zone_budget"],
            [] if zones is None or "name" not in zones else zones["name"],
            option="--zone-budget" if zone_budget else "[plan] zone_budget",
        )


def _seed_region_hotspots(
    kw: dict[str, Any],
    survey: Any,
    project: Path | None,
    *,
    seed: int | None,
    region: str | None,
    hotspots: tuple[Path | None, str | None],
) -> None:
    """Set ``rng``, ``region`` and ``hotspots`` of ``kw`` (options win over [plan])."""
    toml_seed = kw.pop("seed", None)
    kw["rng"] = (
        seed
        if seed is not None
        else (toml_seed if toml_seed is not None else kw.get("rng", 0))
    )
    if region is not None:
        kw["region"] = region_arg(region, crs=survey.crs)
    elif "region" in kw:
        base = project.parent if project is not None else None
        kw["region"] = region_arg(
            kw["region"], crs=survey.crs, base=base, where="[plan]"
        )
    if hotspots[0] is not None:
        layer = hotspots[1] or _default_hotspots_layer(hotspots[0])
        kw["hotspots"] = read_layer(hotspots[0], layer, "hotspots", survey.crs)


def _default_hotspots_layer(path: Path) -> str | None:
    """'border_hotspots' (the corridors step's layer) when ``path`` holds it."""
    if path.suffix.lower() != ".gpkg":
        return None
    import pyogrio

    names = [str(row[0]) for row in pyogrio.list_layers(path)]
    return "border_hotspots" if "border_hotspots" in names else None


def _echo_result(result: Any, out: Path) -> None:
    """Print the proposal and the before/after of each objective."""
    summ = result.summary[result.summary["scope"] == "all"]
    click.echo(
        f"Proposed {len(result.stations)} new stations"
        + (
            f", moving {len(result.removed)} ({', '.join(result.removed)})"
            if result.removed
            else ""
        )
        + f" -> {out}"
    )
    attrs = result.summary.attrs
    if "region" in attrs:
        km2 = float(attrs.get("region_km2", float("nan")))
        click.echo(f"  region: {attrs['region']} ({km2:,.0f} km², ∩ habitat)")
    for _, row in summ.iterrows():
        click.echo(
            f"  {row['metric']:<22} {row['before']:>12.4g} -> {row['after']:<12.4g}"
        )
