"""The bundled example's headline numbers are kept across refactors.

``tests/data/example_golden.json`` holds, per table, every cell of the
example's result tables as written by ``trapscape demo`` before the
one-owner-per-rule re-layout (issue 12); ``scripts/make_example_golden.py``
made it.  This test re-runs the example and compares each stored column cell
by cell: numbers to 1e-9 relative, text exactly.  A table whose file moved is
looked up under its current name (``CURRENT_PATHS``).

One deliberate change since: ``plan_proposed`` holds the plan of the exact
lazy greedy (same picks as plain greedy; the earlier lazy search was not
exact for this non-submodular objective), see CHANGELOG.md.

Issue 14 changed, deliberately: home ranges are clipped to land and
re-estimated on wider grids where adehabitatHR's grid cut them
(``home_range_areas``, ``share_<zone>`` of ``cross_border_individuals``);
``cross_border_population`` lost its double-counting "multiple zones" row;
the candidate reserve is limited to the countries holding stations
(``reserve_areas``: no North Korea column, a ``countries`` column).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

GOLDEN = Path(__file__).parent / "data" / "example_golden.json"

# logical table -> where the run writes it today
CURRENT_PATHS: dict[str, str] = {
    "density_estimates": "density/estimates.csv",
    "region_n": "density/region_n.csv",
    "home_range_areas": "homerange/home_range_areas.csv",
    "cross_border_population": "homerange/cross_border_population.csv",
    "cross_border_individuals": "homerange/cross_border_individuals.csv",
    "pair_costs": "corridors/pair_costs.csv",
    "effective_resistance": "corridors/effective_resistance.csv",
    "border_hotspots": "corridors/border_hotspots.csv",
    "coverage_stats": "coverage/coverage_stats.csv",
    "pdot_summary": "coverage/pdot_summary.csv",
    "effort_total": "effort/effort_total.csv",
    "effort_per_zone": "effort/effort_per_zone.csv",
    "plan_proposed": "plan/proposed_stations.csv",
    "reserve_areas": "reserve_areas.csv",
    "individuals_by_country": "individuals_by_country.csv",
}


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("golden") / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "trapscape", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def _same(a: object, b: object) -> bool:
    if a is None or b is None:
        na = a is None or (isinstance(a, float) and math.isnan(a))
        nb = b is None or (isinstance(b, float) and math.isnan(b))
        return na and nb
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-12)
    return str(a) == str(b)


@pytest.mark.slow
@pytest.mark.parametrize("table", sorted(CURRENT_PATHS))
def test_example_numbers_unchanged(example_run: Path, table: str) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert set(golden) == set(CURRENT_PATHS)
    got = pd.read_csv(example_run / CURRENT_PATHS[table])
    want = golden[table]
    for col, values in want.items():
        assert col in got.columns, f"{table}: column {col!r} missing"
        assert len(got) == len(values), (
            f"{table}: {len(got)} rows, expected {len(values)}"
        )
        for i, (g, w) in enumerate(zip(got[col].tolist(), values, strict=True)):
            assert _same(g, w), f"{table}[{i}, {col!r}]: {g!r} != {w!r}"


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["ru", "zh"])
def test_every_step_message_of_the_example_is_translated(
    example_run: Path, lang: str
) -> None:
    """The report translates step messages by patterns mirroring the steps' wording.

    If a step's message changes (or a new step is added) without a matching
    pattern in ``present.i18n.PHRASES`` / ``WORDS`` and a catalog entry, the
    translated report would show it in English: this catches the drift.
    """
    from trapscape.present.i18n import gettext, language, phrase

    steps = json.loads((example_run / "manifest.json").read_text())["steps"]
    assert len(steps) >= 10, "the manifest lists too few steps"
    untranslated = []
    with language(lang):
        for name, rec in steps.items():
            if gettext(name) == name:
                untranslated.append(name)
            msg = rec["message"]
            # file names (``map.html``) stay as they are
            if msg and not re.fullmatch(r"[\w./-]+\.\w+", msg) and phrase(msg) == msg:
                untranslated.append(f"{name}: {msg}")
    assert untranslated == []
