"""Detection parameters shared between density, coverage, home ranges and planning.

Convention used throughout trapscape (and by :mod:`trapscape.simulate`):

* The **detector is the station** (paired cameras at a station are one
  detector, as in secr analyses of camera-trap data).
* **Usage** of station *j* on occasion *k* is the fraction of that occasion
  during which at least one of its cameras worked (operation matrix, per
  station, cameras pooled) times the occasion length in days.
* Hazard half-normal (``"HHN"``): expected detections of an animal with
  activity centre at distance *d* per unit usage is
  ``lambda0 * exp(-d**2 / (2 * sigma**2))``; the probability of at least one
  detection in an occasion with usage *u* is ``1 - exp(-u * lambda0 * ...)``.
* Half-normal (``"HN"``): ``g0 * exp(-d**2 / (2 sigma**2))`` per occasion of
  unit usage, ``1 - (1 - g0 * ...)**u`` with usage *u* (secr's convention).

:func:`read_detection` / :func:`write_detection` store these in a small JSON
file that ``trapscape density`` writes and ``coverage``, ``homerange`` and
``plan`` accept with ``--detection``.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import InputError, TrapscapeWarning

__all__ = ["DetectionParams", "read_detection", "resolve_detection", "write_detection"]


@dataclass(frozen=True)
class DetectionParams:
    """Detection function parameters.

    Attributes
    ----------
    detectfn
        ``"HHN"`` (hazard half-normal, uses ``lambda0``) or ``"HN"``
        (half-normal, uses ``g0``).
    sigma
        Spatial scale in metres.
    lambda0
        Baseline hazard per day of usage (HHN).
    g0
        Baseline probability per occasion (HN).
    occasion_days
        Occasion length used in the fit.
    by_sex
        Optional sex-specific values, e.g. ``{"F": {"lambda0": .., "sigma": ..}}``.
    density_per_100km2
        Optional fitted density, for planning and reports.
    """

    detectfn: str = "HHN"
    sigma: float = 3000.0
    lambda0: float | None = 0.05
    g0: float | None = None
    occasion_days: float = 1.0
    by_sex: dict[str, dict[str, float]] = field(default_factory=dict)
    density_per_100km2: float | None = None

    def __post_init__(self) -> None:
        if self.detectfn not in ("HHN", "HN"):
            raise InputError(f"detectfn must be 'HHN' or 'HN', got {self.detectfn!r}.")
        if not (self.sigma and self.sigma > 0):
            raise InputError(
                f"sigma must be a positive distance in metres, got {self.sigma!r}."
            )
        if self.detectfn == "HHN" and not (
            self.lambda0 is not None and self.lambda0 > 0
        ):
            raise InputError(f"lambda0 must be positive for HHN, got {self.lambda0!r}.")
        if self.detectfn == "HN" and not (self.g0 is not None and 0 < self.g0 <= 1):
            raise InputError(f"g0 must be in (0, 1] for HN, got {self.g0!r}.")

    @property
    def hazard0(self) -> float:
        """Baseline hazard per day of usage (HN's g0 converted as -ln(1-g0))."""
        if self.detectfn == "HHN":
            return float(self.lambda0)  # type: ignore[arg-type]
        import math

        return -math.log1p(-float(self.g0)) / self.occasion_days  # type: ignore[arg-type]

    def sex_classes(self) -> list[tuple[float, DetectionParams]]:
        """``(share, parameters)`` per sex class, shares summing to 1.

        Without ``by_sex`` this is ``[(1.0, self)]``.  Each ``by_sex`` entry
        overrides fields of these parameters (``lambda0``, ``g0``, ``sigma``,
        ...) and may carry ``share``, the proportion of that sex in the
        population (secr's ``pmix``, written by ``trapscape density``); entries
        without a share get equal shares.  Quantities averaged over the
        population (pdot, expected counts) weight the classes by these shares.

        Raises
        ------
        InputError
            If an entry has an unknown key or the shares are not positive.

        Examples
        --------
        >>> p = DetectionParams(sigma=3000, lambda0=0.05, by_sex={
        ...     "F": {"sigma": 2500, "share": 0.6}, "M": {"sigma": 4000, "share": 0.4}})
        >>> [(w, c.sigma) for w, c in p.sex_classes()]
        [(0.6, 2500), (0.4, 4000)]
        """
        from dataclasses import fields, replace

        if not self.by_sex:
            return [(1.0, self)]
        known = {f.name for f in fields(DetectionParams)} - {"by_sex"}
        classes: list[tuple[float | None, DetectionParams]] = []
        for sex, given in sorted(self.by_sex.items()):
            over: dict[str, Any] = dict(given)
            share = over.pop("share", None)
            bad = set(over) - known
            if bad:
                raise InputError(
                    f"by_sex[{sex!r}] has unknown key(s) {sorted(bad)}; use some of "
                    f"{sorted(known | {'share'})}."
                )
            if share is not None and not share > 0:
                raise InputError(
                    f"by_sex[{sex!r}] share must be positive, got {share!r}."
                )
            classes.append((share, replace(self, by_sex={}, **over)))
        if all(w is None for w, _ in classes):
            return [(1.0 / len(classes), c) for _, c in classes]
        if any(w is None for w, _ in classes):
            raise InputError("by_sex: give 'share' for every sex or for none.")
        shares = [(float(w or 0.0), c) for w, c in classes]
        total = sum(w for w, _ in shares)
        return [(w / total, c) for w, c in shares]

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (JSON-ready)."""
        return asdict(self)


def write_detection(params: DetectionParams, path: str | os.PathLike[str]) -> None:
    """Write parameters as JSON."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(params.to_dict(), fh, indent=2)


def read_detection(path: str | os.PathLike[str]) -> DetectionParams:
    """Read parameters written by :func:`write_detection` (or ``trapscape density``).

    A JSON object whose ``detection`` key holds these fields (as in the
    density summary) is accepted as well.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{os.fspath(path)}: not valid JSON ({err}).", path=path
        ) from err
    if (
        isinstance(data, dict)
        and "detection" in data
        and isinstance(data["detection"], dict)
    ):
        data = data["detection"]
    known = set(DetectionParams.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise InputError(
            f"{os.fspath(path)}: unknown key(s) {sorted(unknown)}; expected some of {sorted(known)}.",
            path=path,
        )
    return DetectionParams(**data)


def resolve_detection(
    file: str | os.PathLike[str] | None = None,
    section: Mapping[str, Any] | None = None,
    *,
    lambda0: float | None = None,
    sigma: float | None = None,
    density: float | None = None,
    require: bool = False,
    base: str | os.PathLike[str] | None = None,
) -> DetectionParams:
    """Detection parameters from a file, a ``[detection]`` section and options.

    The one rule every command and the pipeline follow:

    1. The base is ``file`` (a JSON written by ``trapscape density``) when
       given; otherwise the ``section``: its ``file`` (or ``path``) key names
       such a JSON (relative to ``base``), and its other keys (fields of
       :class:`~trapscape.detection.DetectionParams`) override that file's
       values.
    2. Explicit ``lambda0``, ``sigma`` and ``density`` override the base
       (``lambda0`` implies the hazard half-normal ``detectfn = "HHN"``).
    3. If no source gives ``sigma``: with ``require=True`` an
       :class:`~trapscape.errors.InputError`; otherwise a
       :class:`~trapscape.errors.TrapscapeWarning` and the documented
       defaults of :class:`~trapscape.detection.DetectionParams` (hazard
       half-normal, sigma 3000 m, lambda0 0.05 per day) fill what is missing.

    Parameters
    ----------
    file
        Detection JSON (command line ``--detection``).
    section
        The project's ``[detection]`` section.
    lambda0, sigma, density
        Command-line values (per day, metres, animals per 100 km²).
    require
        Refuse to guess sigma (``trapscape plan``).
    base
        Folder that relative ``file``/``path`` keys of ``section`` are
        resolved against (the project file's folder).

    Returns
    -------
    DetectionParams

    Raises
    ------
    InputError
        Unknown keys in ``section``, invalid values, an unreadable file, or
        (``require=True``) no sigma.
    """
    sec = dict(section or {})
    src = sec.pop("file", None)
    alt = sec.pop("path", None)
    src = src if src is not None else alt
    known = set(DetectionParams.__dataclass_fields__)
    unknown = set(sec) - known
    if unknown:
        raise InputError(
            f"[detection]: unknown key(s) {sorted(unknown)}; use file (a detection "
            f"JSON from 'trapscape density') or fields of DetectionParams: {sorted(known)}."
        )
    if file is not None:
        params: DetectionParams | None = read_detection(file)
        sec, given = {}, True
    elif src is not None:
        path = Path(os.fspath(src))
        if base is not None and not path.is_absolute():
            path = Path(base) / path
        params, given = read_detection(path), True
    else:
        params, given = None, False
    if sec:
        try:
            params = (
                replace(params, **sec) if params is not None else DetectionParams(**sec)
            )
        except TypeError as err:
            raise InputError(f"[detection]: {err}.") from err
    over: dict[str, Any] = {}
    if sigma is not None:
        over["sigma"] = sigma
    if lambda0 is not None:
        over["lambda0"] = lambda0
        over["detectfn"] = "HHN"
    if density is not None:
        over["density_per_100km2"] = density
    has_sigma = given or "sigma" in sec or sigma is not None
    if not has_sigma:
        if require:
            raise InputError(
                "No detection parameters: give --detection detection.json (written by "
                "'trapscape density'), a [detection] section, or --sigma (m) and "
                "--lambda0 (per day)."
            )
        warnings.warn(
            "No detection sigma given (no density fit, --detection, [detection] "
            "or --sigma): using defaults, hazard half-normal, sigma 3000 m, lambda0 "
            "0.05 per day.",
            TrapscapeWarning,
            stacklevel=2,
        )
    if params is None:
        params = DetectionParams()
    return replace(params, **over) if over else params
