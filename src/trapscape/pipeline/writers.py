"""Output writers shared by the steps of ``trapscape run`` and the commands."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd

    from ..coverage import SurveyCoverage
    from ..homerange import SurveyHomeRanges


__all__ = [
    "EFFORT_TABLES",
    "corridor_layers",
    "density_summary",
    "write_corridors",
    "write_coverage",
    "write_csv",
    "write_density",
    "write_design_evaluation",
    "write_effort",
    "write_homeranges",
    "write_json",
    "write_layer",
    "write_pdot",
    "write_plan",
    "write_sessions",
    "write_tif",
]

logger = logging.getLogger("trapscape.pipeline")


def _path(folder: Path, name: str) -> Path:
    """``folder / name`` with its parent folders made."""
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _gpkg_env() -> Any:
    """Fixed GeoPackage timestamps so identical runs give identical files."""
    import pyogrio

    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2000-01-01T00:00:00Z"})


def write_layer(
    folder: Path, gdf: gpd.GeoDataFrame, layer: str, name: str = "results.gpkg"
) -> str:
    """Write ``gdf`` as layer ``layer`` of the GeoPackage ``folder/name``.

    Text and categorical columns become strings, durations days, and
    GeoPackage timestamps are fixed, so identical runs give identical files.
    Returns ``name``.
    """
    import geopandas as gpd

    _gpkg_env()
    gdf = gdf.copy()
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        s = gdf[col]
        if isinstance(s.dtype, pd.CategoricalDtype) or s.dtype == object:
            gdf[col] = (
                s.astype("string")
                if s.map(lambda v: isinstance(v, (str, type(None))) or v is pd.NA).all()
                else s.astype(str)
            )
        elif pd.api.types.is_timedelta64_dtype(s):
            gdf[col] = s.dt.total_seconds() / 86400.0
    gdf = gpd.GeoDataFrame(gdf, geometry=gdf.geometry.name, crs=gdf.crs)
    gdf.to_file(_path(folder, name), layer=layer, driver="GPKG", engine="pyogrio")
    return name


def write_csv(folder: Path, df: pd.DataFrame, name: str) -> str:
    """Write ``df`` (geometry dropped) as ``folder/name``; return ``name``."""
    df = pd.DataFrame(df)
    if "geometry" in df.columns:
        df = df.drop(columns="geometry")
    df.to_csv(
        _path(folder, name), index=False, float_format="%.12g", lineterminator="\n"
    )
    return name


def write_json(folder: Path, obj: Any, name: str) -> str:
    """Write ``obj`` as sorted, indented JSON to ``folder/name``; return ``name``."""
    _path(folder, name).write_text(
        json.dumps(_jsonable(obj), indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return name


def write_tif(folder: Path, da: Any, name: str) -> str:
    """Write a raster as a GeoTIFF ``folder/name``; return ``name``."""
    from .._raster import write_geotiff

    write_geotiff(da, _path(folder, name))
    return name


def _jsonable(obj: Any) -> Any:
    import dataclasses

    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if not np.isfinite(f) else f
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, Path):
        return obj.as_posix()
    if isinstance(obj, (pd.Timestamp, pd.Timedelta)):
        return str(obj)
    if obj is pd.NA or obj is None:
        return None
    if isinstance(obj, (str, int, bool)):
        return obj
    return str(obj)


def _tab(df: Any) -> pd.DataFrame:
    df = pd.DataFrame(df)
    if df.index.name is not None or isinstance(df.index, pd.MultiIndex):
        df = df.reset_index()
    return df


def write_homeranges(
    folder: Path, res: SurveyHomeRanges, *, public: bool = False
) -> list[str]:
    """Write the files of the homerange step (and of ``trapscape homerange``).

    Layers ``home_ranges`` and ``sigma_ranges`` of ``results.gpkg`` and, in
    ``homerange/``: ``home_range_areas.csv``, ``overlaps.csv``,
    ``sigma_ranges.csv``, ``bandwidths.csv``, ``excluded.csv``,
    ``cross_border_population.csv``, ``cross_border_individuals.csv``,
    ``crossings.csv`` and ``straddling_ranges.csv``.  Public mode writes only
    the population per zone.  Returns the names written.
    """
    out: list[str] = []
    cb = res.cross_border
    if cb is not None:
        out.append(
            write_csv(
                folder, _tab(cb.population), "homerange/cross_border_population.csv"
            )
        )
    if public:
        return out
    if len(res.ranges):
        out.append(write_layer(folder, res.ranges, "home_ranges"))
    out.append(write_csv(folder, res.areas, "homerange/home_range_areas.csv"))
    out.append(write_csv(folder, res.overlaps, "homerange/overlaps.csv"))
    out.append(write_csv(folder, _tab(res.excluded), "homerange/excluded.csv"))
    if res.bandwidths is not None:
        out.append(write_csv(folder, _tab(res.bandwidths), "homerange/bandwidths.csv"))
    sig = res.sigma_ranges
    if sig is not None and len(sig):
        write_layer(folder, sig, "sigma_ranges")  # results.gpkg, listed above
        out.append(write_csv(folder, sig, "homerange/sigma_ranges.csv"))
    if cb is not None:
        out.append(
            write_csv(
                folder, _tab(cb.individuals), "homerange/cross_border_individuals.csv"
            )
        )
        out.append(write_csv(folder, _tab(cb.crossings), "homerange/crossings.csv"))
    if res.straddling is not None:
        out.append(write_csv(folder, res.straddling, "homerange/straddling_ranges.csv"))
    return out


def density_summary(
    fit: Any, settings: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """``density.json``: the fit's summary, ``settings`` added, without timings.

    Wall-clock time would make identical runs differ; it is in the manifest.
    """
    summary = fit.to_dict()
    if isinstance(summary.get("optimizer"), dict):
        summary["optimizer"].pop("seconds", None)
    if settings:
        summary["settings"] = {**summary.get("settings", {}), **settings}
    return summary


def write_density(
    folder: Path,
    fit: Any,
    survey: Any,
    *,
    settings: Mapping[str, Any] | None = None,
) -> list[str]:
    """Write the files of the density step (and of ``trapscape density``).

    ``density/density.json`` (:func:`density_summary`),
    ``density/estimates.csv``, ``density/region_n.csv`` (with a ``note``
    column) and ``density/detection.json`` (fitted detection parameters for
    ``--detection``).  Returns the names written.
    """
    from ..detection import write_detection
    from ..reserve import zones_with_stations as _zones_with_stations

    out = [
        write_json(folder, density_summary(fit, settings), "density/density.json"),
        write_csv(folder, _tab(fit.estimates), "density/estimates.csv"),
    ]
    if getattr(fit, "region_n", None) is not None and len(fit.region_n):
        notes = _region_n_notes(_tab(fit.region_n), _zones_with_stations(survey))
        out.append(write_csv(folder, notes, "density/region_n.csv"))
    write_detection(fit.detection_params(), _path(folder, "density/detection.json"))
    out.append("density/detection.json")
    if getattr(fit, "surfaces", ()):  # density surfaces: AIC table, best as GeoTIFF
        from ..density.surface import aic_table

        table = aic_table(list(fit.surfaces))
        out.append(write_csv(folder, table, "density/surfaces.csv"))
        fit.surfaces[int(table.index[0])].write_geotiff(
            _path(folder, "density/surface.tif")
        )
        out.append("density/surface.tif")
    return out


def _region_n_notes(rn: pd.DataFrame, surveyed: set[str] | None) -> pd.DataFrame:
    """region_n with a ``note`` column saying which numbers to read how."""
    rn = rn.copy()
    if "region" not in rn.columns or "quantity" not in rn.columns:
        return rn
    from ..reserve import holds_whole_population

    region = rn["region"].astype(str)
    q = rn["quantity"].astype(str)
    part = ~holds_whole_population(rn)
    note = pd.Series("", index=rn.index, dtype=object)
    note[part & (q == "R.N")] = (
        "secr's R.N counts every detected animal, wherever it lives; for this "
        "region read R.N.local"
    )
    if surveyed is not None:
        zone = region.str.extract(r"^zone: (.+)$")[0]
        off = zone.notna() & ~zone.isin(sorted(surveyed))
        note[off] = "no station in this zone: an extrapolation, not an estimate"
    rn["note"] = note
    return rn


#: effort tables written by :func:`write_effort` (public runs: the last two)
EFFORT_TABLES = ("per_camera", "per_station", "per_zone", "total")


def write_effort(
    folder: Path,
    report: Any,
    stations: gpd.GeoDataFrame | None,
    *,
    tables: tuple[str, ...] = EFFORT_TABLES,
) -> list[str]:
    """Write the effort step's files: layer ``stations``, ``effort/effort_<table>.csv``.

    ``stations`` is :func:`trapscape.effort.station_table` (``None``: no
    layer, as in public runs).  Returns the names written.
    """
    out = []
    if stations is not None:
        out.append(write_layer(folder, stations, "stations"))
    for attr in tables:
        tab = getattr(report, attr, None)
        if tab is not None:
            out.append(write_csv(folder, _tab(tab), f"effort/effort_{attr}.csv"))
    return out


def write_coverage(folder: Path, res: SurveyCoverage) -> list[str]:
    """Write the coverage step's files.

    Layers ``coverage_grid`` and ``coverage_gaps`` (when there are gaps) of
    ``results.gpkg`` and ``coverage/coverage_stats.csv``.
    """
    out = []
    if res.grid is not None:
        out.append(write_layer(folder, res.grid, "coverage_grid"))
    if res.stats is not None:
        out.append(write_csv(folder, _tab(res.stats), "coverage/coverage_stats.csv"))
    if res.gaps is not None and len(res.gaps):
        out.append(write_layer(folder, res.gaps, "coverage_gaps"))
    return out


def write_pdot(folder: Path, res: SurveyCoverage) -> list[str]:
    """Write the pdot step's files: ``pdot.tif`` and ``coverage/pdot_summary.csv``."""
    out = []
    if res.pdot is not None:
        out.append(write_tif(folder, res.pdot, "pdot.tif"))
    if res.pdot_summary is not None:
        out.append(
            write_csv(folder, _tab(res.pdot_summary), "coverage/pdot_summary.csv")
        )
    return out


