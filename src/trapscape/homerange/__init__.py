"""Home ranges from camera-trap detections or other relocations.

Minimum convex polygons (:func:`mcp`), fixed-kernel utilisation
distributions with isopleth polygons (:func:`kde`), overlap indices between
individuals (:func:`overlap`), circular ranges from the detection scale
sigma (:func:`sigma_ranges`) and cross-border attribution
(:func:`cross_border`).

Modules, one topic each:

* :mod:`~trapscape.homerange.relocations`: reading relocations, detection
  events of a survey, eligibility of individuals, effort weights;
* :mod:`~trapscape.homerange.convex`: minimum convex polygons;
* :mod:`~trapscape.homerange.bandwidth`: href and LSCV bandwidths;
* :mod:`~trapscape.homerange.utilization`: kernel utilisation distributions;
* :mod:`~trapscape.homerange.isopleths`: kernel home ranges (isopleths);
* :mod:`~trapscape.homerange.overlaps`: overlap indices;
* :mod:`~trapscape.homerange.sigma`: circular ranges from SCR sigma;
* :mod:`~trapscape.homerange.borders`: cross-border use and zone areas.

The estimators follow adehabitatHR (Calenge 2006) so that areas can be
compared with it directly:

* MCP: keep the relocations whose distance to the arithmetic centroid is at
  most the ``percent`` quantile of those distances (R quantile type 7), then
  take their convex hull.
* KDE: bivariate normal kernel evaluated exactly at each cell centre,
  truncated to the square ``|dx| < 4h, |dy| < 4h`` and normalised by the
  number of relocations (so the UD sums to about 0.99987, not 1).  Because
  both the kernel and its truncation are products of an x and a y factor,
  the UD is computed exactly as a matrix product ``Ky^T W Kx``.
* Reference bandwidth ``href = sqrt(0.5 (var x + var y)) n^(-1/6)`` (the
  issue text writes ``0.5 (sd x + sd y)``; adehabitatHR uses the root of
  the mean variance, and so do we).
* LSCV over 100 bandwidths from 0.1 to 1.5 href (adehabitatHR's ``CVmise``).
* Volume contour: cells sorted by decreasing density, cumulative sum of
  ``density * cell area`` in percent; ``kernel.area`` counts the cells whose
  volume is at most ``percent``; isopleth polygons are the ``percent``
  contour lines of the volume surface (``getverticeshr``).
* Overlap indices HR, PHR, VI, BA, UDOI and HD as in ``kerneloverlap``
  (Fieberg & Kochanny 2005).

References
----------
Worton, B. J. (1989). Kernel methods for estimating the utilization
distribution in home-range studies. Ecology 70, 164-168.

Silverman, B. W. (1986). Density Estimation for Statistics and Data
Analysis. Chapman & Hall.

Calenge, C. (2006). The package adehabitat for the R software: a tool for
the analysis of space and habitat use by animals. Ecological Modelling 197,
516-519.

Fieberg, J. & Kochanny, C. O. (2005). Quantifying home-range overlap: the
importance of the utilization distribution. Journal of Wildlife Management
69, 1346-1359.
"""

from __future__ import annotations

from . import (
    bandwidth,
    borders,
    convex,
    isopleths,
    overlaps,
    relocations,
    sigma,
    survey,
    utilization,
)
from .bandwidth import LSCV_MAX_DUPLICATE_SHARE, href, lscv
from .borders import CrossBorderResult, cross_border, zone_areas
from .convex import mcp
from .isopleths import HomeRangeResult, kde
from .overlaps import overlap
from .relocations import (
    DEFAULT_BURST_MINUTES,
    eligibility,
    read_relocations,
    relocations_from_survey,
    station_weights,
)
from .sigma import sigma_ranges
from .survey import OVERLAP_METHODS, SurveyHomeRanges, for_survey
from .utilization import utilization_distributions

__all__ = [
    "DEFAULT_BURST_MINUTES",
    "LSCV_MAX_DUPLICATE_SHARE",
    "OVERLAP_METHODS",
    "CrossBorderResult",
    "HomeRangeResult",
    "SurveyHomeRanges",
    "bandwidth",
    "borders",
    "convex",
    "cross_border",
    "eligibility",
    "for_survey",
    "href",
    "isopleths",
    "kde",
    "lscv",
    "mcp",
    "overlap",
    "overlaps",
    "read_relocations",
    "relocations",
    "relocations_from_survey",
    "sigma",
    "sigma_ranges",
    "station_weights",
    "survey",
    "utilization",
    "utilization_distributions",
    "zone_areas",
]
