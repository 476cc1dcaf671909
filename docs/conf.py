"""Sphinx configuration: the trapscape site, built from the Markdown in docs/ (MyST).

Build with ``make docs`` (HTML in docs/_build/html); the test suite builds it
with warnings as errors (tests/test_docs.py).
"""

from __future__ import annotations

import importlib.metadata

project = "trapscape"
author = "trapscape developers"
copyright = "2026, trapscape developers"
release = importlib.metadata.version("trapscape")
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx_click",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_mock_imports: list[str] = []
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False

html_theme = "furo"
html_title = f"trapscape {release}"
