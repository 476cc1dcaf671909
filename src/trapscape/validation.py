"""Canonical column names and the public ``check_*`` validators.

Every reader returns frames with these column names, whatever the input
called them, so analysis code refers to the constants below.

Stations (``Survey.stations``): one row per camera **deployment**
    ``station_id`` (str), ``camera_id`` (str; equals the station id when a
    station has one camera and no camera column was given), ``deployment_id``
    (str, unique), ``setup`` and ``retrieval`` (naive local ``datetime64``),
    ``setup_time_known`` / ``retrieval_time_known`` (bool), geometry (Point,
    survey CRS), plus any extra attributes of the input.
    Date-only setup/retrieval values are stored at 12:00 so that setup and
    retrieval days count as half days (camtrapR's convention).

Problems (``Survey.problems``): malfunction intervals, one row each
    ``deployment_id``, ``problem_from``, ``problem_to`` (naive datetime).
    A date-only ``from`` is stored at 00:00 of that day and a date-only ``to``
    at 00:00 of the following day, so whole days are removed.

Sightings (``Survey.sightings``): one row per photo / record
    ``station_id``, ``camera_id`` (may be NA), ``deployment_id`` (resolved
    from station/camera and time when possible, else NA), ``timestamp``
    (naive local datetime), ``species`` (str), ``individual_id`` (str or NA
    for unidentified animals), ``sex`` ("F", "M" or NA), ``media_id`` (str or
    NA), ``count`` (int >= 1), plus extra columns.

Boundaries: GeoDataFrames with a ``name`` column (zones/countries, parks,
study area) and line geometries for the international ``border``.
"""

from __future__ import annotations

__all__ = [
    "CAMERA_ID",
    "COUNT",
    "DEPLOYMENT_ID",
    "INDIVIDUAL_ID",
    "MEDIA_ID",
    "NAME",
    "PROBLEM_FROM",
    "PROBLEM_TO",
    "RETRIEVAL",
    "RETRIEVAL_TIME_KNOWN",
    "SETUP",
    "SETUP_TIME_KNOWN",
    "SEX",
    "SPECIES",
    "STATION_ID",
    "TIMESTAMP",
    "ZONE",
]

STATION_ID = "station_id"
CAMERA_ID = "camera_id"
DEPLOYMENT_ID = "deployment_id"
SETUP = "setup"
RETRIEVAL = "retrieval"
SETUP_TIME_KNOWN = "setup_time_known"
RETRIEVAL_TIME_KNOWN = "retrieval_time_known"
PROBLEM_FROM = "problem_from"
PROBLEM_TO = "problem_to"
TIMESTAMP = "timestamp"
SPECIES = "species"
INDIVIDUAL_ID = "individual_id"
SEX = "sex"
MEDIA_ID = "media_id"
COUNT = "count"
NAME = "name"
ZONE = "zone"
