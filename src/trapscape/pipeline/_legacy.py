"""TEMPORARY adapter: :class:`~trapscape.products.RunProducts` -> the old ``products`` dict.

The renderers (``maps.survey_map``, ``report.write_report``,
``figures.write_figures``) still read a string-keyed dict.  Another branch
converts them (``present/``) to take :class:`RunProducts`.

MERGER: delete this module once the renderers take ``RunProducts`` and
replace ``legacy_products_dict(x)`` by ``x`` in ``pipeline/steps.py``.
"""

from __future__ import annotations

from typing import Any

from ..products import RunProducts

__all__ = ["legacy_products_dict"]


def legacy_products_dict(products: RunProducts) -> dict[str, Any]:
    """The fields that hold a result, keyed by field name (the old dict)."""
    return {name: getattr(products, name) for name in products.present()}
