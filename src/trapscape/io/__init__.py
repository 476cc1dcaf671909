"""Read and write survey data: stations, sightings, boundaries, Camtrap DP.

Every reader returns frames with the canonical columns of
:mod:`trapscape.validation`, checks the content, and raises **one** error
listing every problem found (file, 1-based data row, column and the fix).

One module per topic:

* :mod:`~trapscape.io.tables`: CSV dialects, dates and numbers, vector files
  (shared by every reader);
* :mod:`~trapscape.io.stations`: stations and deployments;
* :mod:`~trapscape.io.sightings`: sightings;
* :mod:`~trapscape.io.boundaries`: study area, zones, parks, border;
* :mod:`~trapscape.io.camtrap_dp`: Camtrap DP packages;
* :mod:`~trapscape.io.survey`: a :class:`~trapscape.survey.Survey` from files.

Conventions
-----------
* Date-only ``setup``/``retrieval`` values are stored at 12:00 (half days,
  as camtrapR counts them) with ``setup_time_known``/``retrieval_time_known``
  set to False.
* Date-only malfunction ``from`` values are stored at 00:00 and date-only
  ``to`` values at 00:00 of the next day, so whole days are removed.
* Times are naive local times.  Values with a UTC offset (Camtrap DP) are
  converted to the deployment's local offset, then the offset is dropped.

References
----------
Niedballa J. et al. (2016) camtrapR: an R package for efficient camera trap
data management. Methods Ecol. Evol. 7, 1457-1462.
Bubnicki J.W. et al. (2023) Camtrap DP: an open standard for the FAIR
exchange and archiving of camera trap data. Remote Sens. Ecol. Conserv.
"""

from __future__ import annotations

from .boundaries import read_boundaries, split_boundaries
from .camtrap_dp import read_camtrap_dp, write_camtrap_dp
from .sightings import read_sightings, write_sightings
from .stations import StationsTable, read_stations, write_stations
from .survey import add_boundaries, build_survey, read_survey
from .tables import VECTOR_SUFFIXES as VECTOR_SUFFIXES
from .tables import PathLike as PathLike

__all__ = [
    "StationsTable",
    "add_boundaries",
    "build_survey",
    "read_boundaries",
    "read_camtrap_dp",
    "read_sightings",
    "read_stations",
    "read_survey",
    "split_boundaries",
    "write_camtrap_dp",
    "write_sightings",
    "write_stations",
]
