"""The documentation site builds from docs/ with warnings as errors.

A broken cross-reference, a docstring Sphinx cannot parse, a page left out of
the table of contents or a command missing from the CLI reference fails here,
so the docs cannot drift from the code unnoticed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(DOCS),
            str(tmp_path / "html"),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-5000:]
    html = tmp_path / "html"
    cli_page = (html / "cli.html").read_text()
    for command in (
        "validate",
        "coverage",
        "density",
        "homerange",
        "corridors",
        "plan",
        "run",
    ):
        assert f'id="trapscape-{command}"' in cli_page, command
    api_page = (html / "api.html").read_text()
    assert "trapscape.homerange.kde" in api_page
    assert "trapscape.pipeline.run_project" in api_page
