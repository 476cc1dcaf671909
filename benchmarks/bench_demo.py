"""Benchmark: `trapscape demo` end to end on the bundled example.

Targets (issue 9): under 60 s on 2 cores, peak memory under 2 GB.  Runs the
real command in a subprocess, then prints the time of every step (from the
run's manifest), the wall time and the peak resident memory of the child
process beside the targets, with the ratios.

    .venv/bin/python benchmarks/bench_demo.py [--public] [--offline]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 60.0
TARGET_RSS_GB = 2.0


def main(argv: list[str]) -> int:
    extra = [a for a in argv if a in ("--public", "--offline")]
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        out = Path(tmp) / "demo-output"
        cmd = [
            sys.executable,
            "-c",
            "from trapscape.cli.main import cli; cli()",
            "demo",
            "--out",
            str(out),
            *extra,
        ]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        wall = time.perf_counter() - t0
        peak_gb = (
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2
        )  # KiB -> GiB
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr, sep="\n")
            print(f"trapscape demo failed (exit {proc.returncode})")
            return 1
        man = json.loads((out / "manifest.json").read_text())
        print(f"trapscape demo {' '.join(extra)}".strip())
        print(f"{'step':<11}{'status':<15}{'seconds':>8}")
        for step, rec in man["steps"].items():
            print(f"{step:<11}{rec['status']:<15}{rec['seconds']:8.2f}")
        print(f"{'pipeline':<26}{man['seconds']:8.2f}")
        print(
            f"{'end to end (incl. start-up)':<26}{wall:8.2f}   target {TARGET_SECONDS:.0f} s"
            f"   ratio {wall / TARGET_SECONDS:.2f}"
        )
        print(
            f"{'peak RSS (GB)':<26}{peak_gb:8.2f}   target {TARGET_RSS_GB:.0f} GB"
            f"   ratio {peak_gb / TARGET_RSS_GB:.2f}"
        )
        ok = wall < TARGET_SECONDS and peak_gb < TARGET_RSS_GB
        print("PASS" if ok else "SLOWER OR LARGER THAN TARGET")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
