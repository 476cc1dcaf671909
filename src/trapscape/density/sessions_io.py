"""Read several sessions (surveys) from long CSV tables for :func:`fit_sessions`.

Tables (one row per detector or detection, a ``session`` column in each):

``traps``
    ``session, trap_id, x, y`` and the usage per occasion: one column
    ``usage`` (one occasion) or ``usage1, usage2, ...`` (``usage_1`` also
    accepted), in days (camera-nights); without usage every detector worked
    one day per occasion.  Coordinates in metres (projected CRS).
``captures``
    ``session, individual_id, occasion, trap_id`` (occasions numbered from
    1); optional ``sex`` (``F``/``M``, or secr's 1/2 which are kept as
    given).  Proximity detectors keep one record per animal, occasion and
    detector.
``covariates`` (optional)
    ``session`` and one numeric column per session covariate (e.g. ``Prey``).
``masks`` (optional)
    Per session a CSV with ``x, y`` (e.g. secr's ``write.csv(mask)``); a
    session without one gets :func:`make_mask` with ``buffer`` / ``spacing``
    (defaults from the RPSV of all sessions' recaptures, as for one session).

This is the layout of the reference data of secr's multi-session examples
(Efford 2024, vignette "secr-multisession").
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from .data import CaptureHistory, rpsv
from .mask import make_mask
from .multisession import Session
from .secr import read_secr_mask

__all__ = ["read_sessions"]

PathLike = str | os.PathLike[str]


def _read_table(path: PathLike, required: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise InputError(
            f"{os.fspath(path)}: cannot be read as CSV ({err}).", path=path
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(
            f"{os.fspath(path)}: missing column(s) {missing}; it has "
            f"{list(frame.columns)}.",
            path=path,
            column=missing[0],
        )
    frame["session"] = frame["session"].astype(str)
    return frame


def _numbers(frame: pd.DataFrame, col: str, path: PathLike) -> np.ndarray:
    vals = pd.to_numeric(frame[col], errors="coerce")
    bad = vals.isna() | ~np.isfinite(vals.to_numpy(dtype=float, na_value=np.nan))
    if bool(bad.any()):
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"{os.fspath(path)} row {row + 2}, column {col!r}: "
            f"{frame[col].iloc[row]!r} is not a number.",
            path=path,
            row=row + 2,
            column=col,
        )
    return vals.to_numpy(dtype=float)


def _usage_columns(frame: pd.DataFrame) -> list[str]:
    if "usage" in frame.columns:
        return ["usage"]
    cols = [c for c in frame.columns if re.fullmatch(r"usage_?\d+", c)]
    return sorted(cols, key=lambda c: int(re.sub(r"\D", "", c)))


def _history(
    session: str,
    traps: pd.DataFrame,
    caps: pd.DataFrame,
    traps_path: PathLike,
    caps_path: PathLike,
    detector: str,
) -> CaptureHistory:
    t = traps[traps["session"] == session].reset_index(drop=True)
    c = caps[caps["session"] == session]
    ids_t = t["trap_id"].astype(str).tolist()
    if len(set(ids_t)) != len(ids_t):
        dup = sorted({i for i in ids_t if ids_t.count(i) > 1})
        raise InputError(
            f"{os.fspath(traps_path)}: session {session!r} lists trap(s) {dup} twice.",
            path=traps_path,
        )
    ucols = _usage_columns(t)
    usage = (
        np.column_stack([_numbers(t, col, traps_path) for col in ucols])
        if ucols
        else None
    )
    occ = _numbers(c, "occasion", caps_path).astype(int) if len(c) else np.zeros(0, int)
    k = usage.shape[1] if usage is not None else max(int(occ.max(initial=1)), 1)
    if usage is None:
        usage = np.ones((len(t), k))
    j_of = {s: j for j, s in enumerate(ids_t)}
    ind = sorted(c["individual_id"].astype(str).unique())
    i_of = {s: i for i, s in enumerate(ind)}
    arr = np.zeros((len(ind), k, len(t)), dtype=np.int64)
    for row, (iid, kk, tid) in enumerate(
        zip(c["individual_id"].astype(str), occ, c["trap_id"].astype(str), strict=True)
    ):
        line = int(c.index[row]) + 2
        if tid not in j_of:
            raise InputError(
                f"{os.fspath(caps_path)} row {line}, column 'trap_id': {tid!r} is not a "
                f"detector of session {session!r} in {os.fspath(traps_path)}.",
                path=caps_path,
                row=line,
                column="trap_id",
            )
        if not 1 <= kk <= k:
            raise InputError(
                f"{os.fspath(caps_path)} row {line}, column 'occasion': {kk} is outside "
                f"1..{k} (the usage columns of {os.fspath(traps_path)}).",
                path=caps_path,
                row=line,
                column="occasion",
            )
        arr[i_of[iid], kk - 1, j_of[tid]] += 1
    if detector == "proximity":
        arr = np.minimum(arr, 1)
    sex = None
    if "sex" in c.columns:
        first = c.groupby(c["individual_id"].astype(str))["sex"].first()
        sex = tuple(None if pd.isna(first.get(i)) else str(first.get(i)) for i in ind)
    return CaptureHistory(
        np.column_stack([_numbers(t, "x", traps_path), _numbers(t, "y", traps_path)]),
        usage,
        arr,
        detector=detector,  # type: ignore[arg-type]
        individual_ids=tuple(ind),
        trap_ids=tuple(ids_t),
        sex=sex,
    )


def read_sessions(
    traps: PathLike,
    captures: PathLike,
    *,
    covariates: PathLike | None = None,
    masks: Mapping[str, PathLike] | PathLike | None = None,
    buffer: float | None = None,
    spacing: float | None = None,
    detector: str = "proximity",
) -> list[Session]:
    """Sessions from long CSV tables (see the module docs).

    Parameters
    ----------
    traps, captures, covariates
        The tables.
    masks
        Session name -> mask CSV, or a folder holding ``mask_<session>.csv``.
    buffer, spacing
        For sessions without a mask file (metres; default 4 x and 0.5 x the
        pooled RPSV).
    detector
        ``"proximity"`` or ``"count"``.

    Raises
    ------
    InputError
        A missing column, a non-numeric value, an unknown detector or an
        occasion outside the usage (naming file, row and column).
    """
    tr = _read_table(traps, ("session", "trap_id", "x", "y"))
    cp = _read_table(captures, ("session", "individual_id", "occasion", "trap_id"))
    names = list(dict.fromkeys(tr["session"]))
    unknown = sorted(set(cp["session"]) - set(names))
    if unknown:
        raise InputError(
            f"{os.fspath(captures)}: session(s) {unknown} have no detectors in "
            f"{os.fspath(traps)}.",
            path=captures,
            column="session",
        )
    covs: dict[str, dict[str, float]] = {s: {} for s in names}
    if covariates is not None:
        cv = _read_table(covariates, ("session",))
        for col in [c for c in cv.columns if c != "session"]:
            vals = pd.to_numeric(cv[col], errors="coerce")
            for s, v in zip(cv["session"], vals, strict=True):
                if s in covs and pd.notna(v):
                    covs[s][col] = float(v)
    hists = {s: _history(s, tr, cp, traps, captures, detector) for s in names}
    mask_files = _mask_files(masks, names)
    guess = _pooled_rpsv(list(hists.values()))
    out = []
    for s in names:
        if s in mask_files:
            mask = read_secr_mask(mask_files[s])
        else:
            mask = make_mask(
                hists[s].traps_xy, buffer=buffer, spacing=spacing, sigma_guess=guess
            )
        out.append(Session(s, hists[s], mask, covs[s]))
    return out


def _mask_files(
    masks: Mapping[str, PathLike] | PathLike | None, names: list[str]
) -> dict[str, PathLike]:
    if masks is None:
        return {}
    if isinstance(masks, Mapping):
        return dict(masks)
    folder = Path(masks)
    if not folder.is_dir():
        raise InputError(f"{folder}: the masks folder does not exist.", path=folder)
    return {
        s: folder / f"mask_{s}.csv"
        for s in names
        if (folder / f"mask_{s}.csv").exists()
    }


def _pooled_rpsv(hists: list[CaptureHistory]) -> float:
    num = den = 0.0
    for ch in hists:
        r = rpsv(ch)
        if np.isfinite(r):
            d = ch.n_detections - int(np.sum(ch.captures.sum(axis=(1, 2)) > 0))
            num += 2.0 * r * r * d
            den += d
    if den == 0:
        return float(
            np.median([float(np.ptp(h.traps_xy, axis=0).max()) / 4.0 for h in hists])
        )
    return float(np.sqrt(num / (2.0 * den)))
