"""secr text formats and camtrapR tables (alias of their new home).

The readers and writers now live in :mod:`trapscape.density.secr` (secr's trap,
capture and mask files) and :mod:`trapscape.density.camtrapr` (camtrapR record
tables); this module re-exports them so ``trapscape.secrio.read_secr`` and the
others keep working.
"""

from __future__ import annotations

from .density.camtrapr import read_camtrapr
from .density.secr import (
    TrapLayout,
    read_secr,
    read_secr_captures,
    read_secr_mask,
    read_secr_traps,
    write_secr,
)

__all__ = [
    "TrapLayout",
    "read_camtrapr",
    "read_secr",
    "read_secr_captures",
    "read_secr_mask",
    "read_secr_traps",
    "write_secr",
]
