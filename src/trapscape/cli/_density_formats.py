"""``trapscape density`` on secr files or camtrapR tables instead of a survey.

secr's trap and capture files (``read.traps`` / ``read.capthist(fmt =
"trapID")``) and camtrapR's record and camera-trap tables are read with
:mod:`trapscape.density.secr` and :mod:`trapscape.density.camtrapr` into a
capture history, which is fitted with :func:`trapscape.density.fit` on a mask
built by :func:`trapscape.density.make_mask` (or the given ``--mask``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from .options import EXISTING_FILE, SurveyInputs, grouped

__all__ = ["FormatInputs", "fit_capture_history", "format_inputs"]


@dataclass(frozen=True)
class FormatInputs:
    """secr or camtrapR files named on the command line."""

    secr_traps: Path | None = None
    secr_captures: Path | None = None
    secr_usage: str = "binary"
    camtrapr_records: Path | None = None
    camtrapr_cameras: Path | None = None

    @property
    def given(self) -> bool:
        """Whether any secr or camtrapR file was named."""
        return any(
            p is not None
            for p in (
                self.secr_traps,
                self.secr_captures,
                self.camtrapr_records,
                self.camtrapr_cameras,
            )
        )

    def files(self) -> dict[str, str]:
        """The files named, by option (for density.json's settings)."""
        return {
            k: str(v)
            for k, v in (
                ("secr_traps", self.secr_traps),
                ("secr_captures", self.secr_captures),
                ("camtrapr_records", self.camtrapr_records),
                ("camtrapr_cameras", self.camtrapr_cameras),
            )
            if v is not None
        }


#: the options naming secr or camtrapR files (one keyword ``formats``)
format_inputs = grouped(
    "formats",
    FormatInputs,
    click.option(
        "--secr-traps",
        type=EXISTING_FILE,
        help="secr trap file (trapID x y [usage], metres; with --secr-captures) "
        "instead of a survey.",
    ),
    click.option(
        "--secr-captures",
        type=EXISTING_FILE,
        help="secr capture file (Session ID Occasion Detector; with --secr-traps).",
    ),
    click.option(
        "--secr-usage",
        type=click.Choice(["binary", "numeric"]),
        default="binary",
        show_default=True,
        help="Usage in the secr trap file: one 0/1 string (binary.usage = TRUE) "
        "or numbers per occasion, e.g. days (binary.usage = FALSE).",
    ),
    click.option(
        "--camtrapr-records",
        type=EXISTING_FILE,
        help="camtrapR record table (Station, Species, DateTimeOriginal, "
        "Individual; with --camtrapr-cameras) instead of a survey.",
    ),
    click.option(
        "--camtrapr-cameras",
        type=EXISTING_FILE,
        help="camtrapR camera-trap table (Station, utm_x, utm_y, Setup_date, "
        "Retrieval_date, ProblemN_from/_to; its dates in --date-format).",
    ),
)


def check_formats(
    ctx: click.Context, inputs: SurveyInputs, formats: FormatInputs
) -> None:
    """Refuse secr/camtrapR files mixed with a survey, with each other, or half given.

    Raises
    ------
    InputError
        What was mixed or is missing and how to fix it.
    """
    from ..errors import InputError
    from .options import option_given

    survey = [
        name
        for name, given in (
            ("PROJECT", inputs.project is not None),
            ("--stations", inputs.stations is not None),
            ("--sightings", inputs.sightings is not None),
            ("--boundaries", inputs.boundaries is not None),
            ("--crs", inputs.crs is not None),
            ("--surface", bool(ctx.params.get("surfaces"))),
            ("--raster", bool(ctx.params.get("raster_opts"))),
        )
        if given
    ]
    secr = formats.secr_traps is not None or formats.secr_captures is not None
    ctr = formats.camtrapr_records is not None or formats.camtrapr_cameras is not None
    if not formats.given:
        return
    if survey:
        raise InputError(
            f"{', '.join(survey)} cannot be combined with secr or camtrapR files: "
            "these carry the whole data set in metres. Give either a survey or "
            "--secr-*/--camtrapr-* files."
        )
    if secr and ctr:
        raise InputError(
            "Give either --secr-traps/--secr-captures or "
            "--camtrapr-records/--camtrapr-cameras, not both."
        )
    pairs = (
        ("--secr-traps", formats.secr_traps, "--secr-captures", formats.secr_captures),
        (
            "--camtrapr-records",
            formats.camtrapr_records,
            "--camtrapr-cameras",
            formats.camtrapr_cameras,
        ),
    )
    for a, pa, b, pb in pairs:
        if (pa is None) != (pb is None):
            given, missing = (a, b) if pb is None else (b, a)
            raise InputError(f"{given} needs {missing} too.")
    if secr and option_given(ctx, "occasion_days"):
        raise InputError(
            "--occasion-days does not apply to secr files: their occasions are "
            "those of the capture file (multi-day occasions: give the days as "
            "usage and --secr-usage numeric)."
        )
    if ctx.params.get("model") in ("zone", "sex+zone"):
        raise InputError(
            "--model zone needs the zones of a survey; secr and camtrapR files "
            "have none. Use --model null or sex."
        )


def read_capture_history(
    formats: FormatInputs,
    *,
    detector: str,
    occasion_days: float,
    species: str | None,
    date_format: str | None = None,
) -> Any:
    """The capture history of the secr files or camtrapR tables.

    ``date_format`` (``--date-format``) is that of the camera-trap table's
    dates (camtrapR's ``dateFormat``); record times are ISO.

    Raises
    ------
    InputError
        A file cannot be read (naming it, and the line or column).
    """
    from .. import density as dn
    from ..errors import InputError, TrapscapeError

    if formats.secr_traps is not None and formats.secr_captures is not None:
        with _named(formats.secr_traps, "a secr trap file (trapID x y [usage])"):
            try:
                traps = dn.read_secr_traps(
                    formats.secr_traps, binary_usage=formats.secr_usage == "binary"
                )
            except InputError as err:  # the library's fix, as the option to give
                fix = "pass binary_usage=False"
                if fix not in str(err):
                    raise
                text = str(err).replace(fix, "give --secr-usage numeric")
                raise InputError(text, path=err.path, row=err.row) from err
        with _named(formats.secr_captures, "a secr capture file"):
            return dn.read_secr_captures(
                formats.secr_captures, traps, detector=detector
            )
    assert formats.camtrapr_records is not None
    assert formats.camtrapr_cameras is not None
    files = f"{formats.camtrapr_records} / {formats.camtrapr_cameras}"
    try:
        return dn.read_camtrapr(
            formats.camtrapr_records,
            formats.camtrapr_cameras,
            species=species,
            occasion_days=occasion_days,
            detector=detector,
            date_format=date_format,
        )
    except TrapscapeError as err:
        raise InputError(f"{files}: {err}") from err
    except (ValueError, TypeError, KeyError) as err:  # dates, coordinates
        raise InputError(
            f"{files}: cannot read the camtrapR tables ({err}). Check the dates "
            "(give --date-format) and that utm_x/utm_y are numbers."
        ) from err


def fit_capture_history(
    ch: Any,
    *,
    mask_file: Path | None,
    buffer: float | None,
    spacing: float | None,
    model: str,
    detectfn: str,
    occasion_model: str,
    max_memory_gb: float | None,
) -> Any:
    """:func:`trapscape.density.fit` on ``ch`` and the given or a built mask.

    The mask, when not given, is the detectors buffered by ``buffer``
    (default 4 x the RPSV sigma guess) at ``spacing`` (default sigma / 2,
    at most 5000 points), as :func:`trapscape.density.make_mask` builds it.
    """
    from .. import density as dn
    from ..density.survey import sigma_guess

    if mask_file is not None:
        with _named(mask_file, "a mask CSV with numeric x and y"):
            mask = dn.read_secr_mask(mask_file, spacing=spacing)
    else:
        mask = dn.make_mask(
            ch.traps_xy,
            buffer=buffer,
            spacing=spacing,
            sigma_guess=sigma_guess(ch),
            max_memory_gb=max_memory_gb,
        )
    return dn.fit(
        ch,
        mask,
        detectfn=detectfn,  # type: ignore[arg-type]
        model=model,  # type: ignore[arg-type]
        max_memory_gb=max_memory_gb,
        occasion_model=occasion_model,  # type: ignore[arg-type]
    )


@contextlib.contextmanager
def _named(path: Path, what: str) -> Iterator[None]:
    """Turn a parser's ValueError (not UTF-8, not numbers) into one naming ``path``."""
    from ..errors import InputError, TrapscapeError

    try:
        yield
    except TrapscapeError:
        raise
    except ValueError as err:
        raise InputError(
            f"{path}: cannot be read as {what} ({err}). Fix the file.", path=path
        ) from err
