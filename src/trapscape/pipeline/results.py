"""Read the products of a finished run back (``trapscape map`` / ``report``)."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..errors import (
    InputError,
)

if TYPE_CHECKING:
    pass

from .context import StepRecord

__all__ = ["load_results"]

logger = logging.getLogger("trapscape.pipeline")


_RESULT_LAYERS = {
    "stations": "stations",
    "coverage_grid": "coverage_grid",
    "gaps": "coverage_gaps",
    "ranges": "home_ranges",
    "corridors": "corridors",
    "corridor_paths": "corridor_paths",
    "border_hotspots": "border_hotspots",
    "proposed": "proposed_stations",
    "reserve": "candidate_reserve",
    "station_cells": "station_cells",
}


_RESULT_TABLES = {
    "coverage_stats": "coverage/coverage_stats.csv",
    "pdot_summary": "coverage/pdot_summary.csv",
    "density_estimates": "density/estimates.csv",
    "region_n": "density/region_n.csv",
    "population": "individuals_by_country.csv",
    "cross_border_population": "homerange/cross_border_population.csv",
    "plan_summary": "plan/plan_summary.csv",
    "design_evaluation": "plan/design_evaluation.csv",
}


def load_results(out_dir: str | os.PathLike[str], *, crs: Any = None) -> dict[str, Any]:
    """Read the products of a finished run back, keyed as :func:`trapscape.present.maps.survey_map`
    and :func:`trapscape.present.report.write_report` expect them.

    Parameters
    ----------
    out_dir
        Output directory of :func:`run_project` (with ``manifest.json``).
    crs
        Reproject layers to this CRS (default: as written, the survey CRS).

    Returns
    -------
    dict
        Products found (missing ones are left out), plus ``records`` (the
        per-step records of the manifest), ``notes`` and ``public``.

    Raises
    ------
    InputError
        If ``out_dir`` has no ``manifest.json``.
    """
    import geopandas as gpd
    import pyogrio

    from .._raster import read_geotiff

    out = Path(out_dir)
    man_path = out / "manifest.json"
    if not man_path.is_file():
        raise InputError(
            f"{out} holds no manifest.json; pass the --out folder of a finished "
            "`trapscape run`.",
            path=out,
        )
    man = json.loads(man_path.read_text(encoding="utf-8"))
    prods: dict[str, Any] = {
        "public": bool(man.get("public")),
        "notes": man.get("notes", []),
        "records": {
            k: StepRecord(
                status=v.get("status", ""),
                seconds=v.get("seconds", 0.0),
                message=v.get("message", ""),
            )
            for k, v in man.get("steps", {}).items()
        },
    }
    gpkg = out / "results.gpkg"
    if gpkg.is_file():
        layers = {name for name, _ in pyogrio.list_layers(gpkg)}
        for key, layer in _RESULT_LAYERS.items():
            if layer in layers:
                g = gpd.read_file(gpkg, layer=layer)
                prods[key] = g.to_crs(crs) if crs is not None else g
        if "proposed_cells" in layers:
            prods["proposed"] = gpd.read_file(gpkg, layer="proposed_cells")
    for key, rel in _RESULT_TABLES.items():
        if (out / rel).is_file():
            prods[key] = pd.read_csv(out / rel)
    for key, rel in (("pdot", "pdot.tif"), ("current", "corridors/current.tif")):
        if (out / rel).is_file():
            prods[key] = read_geotiff(out / rel)
    if (out / "homerange" / "straddling_ranges.csv").is_file():
        prods["straddling"] = pd.read_csv(out / "homerange" / "straddling_ranges.csv")
    figs = out / "figures"
    if figs.is_dir():
        prods["figure_png"] = {
            p.stem: p.read_bytes() for p in sorted(figs.glob("*.png"))
        }
    summary = out / "survey_summary.json"
    if summary.is_file():
        prods["summary"] = json.loads(summary.read_text(encoding="utf-8"))
    return prods
