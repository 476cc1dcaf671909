"""Planning new camera-trap placements.

Park staff decide each season where to put the next cameras.  This module
proposes sites that

* **close coverage gaps**: raise the area (km2) of the study area where the
  probability that an animal living there is photographed at least once,
  ``pdot``, reaches a threshold;
* **sharpen the density estimate**: raise ``min(E[n], E[r])``, the smaller
  of the expected number of detected individuals and of recaptures, whose
  inverse square root approximates the relative standard error of the SCR
  density estimate (Efford & Boulanger 2019);
* **watch the border**: raise the score-weighted ``pdot`` at ranked
  border-crossing hotspots.

Sites are chosen from candidates (:func:`candidate_sites`) by greedy
selection that recomputes only the gains the last pick changed, so it is
exactly plain greedy for these non-submodular objectives, followed by a
local-swap pass; deterministic for a seed, never breaking the spacing,
per-zone budget or total count constraints.  :func:`plan` returns a
:class:`Plan` whose ``stations`` frame has the columns
:func:`trapscape.io.read_stations` accepts, so a plan can be fed back as a
survey; :func:`write_gpx` writes the sites as GPX 1.1 waypoints for field
GPS units.

Candidate designs (the current layout, the layout with the proposed sites,
any station file) are compared by simulation with :func:`evaluate_designs`
(simulate and refit many times, secrdesign's bias, RSE and coverage;
module :mod:`~trapscape.planning.evaluate`).

Modules: :mod:`~trapscape.planning.candidates` (candidate sites, planning
region), :mod:`~trapscape.planning.objectives` (detection kernel, expected
counts, the hazard engine and its gains), :mod:`~trapscape.planning.search`
(greedy selection and swaps under the constraints),
:mod:`~trapscape.planning.export` (stations, selection and summary tables;
GPX and CSV writers) and :mod:`~trapscape.planning.planner` (:func:`plan`,
its options and steps).

The detection model is the one in :mod:`trapscape.detection`: the detector
is the station, and an animal whose activity centre lies at distance ``d``
from a station working ``T`` days is detected there on an occasion of
``occasion_days`` with probability ``p = 1 - exp(-lambda0 * occ * g(d))``
(``"HHN"``) or ``p = g0 * g(d)`` (``"HN"``), ``g(d) = exp(-d² / 2sigma²)``, for
``K = T / occ`` occasions.

References
----------
Efford, M. G., & Boulanger, J. (2019). Fast evaluation of study designs for
spatially explicit capture-recapture. *Methods in Ecology and Evolution*,
10, 1529-1535.

Durbach, I., Borchers, D., Sutherland, C., & Sharma, K. (2021). Fast,
flexible alternatives to regular grid designs for spatial capture-recapture.
*Methods in Ecology and Evolution*, 12, 298-310.

Minoux, M. (1978). Accelerated greedy algorithms for maximizing submodular
set functions. In *Optimization Techniques*, LNCIS 7, 234-243.  (The lazy
evaluation used before; exact only for submodular objectives.)
"""

from __future__ import annotations

from . import candidates, evaluate, export, objectives, planner, search
from .candidates import CANDIDATE_ID, REGIONS, candidate_sites, region_polygon
from .evaluate import (
    Design,
    DesignEvaluation,
    design_from_stations,
    designs_for_plan,
    evaluate_designs,
    evaluate_plan,
)
from .export import write_gpx, write_plan_stations
from .objectives import (
    COVERAGE_SMOOTH_WEIGHT,
    KERNEL_RADIUS_SIGMAS,
    OBJECTIVES,
    expected_counts,
)
from .planner import Plan, PlanOptions, plan

__all__ = [
    "CANDIDATE_ID",
    "COVERAGE_SMOOTH_WEIGHT",
    "KERNEL_RADIUS_SIGMAS",
    "OBJECTIVES",
    "REGIONS",
    "Design",
    "DesignEvaluation",
    "Plan",
    "PlanOptions",
    "candidate_sites",
    "candidates",
    "design_from_stations",
    "designs_for_plan",
    "evaluate",
    "evaluate_designs",
    "evaluate_plan",
    "expected_counts",
    "export",
    "objectives",
    "plan",
    "planner",
    "region_polygon",
    "search",
    "write_gpx",
    "write_plan_stations",
]