def _safe_name(text: str) -> str:
    import re

    return re.sub(r"[^0-9A-Za-z_.-]+", "_", text)[:80]


def corridor_layers(res: Any) -> dict[str, gpd.GeoDataFrame]:
    """The non-empty layers of a corridors result, by layer name."""
    lc = res.least_cost
    layers = {
        "cores": res.cores,
        "corridor_paths": lc.paths,
        "corridors": lc.corridors,
        "border_hotspots": res.hotspots,
    }
    if res.circuit is not None and res.circuit.pinch_points is not None:
        layers["pinch_points"] = res.circuit.pinch_points
    return {k: v for k, v in layers.items() if v is not None and len(v)}


def write_corridors(folder: Path, res: Any) -> list[str]:
    """Write the corridors step's files (and those of ``trapscape corridors``).

    Layers ``cores``, ``corridor_paths``, ``corridors``, ``border_hotspots``
    and ``pinch_points`` of ``results.gpkg``; in ``corridors/``:
    ``resistance.tif``, ``current.tif``, ``corridor.tif``, ``detour.tif``,
    ``cost_distance_<core>.tif``, ``effective_resistance.csv``,
    ``pair_costs.csv``, ``pair_crossings.csv`` and ``border_hotspots.csv``.
    Returns the names written.
    """
    out = [write_layer(folder, v, k) for k, v in corridor_layers(res).items()]
    out.append(write_tif(folder, res.resistance, "corridors/resistance.tif"))
    lc = res.least_cost
    for cid, cd in (lc.cost_distances or {}).items():
        out.append(
            write_tif(folder, cd, f"corridors/cost_distance_{_safe_name(cid)}.tif")
        )
    if lc.corridor_raster is not None:
        out.append(write_tif(folder, lc.corridor_raster, "corridors/corridor.tif"))
    if lc.detour is not None:
        out.append(write_tif(folder, lc.detour, "corridors/detour.tif"))
    circuit = res.circuit
    if circuit is not None and circuit.current is not None:
        out.append(write_tif(folder, circuit.current, "corridors/current.tif"))
        out.append(
            write_csv(
                folder, _tab(circuit.resistances), "corridors/effective_resistance.csv"
            )
        )
    omni = getattr(res, "omniscape", None)
    if omni is not None:  # method = "omniscape": its flow potential and ratio
        out.append(
            write_tif(folder, omni.flow_potential, "corridors/flow_potential.tif")
        )
        out.append(
            write_tif(
                folder, omni.normalized_current, "corridors/normalized_current.tif"
            )
        )
    if lc.pair_costs is not None and len(lc.pair_costs):
        out.append(write_csv(folder, _tab(lc.pair_costs), "corridors/pair_costs.csv"))
    if res.pair_crossings is not None and len(res.pair_crossings):
        out.append(
            write_csv(folder, _tab(res.pair_crossings), "corridors/pair_crossings.csv")
        )
    if res.hotspots is not None and len(res.hotspots):
        out.append(write_csv(folder, res.hotspots, "corridors/border_hotspots.csv"))
    return list(dict.fromkeys(out))


