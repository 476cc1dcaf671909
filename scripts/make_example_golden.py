"""Store the bundled example's headline numbers as tests/data/example_golden.json.

Run once on a trusted version (``python scripts/make_example_golden.py OUT``
where OUT is the folder of ``trapscape demo --out OUT``).  The test
``tests/test_example_golden.py`` re-runs the example and compares every stored
table cell, so a refactor that changes a number fails loudly.  Re-generate
only for a deliberate, documented change (say which in CHANGELOG.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

# logical table -> its path in a run folder: one list, owned by the test
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_example_golden import CURRENT_PATHS as TABLES


def table_records(path: Path) -> dict[str, list]:
    """A CSV as {column: values}, NaN as None (JSON has no NaN)."""
    df = pd.read_csv(path, keep_default_na=True)
    out: dict[str, list] = {}
    for col in df.columns:
        vals = df[col].tolist()
        out[str(col)] = [None if (isinstance(v, float) and v != v) else v for v in vals]
    return out


def main(run_dir: str, dest: str = "tests/data/example_golden.json") -> None:
    root = Path(run_dir)
    golden = {name: table_records(root / rel) for name, rel in TABLES.items()}
    Path(dest).write_text(
        json.dumps(golden, sort_keys=True, separators=(",", ":")) + "\n"
    )
    print(f"wrote {dest}: {len(golden)} tables")


if __name__ == "__main__":
    main(*sys.argv[1:])
