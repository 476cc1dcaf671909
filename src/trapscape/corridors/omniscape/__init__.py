"""Omnidirectional, moving-window circuit connectivity (Omniscape).

:func:`omniscape` runs the algorithm on arrays or DataArrays;
:func:`run_ini` runs an Omniscape.jl INI file as it is.  See
docs/corridors.md for the method and its references (McRae et al. 2016;
Landau et al. 2021).
"""

from __future__ import annotations

from ._options import Conditions, OmniscapeOptions
from .core import OmniscapeResult, omniscape

__all__ = ["Conditions", "OmniscapeOptions", "OmniscapeResult", "omniscape"]