def write_design_evaluation(folder: Path, evaluation: Any) -> list[str]:
    """Write ``plan/design_evaluation.csv`` (one row per design and parameter)
    and ``plan/design_evaluation.json`` (that table and the settings) of a
    :class:`~trapscape.planning.DesignEvaluation`.  Returns the names written.
    """
    return [
        write_csv(folder, evaluation.summary, "plan/design_evaluation.csv"),
        write_json(folder, evaluation.to_dict(), "plan/design_evaluation.json"),
    ]


def write_plan(folder: Path, result: Any) -> list[str]:
    """Write the plan step's files (and those of ``trapscape plan``).

    Layers ``proposed_stations`` and ``plan_candidates`` of ``results.gpkg``;
    in ``plan/``: ``proposed_stations.csv`` (readable with ``--stations``),
    ``proposed_stations.gpx`` (GPS waypoints), ``plan_summary.csv``,
    ``plan_selection.csv`` and, when stations are moved,
    ``removed_stations.csv``.  Returns the names written.
    """
    from .. import planning

    out = []
    if len(result.stations):
        out.append(write_layer(folder, result.stations, "proposed_stations"))
    if result.candidates is not None and len(result.candidates):
        out.append(write_layer(folder, result.candidates, "plan_candidates"))
    planning.write_plan_stations(
        result.stations, _path(folder, "plan/proposed_stations.csv")
    )
    planning.write_gpx(result.stations, _path(folder, "plan/proposed_stations.gpx"))
    out += ["plan/proposed_stations.csv", "plan/proposed_stations.gpx"]
    out.append(write_csv(folder, _tab(result.summary), "plan/plan_summary.csv"))
    out.append(write_csv(folder, _tab(result.selection), "plan/plan_selection.csv"))
    if result.removed:
        removed = pd.DataFrame({"station_id": list(result.removed)})
        out.append(write_csv(folder, removed, "plan/removed_stations.csv"))
    return list(dict.fromkeys(out))


