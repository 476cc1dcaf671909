"""Execute notebooks/walkthrough.ipynb (the Python API on the bundled example)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "walkthrough.ipynb"


@pytest.mark.notebook
def test_walkthrough_notebook_runs(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        nb,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
    ]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    # the last cell's result: the map file was written
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert any(
        "True" in str(o.get("data", {}).get("text/plain", "")) for o in last.outputs
    )
    # the population table lists individuals seen on both sides
    text = "\n".join(str(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert "D" in text and "sigma" in text
    # the multi-session trend table (section 7)
    assert "D~Session lambda0~1 sigma~1" in text and "lambda" in text
