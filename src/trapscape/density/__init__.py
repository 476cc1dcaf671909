"""Density by spatial capture-recapture (maximum likelihood, secr-compatible).

The likelihood is the full likelihood of Borchers & Efford (2008) with a
Poisson number of animals, as computed by the R package secr for proximity or
count detectors with occasions collapsed; see ``docs/density.md`` for the
formulas and conventions.  One topic per module:

``data``
    :class:`CaptureHistory`, :class:`Mask`, :func:`capture_history`,
    :func:`rpsv`.
``mask``
    :func:`make_mask` (secr's ``make.mask``).
``fitting``
    :func:`fit`, :func:`log_likelihood`, :func:`buffer_check`; the numerical
    likelihood itself is in the private ``_likelihood`` and the model setup
    (design, starting values) in ``_setup``.
``result``
    :class:`SCRFit`.
``surface``
    :func:`fit_surface`, :func:`raster_covariate`, :func:`aic_table`:
    log-linear density surfaces on mask covariates (``D ~ x + y``).
``multisession``
    :func:`fit_sessions`, :class:`Session`, :class:`MultiSessionFit`:
    several surveys fitted jointly (``D ~ session``, trend, covariates).
``multisurvey``
    :func:`survey_sessions`, :func:`split_survey`,
    :func:`fit_session_models`: sessions from surveys, with the rules of
    the single-survey fit.
``abundance``
    Expected and realised N in regions (secr's ``region.N``),
    :func:`survey_regions`.
``survey``
    :func:`for_survey` (also :func:`fit_survey`): the survey-level entry.
``secr``, ``camtrapr``
    secr's text formats and camtrapR tables.

Every public name is re-exported here, so ``trapscape.density.fit`` and the
others keep their paths.

References
----------
Borchers, D. L. & Efford, M. G. (2008) Spatially explicit maximum likelihood
methods for capture-recapture studies. Biometrics 64, 377-385.
"""

from __future__ import annotations

from . import (
    abundance,
    camtrapr,
    data,
    fitting,
    mask,
    multisession,
    multisurvey,
    result,
    secr,
    sessions_io,
    surface,
    survey,
)
from .abundance import survey_regions
from .camtrapr import read_camtrapr
from .data import CaptureHistory, Mask, capture_history, rpsv
from .fitting import PrecisionWarning, buffer_check, fit, log_likelihood
from .mask import make_mask
from .multisession import MultiSessionFit, Session, fit_sessions
from .multisurvey import (
    SessionModels,
    fit_session_models,
    split_survey,
    survey_sessions,
)
from .result import SCRFit
from .secr import (
    TrapLayout,
    read_secr,
    read_secr_captures,
    read_secr_mask,
    read_secr_traps,
    write_secr,
)
from .sessions_io import read_sessions
from .surface import SurfaceFit, aic_table, fit_surface, raster_covariate
from .survey import fit_survey, for_survey

__all__ = [
    "CaptureHistory",
    "Mask",
    "MultiSessionFit",
    "PrecisionWarning",
    "SCRFit",
    "Session",
    "SessionModels",
    "SurfaceFit",
    "TrapLayout",
    "abundance",
    "aic_table",
    "buffer_check",
    "camtrapr",
    "capture_history",
    "data",
    "fit",
    "fit_session_models",
    "fit_sessions",
    "fit_surface",
    "fit_survey",
    "fitting",
    "for_survey",
    "log_likelihood",
    "make_mask",
    "mask",
    "multisession",
    "multisurvey",
    "raster_covariate",
    "read_camtrapr",
    "read_secr",
    "read_secr_captures",
    "read_secr_mask",
    "read_secr_traps",
    "read_sessions",
    "result",
    "rpsv",
    "secr",
    "sessions_io",
    "split_survey",
    "surface",
    "survey",
    "survey_regions",
    "survey_sessions",
    "write_secr",
]

# The public functions report the package as their home (as numpy's
# ``set_module`` does), so parameter checks and docs name the documented path
# ``trapscape.density.fit_survey``, not the module inside.
for _obj in (
    buffer_check,
    capture_history,
    fit,
    fit_session_models,
    fit_sessions,
    fit_surface,
    fit_survey,
    log_likelihood,
    make_mask,
    raster_covariate,
    read_sessions,
    rpsv,
    split_survey,
    survey_regions,
    survey_sessions,
):
    _obj.__module__ = __name__
del _obj