def write_sessions(folder: Path, models: Any, sessions: Any = None) -> list[str]:
    """Write the multi-session files (``trapscape sessions`` and the sessions step).

    ``sessions/models.csv`` (AIC table), ``sessions/estimates.csv`` (every
    model's per-session estimates), ``sessions/fits.json`` (betas,
    covariance, trend) and, when a trend model (``~Session``) was fitted,
    ``sessions/trend.csv`` (rate of change lambda per session with 95 % CI).
    With ``sessions`` (exact runs only: they hold station coordinates and
    animal identities), also the input tables ``sessions/input/traps.csv``,
    ``captures.csv`` and ``covariates.csv``, which ``trapscape sessions``
    reads back.  ``models`` is a
    :class:`trapscape.density.multisurvey.SessionModels`.  Timings are left
    out of fits.json, so the same sessions give the same files.
    """
    out = [
        write_csv(folder, models.table, "sessions/models.csv"),
        write_csv(folder, models.estimates, "sessions/estimates.csv"),
        write_json(folder, _without_timings(models.to_dict()), "sessions/fits.json"),
    ]
    trends = models.trends
    if len(trends):
        out.append(write_csv(folder, trends, "sessions/trend.csv"))
    if sessions is not None:
        from ..density.multisurvey import session_tables

        traps, caps, covs = session_tables(sessions)
        tables = {"traps": traps, "captures": caps}
        if covs.shape[1] > 1:
            tables["covariates"] = covs
        for stem, df in tables.items():
            # full precision: read back, they give the same fit to the last digit
            name = f"sessions/input/{stem}.csv"
            df.to_csv(_path(folder, name), index=False, lineterminator="\n")
            out.append(name)
    return out


def _without_timings(fits: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for model, summary in fits.items():
        opt = {k: v for k, v in summary.get("optimizer", {}).items() if k != "seconds"}
        out[model] = {**summary, "optimizer": opt}
    return out
