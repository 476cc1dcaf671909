"""``trapscape density``: SCR density, population size and detection parameters."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click

from .._output import check_outputs, staged_outputs
from ._density_formats import FormatInputs, format_inputs
from .options import (
    EXISTING_FILE,
    SurveyInputs,
    library_opt,
    max_memory_opt,
    merged,
    out_dir_opt,
    overwrite_opt,
    project_step,
    species_opt,
    survey_inputs,
)

__all__ = ["cmd"]

#: what the command writes into --out: the density step's files of
#: ``trapscape run`` (density/density.json, estimates.csv, region_n.csv,
#: detection.json)
OUTPUTS = ("density",)


@click.command(name="density")
@survey_inputs
@format_inputs
@out_dir_opt
@library_opt(
    "--model",
    of="density",
    use=True,
    type=click.Choice(["null", "sex", "zone", "sex+zone"]),
    help="null; sex-specific detection; density per zone.",
)
@library_opt(
    "--detectfn",
    of="density",
    use=True,
    type=click.Choice(["HHN", "HN"]),
    help="Hazard half-normal (lambda0) or half-normal (g0).",
)
@library_opt(
    "--detector",
    of="density",
    use=True,
    type=click.Choice(["proximity", "count"]),
    help="Binary per occasion, or counts of records.",
)
@library_opt(
    "--occasion-days",
    of="density",
    use=True,
    type=float,
    help="Occasion length in days.",
)
@library_opt(
    "--occasion-model",
    of="density",
    use=True,
    type=click.Choice(["auto", "bernoulli", "binomial"]),
    help="Occasions of several days: Bernoulli per occasion (secr fastproximity "
    "= FALSE; auto when an occasion has > 1 day) or secr's collapsed binomial.",
)
@click.option(
    "--surface",
    "surfaces",
    multiple=True,
    help="Density surface to fit as well, e.g. '~x + y' or '~elevation' (repeat; "
    "ranked by AIC; the best written as density/surface.tif).",
)
@click.option(
    "--raster",
    "raster_opts",
    multiple=True,
    help="NAME=PATH: a covariate raster for --surface (the project's [rasters] "
    "are used too).",
)
@click.option(
    "--buffer",
    type=float,
    default=None,
    help="Mask buffer in metres (default 4 x sigma guess).",
)
@click.option(
    "--spacing",
    type=float,
    default=None,
    help="Mask spacing in metres (default sigma guess / 2, <= 5000 points).",
)
@click.option(
    "--mask",
    "mask_file",
    type=EXISTING_FILE,
    help="Habitat mask CSV (x, y; e.g. exported from secr) instead of building one.",
)
@species_opt
@max_memory_opt(
    "density",
    ": a mask x detectors too large for it is refused before the fit, naming "
    "a coarser --spacing.",
    use=True,
)
@overwrite_opt
@click.pass_context
def cmd(
    ctx: click.Context,
    inputs: SurveyInputs,
    formats: FormatInputs,
    out: Path,
    model: str,
    detectfn: str,
    detector: str,
    occasion_days: float,
    occasion_model: str,
    surfaces: tuple[str, ...],
    raster_opts: tuple[str, ...],
    buffer: float | None,
    spacing: float | None,
    mask_file: Path | None,
    species: str | None,
    max_memory_gb: float,
    overwrite: bool,
) -> None:
    """Density by spatial capture-recapture (maximum likelihood, secr-compatible).

    Writes into OUT the files of the density step of ``trapscape run``:
    density/density.json (estimates, SEs, CIs, log-likelihood, AIC,
    population size per region, settings), density/estimates.csv (one row
    per parameter: estimate, SE, 95% CI), density/region_n.csv (expected
    and realised N in the study area, each park and each zone) and
    density/detection.json (fitted detection parameters for coverage,
    homerange and plan --detection).

    Instead of a survey, secr files (--secr-traps with --secr-captures) or
    camtrapR tables (--camtrapr-records with --camtrapr-cameras) may be
    fitted; their coordinates are taken as metres.
    """
    from .. import density as dn
    from ..pipeline.writers import write_density

    conf, proj_species = project_step(inputs.project, "density")
    out = Path(out)
    if formats.given:
        _formats_cmd(
            ctx, inputs, formats, out, mask_file=mask_file, overwrite=overwrite
        )
        return
    check_outputs(out, OUTPUTS, overwrite=overwrite)
    survey = inputs.load()
    kwargs: dict[str, Any] = merged(
        ctx,
        conf,
        {
            "model": model,
            "detectfn": detectfn,
            "detector": detector,
            "occasion_days": occasion_days,
            "occasion_model": occasion_model,
            "buffer": buffer,
            "spacing": spacing,
            "species": species,
            "max_memory_gb": max_memory_gb,
        },
    )
    if surfaces:
        kwargs["surfaces"] = list(surfaces)
    if kwargs.get("surfaces"):
        kwargs["rasters"] = _rasters(inputs, raster_opts)
    kwargs.setdefault("species", proj_species)
    kwargs.setdefault("buffer", None)
    kwargs.setdefault("spacing", None)
    if mask_file is not None:
        from ..secrio import read_secr_mask

        kwargs["mask"] = read_secr_mask(mask_file, spacing=kwargs["spacing"])
    fit = _caught(dn.fit_survey, survey, **kwargs)  # e.g. an imprecise density
    settings = {
        **{k: v for k, v in kwargs.items() if k not in ("species", "mask", "rasters")},
        "species": kwargs["species"],
        "mask_file": str(mask_file) if mask_file is not None else None,
    }
    with staged_outputs(out, OUTPUTS, overwrite=overwrite) as tmp:
        write_density(tmp, fit, survey, settings=settings)
    _report(fit, out)


def _formats_cmd(
    ctx: click.Context,
    inputs: SurveyInputs,
    formats: FormatInputs,
    out: Path,
    *,
    mask_file: Path | None,
    overwrite: bool,
) -> None:
    """``trapscape density`` on secr files or camtrapR tables."""
    from ..pipeline.writers import write_density
    from ._density_formats import (
        check_formats,
        fit_capture_history,
        read_capture_history,
    )

    check_formats(ctx, inputs, formats)
    check_outputs(out, OUTPUTS, overwrite=overwrite)
    p = ctx.params
    ch = read_capture_history(
        formats,
        date_format=inputs.date_format,
        detector=p["detector"],
        occasion_days=p["occasion_days"],
        species=p["species"],
    )
    fit = _caught(
        fit_capture_history,
        ch,
        mask_file=mask_file,
        buffer=p["buffer"],
        spacing=p["spacing"],
        model=p["model"],
        detectfn=p["detectfn"],
        occasion_model=p["occasion_model"],
        max_memory_gb=p["max_memory_gb"],
    )
    keys = ("model", "detectfn", "detector", "occasion_model", "buffer", "spacing")
    settings = {
        **{k: p[k] for k in keys},
        "occasion_days": ch.occasion_days,
        "species": p["species"],
        "mask_file": str(mask_file) if mask_file is not None else None,
        **formats.files(),
    }
    with staged_outputs(out, OUTPUTS, overwrite=overwrite) as tmp:
        write_density(tmp, fit, None, settings=settings)
    _report(fit, out)


def _caught(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` with trapscape warnings as one stderr line each."""
    from ..errors import TrapscapeWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", TrapscapeWarning)
        result = fn(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, TrapscapeWarning):
            click.echo(f"Warning: {w.message}", err=True)
        else:  # pragma: no cover - passed on unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def _report(fit: Any, out: Path) -> None:
    """The one-line summary of a density fit on stderr."""
    est = fit.estimates
    dens = est[est["parameter"].astype(str).str.match(r"^D(\[|$)")]
    shown = "; ".join(
        f"{r['parameter']} = {r['estimate']:.3g} per 100 km2 "
        f"(95% CI {r['lcl']:.3g}-{r['ucl']:.3g}, RSE {100 * r['rse']:.0f}%)"
        for _, r in dens.iterrows()
    )
    click.echo(
        f"{fit.n} individuals, {fit.n_detections} detections "
        f"({fit.occasion_model} occasions): {shown}. "
        f"Results in {out}",
        err=True,
    )


def _rasters(inputs: SurveyInputs, given: tuple[str, ...]) -> dict[str, Any]:
    """The project's [rasters] with --raster NAME=PATH on top."""
    rasters: dict[str, Any] = {}
    if inputs.toml and inputs.project is not None:
        from ..project import load_project

        rasters.update(
            load_project(inputs.project, read=False).params.get("rasters", {})
        )
    for item in given:
        name, sep, path = item.partition("=")
        if not sep or not name.strip() or not path.strip():
            raise click.BadParameter(
                f"{item!r} is not NAME=PATH, e.g. --raster elevation=dem.tif",
                param_hint="--raster",
            )
        rasters[name.strip()] = Path(path.strip())
    return rasters
