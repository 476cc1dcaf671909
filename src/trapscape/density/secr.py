"""Read and write secr's text formats.

So that analyses can move between trapscape and R:

* **secr trap file** (``read.traps(file, detector = ...)``): one detector per
  line, ``trapID x y [usage]``; usage is a string of 0/1 per occasion
  (``binary.usage = TRUE``, secr's default) or whitespace-separated numbers
  (``binary.usage = FALSE``). ``#`` starts a comment.
* **secr capture file** (``read.capthist(..., fmt = "trapID")``):
  ``Session ID Occasion Detector [covariates]``, one detection per line.
* **secr mask** saved with ``write.csv(mask)``.

camtrapR's record tables are read by :mod:`trapscape.density.camtrapr`.

References
----------
Efford, M. G. (2024) secr: data input (vignette ``secr-datainput``).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError, SchemaError
from .data import CaptureHistory, Mask

__all__ = [
    "TrapLayout",
    "read_secr",
    "read_secr_captures",
    "read_secr_mask",
    "read_secr_traps",
    "write_secr",
]


PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class TrapLayout:
    """Detectors read from a secr trap file.

    Attributes
    ----------
    trap_ids
        Detector labels, in file order.
    xy
        ``(J, 2)`` coordinates (metres).
    usage
        ``(J, K)`` usage, or ``None`` when the file has no usage column.
    """

    trap_ids: tuple[str, ...]
    xy: np.ndarray
    usage: np.ndarray | None = None


def _lines(path: PathLike) -> list[tuple[int, list[str]]]:
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            # R's write.csv / write.table quote text (and quote = TRUE, numbers)
            tokens = (t.strip('"') for t in re.split(r"[\s,]+", line))
            out.append((lineno, [t for t in tokens if t]))
    return out


def read_secr_traps(path: PathLike, *, binary_usage: bool = True) -> TrapLayout:
    """Read a secr trap file (``trapID x y [usage]``).

    Parameters
    ----------
    path
        Text file, whitespace- or comma-separated; ``#`` comments.
    binary_usage
        Usage as one 0/1 string per detector (secr's default); otherwise
        whitespace-separated numbers after ``x y``.

    Raises
    ------
    InputError
        With file and line when a line cannot be read.
    """
    ids: list[str] = []
    xy: list[tuple[float, float]] = []
    usage: list[list[float]] = []
    for lineno, tok in _lines(path):
        if len(tok) < 3:
            raise InputError(
                f"{os.fspath(path)} line {lineno}: expected 'trapID x y "
                f"[usage]', got {' '.join(tok)!r}.",
                path=path,
                row=lineno,
            )
        try:
            x, y = float(tok[1]), float(tok[2])
        except ValueError:
            if not ids and lineno == 1:
                continue  # header line without '#'
            raise InputError(
                f"{os.fspath(path)} line {lineno}: x and y must be numbers, got "
                f"{tok[1]!r} {tok[2]!r}.",
                path=path,
                row=lineno,
            ) from None
        rest = (
            tok[3 : tok.index("/")] if "/" in tok else tok[3:]
        )  # '/' starts covariates
        if binary_usage and rest:
            if not re.fullmatch(r"[01]+", rest[0]):
                raise InputError(
                    f"{os.fspath(path)} line {lineno}: usage {rest[0]!r} is not a "
                    "string of 0/1; pass binary_usage=False for numeric usage.",
                    path=path,
                    row=lineno,
                )
            usage.append([float(c) for c in rest[0]])
        elif rest:
            try:
                usage.append([float(t) for t in rest])
            except ValueError:
                raise InputError(
                    f"{os.fspath(path)} line {lineno}: usage values must be numbers.",
                    path=path,
                    row=lineno,
                ) from None
        ids.append(tok[0])
        xy.append((x, y))
    if not ids:
        raise InputError(f"{os.fspath(path)}: no detectors found.", path=path)
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise InputError(f"{os.fspath(path)}: duplicate trap ids {dup}.", path=path)
    use = None
    if usage:
        if len(usage) != len(ids) or len({len(u) for u in usage}) != 1:
            raise InputError(
                f"{os.fspath(path)}: every detector needs usage for the same "
                "number of occasions.",
                path=path,
            )
        use = np.array(usage, dtype=np.float64)
    return TrapLayout(tuple(ids), np.array(xy, dtype=np.float64), use)


def read_secr_captures(
    path: PathLike,
    traps: TrapLayout,
    *,
    n_occasions: int | None = None,
    detector: str = "proximity",
    session: str | None = None,
    sex_column: int | None = None,
) -> CaptureHistory:
    """Read a secr capture file (``Session ID Occasion Detector``).

    Parameters
    ----------
    path
        Capture file; ``#`` comments.
    traps
        Detectors (:func:`read_secr_traps`).
    n_occasions
        Number of occasions (default: from the usage, else the largest
        occasion number).
    detector
        ``"proximity"`` (repeat detections on an occasion collapse to one)
        or ``"count"``.
    session
        Keep this session only (default: require a single session).
    sex_column
        0-based column holding the individual's sex (``F``/``M``), e.g. 4
        for ``Session ID Occasion Detector sex``.
    """
    rows: list[tuple[str, str, int, str, str | None, int]] = []
    for lineno, tok in _lines(path):
        if len(tok) < 4:
            raise InputError(
                f"{os.fspath(path)} line {lineno}: expected 'Session ID Occasion "
                f"Detector', got {' '.join(tok)!r}.",
                path=path,
                row=lineno,
            )
        try:
            occ = int(float(tok[2]))
        except ValueError:
            if not rows and lineno == 1:
                continue  # header without '#'
            raise InputError(
                f"{os.fspath(path)} line {lineno}: occasion {tok[2]!r} is not a "
                "whole number.",
                path=path,
                row=lineno,
            ) from None
        sx = (
            tok[sex_column]
            if sex_column is not None and len(tok) > sex_column
            else None
        )
        rows.append((tok[0], tok[1], occ, tok[3], sx, lineno))
    sessions = sorted({r[0] for r in rows})
    if session is None and len(sessions) > 1:
        raise InputError(
            f"{os.fspath(path)}: several sessions {sessions}; choose one with "
            "session=.",
            path=path,
        )
    if session is not None:
        rows = [r for r in rows if r[0] == str(session)]
    j_of = {t: j for j, t in enumerate(traps.trap_ids)}
    for r in rows:
        if r[3] not in j_of:
            raise InputError(
                f"{os.fspath(path)} line {r[5]}: detector {r[3]!r} is not in the "
                "trap file.",
                path=path,
                row=r[5],
            )
        if r[2] < 1:
            raise InputError(
                f"{os.fspath(path)} line {r[5]}: occasions are numbered from 1.",
                path=path,
                row=r[5],
            )
    if n_occasions is None:
        n_occasions = (
            traps.usage.shape[1]
            if traps.usage is not None
            else max((r[2] for r in rows), default=1)
        )
    if any(r[2] > n_occasions for r in rows):
        raise InputError(
            f"{os.fspath(path)}: an occasion exceeds n_occasions={n_occasions}.",
            path=path,
        )
    usage = (
        traps.usage
        if traps.usage is not None
        else np.ones((len(traps.trap_ids), n_occasions))
    )
    if usage.shape[1] != n_occasions:
        raise InputError(
            f"The trap usage covers {usage.shape[1]} occasions but "
            f"n_occasions={n_occasions}."
        )
    ids = _natural_sorted({r[1] for r in rows})
    i_of = {s: i for i, s in enumerate(ids)}
    caps = np.zeros((len(ids), n_occasions, len(traps.trap_ids)), dtype=np.int64)
    sex: list[str | None] = [None] * len(ids)
    for r in rows:
        caps[i_of[r[1]], r[2] - 1, j_of[r[3]]] += 1
        if r[4] is not None and r[4] not in ("NA", ""):
            sex[i_of[r[1]]] = r[4]
    if detector == "proximity":
        caps = np.minimum(caps, 1)
    return CaptureHistory(
        traps.xy,
        usage,
        caps,
        detector=detector,  # type: ignore[arg-type]
        individual_ids=tuple(ids),
        trap_ids=traps.trap_ids,
        sex=tuple(sex) if sex_column is not None else None,
    )


def _natural_sorted(values: set[str]) -> list[str]:
    def key(v: str) -> tuple[int, float, str]:
        try:
            return (0, float(v), v)
        except ValueError:
            return (1, 0.0, v)

    return sorted(values, key=key)


def read_secr_mask(path: PathLike, *, spacing: float | None = None) -> Mask:
    """Read a habitat mask saved from secr (``write.csv(mask)``: columns x, y).

    Parameters
    ----------
    path
        CSV (or whitespace-separated text) with ``x`` and ``y`` columns in
        metres; other columns are ignored.
    spacing
        Cell size in metres (secr's ``spacing(mask)``); default: the smallest
        positive difference between distinct x (or y) values.
    """
    frame = pd.read_csv(path, sep=None, engine="python", comment="#")
    cols = {str(c).strip().strip('"').lower(): c for c in frame.columns}
    if "x" not in cols or "y" not in cols:
        raise SchemaError(
            f"{os.fspath(path)}: a mask needs columns x and y; it has "
            f"{list(frame.columns)}.",
            path=path,
        )
    xy = frame[[cols["x"], cols["y"]]].to_numpy(dtype=np.float64)
    if spacing is None:
        diffs = [np.diff(np.unique(xy[:, k])) for k in (0, 1)]
        pos = np.concatenate([d[d > 1e-9] for d in diffs])
        if pos.size == 0:
            raise InputError(
                f"{os.fspath(path)}: cannot infer the mask spacing; pass spacing=.",
                path=path,
            )
        spacing = float(pos.min())
    return Mask(xy=xy, spacing=float(spacing))


def read_secr(
    trapfile: PathLike,
    capturefile: PathLike,
    *,
    detector: str = "proximity",
    binary_usage: bool = True,
    n_occasions: int | None = None,
) -> CaptureHistory:
    """Read a secr trap file and capture file into a :class:`CaptureHistory`."""
    traps = read_secr_traps(trapfile, binary_usage=binary_usage)
    return read_secr_captures(
        capturefile, traps, n_occasions=n_occasions, detector=detector
    )


def write_secr(
    ch: CaptureHistory,
    trapfile: PathLike,
    capturefile: PathLike,
    *,
    session: str = "1",
    overwrite: bool = False,
) -> None:
    """Write a capture history as secr trap and capture files.

    Usage is written as a 0/1 string when all values are 0 or 1 (read with
    ``read.traps(..., binary.usage = TRUE)``), otherwise as numbers (read with
    ``binary.usage = FALSE``).  Sex, when known, is written as a fifth column
    of the capture file.
    """
    for p in (trapfile, capturefile):
        if Path(p).exists() and not overwrite:
            raise InputError(
                f"{os.fspath(p)} exists; pass overwrite=True to replace it.", path=p
            )
    binary = bool(np.all(np.isin(ch.usage, (0.0, 1.0))))
    with open(trapfile, "w", encoding="utf-8") as fh:
        fh.write(
            "# trapID x y usage"
            + (" (binary.usage = TRUE)" if binary else " (binary.usage = FALSE)")
            + "\n"
        )
        for tid, (x, y), use in zip(ch.trap_ids, ch.traps_xy, ch.usage, strict=True):
            u = (
                "".join(str(int(v)) for v in use)
                if binary
                else " ".join(f"{v:g}" for v in use)
            )
            fh.write(f"{tid} {x:.10g} {y:.10g} {u}\n")
    has_sex = ch.sex is not None and any(s is not None for s in ch.sex)
    with open(capturefile, "w", encoding="utf-8") as fh:
        fh.write("# Session ID Occasion Detector" + (" sex" if has_sex else "") + "\n")
        for i, k, j in zip(*np.nonzero(ch.captures), strict=True):
            extra = ""
            if has_sex:
                extra = " " + (ch.sex[i] or "NA")  # type: ignore[index]
            for _ in range(int(ch.captures[i, k, j])):
                ind = ch.individual_ids[i]
                fh.write(f"{session} {ind} {k + 1} {ch.trap_ids[j]}{extra}\n")
