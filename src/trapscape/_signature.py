"""Which keywords a library function takes (signature introspection, core layer).

Used by the step table (:mod:`trapscape._steps`) to check project sections and
by survey-level functions such as :func:`trapscape.coverage.for_survey` to hand
each of their parts the options it takes.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["accepted", "keywords_for"]


def accepted(fn: Callable[..., Any]) -> set[str] | None:
    """Keyword names ``fn`` accepts (None when it takes ``**kwargs``)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    names = set()
    for p in sig.parameters.values():
        if p.kind is p.VAR_KEYWORD:
            return None
        if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.add(p.name)
    return names


def keywords_for(fn: Callable[..., Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """The ``options`` that ``fn`` takes as keywords (all when it takes ``**kwargs``)."""
    names = accepted(fn)
    return {k: v for k, v in options.items() if names is None or k in names}
