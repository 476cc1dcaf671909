"""Connectivity: resistance surfaces, least-cost corridors and circuit current.

The workflow is

1. :func:`resistance_surface` (or :func:`resistance_from_project`) builds a
   resistance raster on one aligned grid from reclassified rasters,
   functions of continuous rasters and vector layers;
2. :func:`cores_from` turns parks, sectors or home-range cores into nodes;
3. :func:`cost_distance` / :class:`CostSurface`, :func:`least_cost_path` and
   :func:`least_cost_corridor` (or :func:`least_cost_network` for every pair
   of cores) give least-cost distances, paths and corridors;
4. :func:`circuit` gives effective resistances and the cumulative current
   map (circuit theory);
   :func:`omniscape` gives omnidirectional (moving-window) current without
   cores (:mod:`.omniscape`);
5. :func:`border_hotspots` and :func:`pair_crossings` score stretches of the
   international border;
6. :func:`for_survey` (also :func:`corridors_for_survey`) runs all of it for a
   survey, as ``trapscape corridors`` and the ``corridors`` step do.

One topic per module: :mod:`.resistance`, :mod:`.cores`, :mod:`.leastcost`,
:mod:`.circuit_theory`, :mod:`.border` and :mod:`.survey`, with the private
circuit solver in :mod:`._solver` and shared grid helpers in :mod:`._grid`.
Every public name is re-exported here.

Cost and current conventions
----------------------------
Least-cost distance follows GRASS ``r.cost`` (8 neighbours, no knight's
moves): a move between neighbouring cells costs the mean of their two cell
resistances times the step length, the step being one cell for rook moves
and sqrt(2) cells for diagonal moves.  With ``units="map"`` (default) step
lengths are in metres, so costs are *resistance x metres*; ``units="cells"``
gives r.cost's cell units (the map value divided by the cell size).

Circuit theory follows Circuitscape 4 with 8 neighbours and "average
conductance": neighbouring cells are joined by a resistor of conductance
``(1/r1 + 1/r2) / 2`` (divided by sqrt(2) for diagonal neighbours).
Resistances are in the raster's resistance units (not multiplied by the cell
size), exactly as Circuitscape reports them.

Cells that are NaN (nodata or barrier) are impassable in both.

References
----------
Adriaensen, F. et al. (2003) The application of 'least-cost' modelling as a
functional landscape model. Landscape and Urban Planning 64, 233-247.
McRae, B. H. (2006) Isolation by resistance. Evolution 60, 1551-1561.
McRae, B. H., Dickson, B. G., Keitt, T. H. & Shah, V. B. (2008) Using circuit
theory to model connectivity in ecology, evolution, and conservation.
Ecology 89, 2712-2724.
Shah, V. B. & McRae, B. H. (2008) Circuitscape: a tool for landscape ecology.
Proceedings of the 7th Python in Science Conference, 62-66.
GRASS Development Team. r.cost manual, GRASS GIS 8.2.
"""

from __future__ import annotations

from .border import border_hotspots, border_segments, pair_crossings, survey_border
from .circuit_theory import CircuitResult, circuit
from .cores import cores_from
from .leastcost import (
    Corridor,
    CostSurface,
    LeastCostResult,
    cost_distance,
    least_cost_corridor,
    least_cost_network,
    least_cost_path,
)
from .omniscape import Conditions, OmniscapeOptions, OmniscapeResult, omniscape
from .resistance import (
    LEOPARD_IGBP_RESISTANCE,
    RasterFunction,
    RasterReclass,
    VectorLayer,
    resistance_from_project,
    resistance_surface,
)
from .survey import SurveyCorridors, corridors_for_survey, for_survey

__all__ = [
    "LEOPARD_IGBP_RESISTANCE",
    "CircuitResult",
    "Conditions",
    "Corridor",
    "CostSurface",
    "LeastCostResult",
    "OmniscapeOptions",
    "OmniscapeResult",
    "RasterFunction",
    "RasterReclass",
    "SurveyCorridors",
    "VectorLayer",
    "border_hotspots",
    "border_segments",
    "circuit",
    "cores_from",
    "corridors_for_survey",
    "cost_distance",
    "for_survey",
    "least_cost_corridor",
    "least_cost_network",
    "least_cost_path",
    "omniscape",
    "pair_crossings",
    "resistance_from_project",
    "resistance_surface",
    "survey_border",
]
