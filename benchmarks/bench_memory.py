"""Benchmark: the corridor step's memory estimate against its measured peak.

For a few resolutions the bundled example's corridor step
(:func:`trapscape.corridors.corridors_for_survey`, resistance from the four
project layers, least-cost network, pairwise circuit) runs in a fresh
subprocess.  The peak is the process's maximum resident set size
(``resource.getrusage(...).ru_maxrss``) minus its resident size just before
the step (imports and the survey already loaded), i.e. what the step itself
added.  The estimate is the one the up-front check uses
(:func:`trapscape.corridors._grid.corridor_stage_bytes`, the largest stage,
on the grid size known before any layer is read).  The estimate must be at
least the peak (ratio >= 1).

Run: ``python benchmarks/bench_memory.py [--resolutions 400 250 160]``
(about a minute on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example" / "survey.toml"

_CHILD = r"""
import json, resource, sys, warnings
warnings.simplefilter("ignore")
from trapscape.project import load_project
from trapscape import corridors as C
from trapscape.corridors._grid import corridor_stage_bytes, snapped_cells
from trapscape.corridors.survey import _survey_bounds

res = float(sys.argv[1])
proj = load_project(sys.argv[2])
survey = proj.survey
rasters = dict(proj.params.get("rasters", {}))
bounds = _survey_bounds(survey, [], 5000.0)
n_up = snapped_cells(bounds, res)
stages = corridor_stage_bytes(n_up, len(survey.parks))
with open("/proc/self/statm") as f:
    before = int(f.read().split()[1]) * resource.getpagesize()
out = C.corridors_for_survey(
    survey, rasters=rasters, resolution=res, max_memory_gb=1e6
)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
grid = out.resistance
print(json.dumps({
    "resolution": res,
    "cells_estimated": n_up,
    "cells_built": int(grid.size),
    "valid_cells": int(grid.notnull().sum()),
    "solver": out.circuit.solver,
    "stages": stages,
    "estimate": max(stages.values()),
    "peak": peak - before,
}))
"""


def measure(resolution: float, project: Path) -> dict:
    """Run the step at ``resolution`` in a subprocess; its numbers."""
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(resolution), str(project)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--resolutions", type=float, nargs="+", default=[400, 250, 160])
    ap.add_argument("--project", type=Path, default=EXAMPLE)
    args = ap.parse_args()
    mib = 2**20
    print(
        f"{'res m':>6} {'cells':>10} {'valid':>9} {'solver':>7} "
        f"{'estimate MiB':>13} {'peak MiB':>9} {'est/peak':>9}"
    )
    worst = float("inf")
    for r in args.resolutions:
        m = measure(r, args.project)
        ratio = m["estimate"] / max(m["peak"], 1)
        worst = min(worst, ratio)
        print(
            f"{r:6.0f} {m['cells_estimated']:10,} {m['valid_cells']:9,} "
            f"{m['solver']:>7} {m['estimate'] / mib:13.0f} {m['peak'] / mib:9.0f} "
            f"{ratio:9.2f}"
        )
    print(f"smallest estimate/peak: {worst:.2f} (must be >= 1)")
    sys.exit(0 if worst >= 1 else 1)


if __name__ == "__main__":
    main()
