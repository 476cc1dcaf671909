"""Benchmark: the error path of the readers on files with 10,000 bad rows.

Writes a stations file (400 good deployments plus 10,000 rows with an
unreadable setup date) and a sightings file (10,000 rows at unknown
stations, 10,000 outside every deployment, 10,000 with a bad count), reads
each with ``io.read_stations`` / ``io.build_survey`` and times the
``InputError`` that lists the problems.

With ``--compare SRC`` it runs the same measurement on another source tree
(e.g. the main branch's ``src``) in a subprocess and prints the ratio.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_bad_rows.py \
        [--compare /path/to/main/src]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

N_GOOD = 400
N_BAD = 10_000


def make_files(folder: Path) -> tuple[Path, Path, Path]:
    """(good stations, stations with bad rows, sightings with bad rows)."""
    rng = np.random.default_rng(3)
    sid = [f"S{i:03d}" for i in range(N_GOOD)]
    good = pd.DataFrame(
        {
            "station_id": sid,
            "longitude": 131.0 + rng.uniform(0, 0.8, N_GOOD),
            "latitude": 42.8 + rng.uniform(0, 0.6, N_GOOD),
            "setup": "2024-01-01",
            "retrieval": "2024-06-30",
        }
    )
    good_path = folder / "stations.csv"
    good.to_csv(good_path, index=False)
    bad = pd.DataFrame(
        {
            "station_id": [f"X{i:05d}" for i in range(N_BAD)],
            "longitude": 131.0 + rng.uniform(0, 0.8, N_BAD),
            "latitude": 42.8 + rng.uniform(0, 0.6, N_BAD),
            "setup": [f"31/{1 + i % 12}/2024x" for i in range(N_BAD)],
            "retrieval": "2024-06-30",
        }
    )
    bad_st = folder / "stations_bad.csv"
    pd.concat([good, bad]).to_csv(bad_st, index=False)
    t0 = pd.Timestamp("2024-02-01")
    ok_times = (t0 + pd.to_timedelta(rng.uniform(0, 60, N_BAD), unit="D")).strftime(
        "%Y-%m-%d %H:%M:%S"
    )
    late = pd.Timestamp("2024-08-01") + pd.to_timedelta(np.arange(N_BAD), unit="min")
    si = pd.DataFrame(
        {
            "station_id": np.r_[
                [f"Q{i:05d}" for i in range(N_BAD)],
                rng.choice(sid, N_BAD),
                rng.choice(sid, N_BAD),
            ],
            "timestamp": np.r_[ok_times, late.strftime("%Y-%m-%d %H:%M:%S"), ok_times],
            "species": "Panthera pardus orientalis",
            "count": np.r_[np.ones(2 * N_BAD, dtype=int).astype(str), ["-2"] * N_BAD],
        }
    )
    bad_si = folder / "sightings_bad.csv"
    si.to_csv(bad_si, index=False)
    return good_path, bad_st, bad_si


def measure() -> dict[str, float]:
    """Seconds to the error of each bad file (in this interpreter's trapscape)."""
    from trapscape import io as tio
    from trapscape.errors import InputError

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        good, bad_st, bad_si = make_files(Path(tmp))
        for name, call in (
            ("stations", lambda: tio.read_stations(bad_st)),
            ("sightings", lambda: tio.build_survey(stations=good, sightings=bad_si)),
        ):
            t = time.perf_counter()
            try:
                call()
            except InputError as err:
                n = len(err.problems)
                size = len(str(err))
            else:
                raise SystemExit(f"{name}: no error raised")
            out[name] = time.perf_counter() - t
            out[f"{name}_problems"] = n
            out[f"{name}_message_chars"] = size
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--compare", help="another trapscape src folder (the 'before')")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    now = measure()
    if args.json:
        print(json.dumps(now))
        return
    for k in ("stations", "sightings"):
        print(
            f"{k:10s} {now[k]:7.2f} s  ({int(now[f'{k}_problems'])} problems, "
            f"message {int(now[f'{k}_message_chars'])} chars)"
        )
    if args.compare:
        env = dict(os.environ, PYTHONPATH=args.compare)
        res = subprocess.run(
            [sys.executable, __file__, "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        before = json.loads(res.stdout.strip().splitlines()[-1])
        for k in ("stations", "sightings"):
            print(
                f"{k:10s} before {before[k]:7.2f} s ({int(before[f'{k}_problems'])} "
                f"problems, message {int(before[f'{k}_message_chars'])} chars), "
                f"after {now[k]:6.2f} s: {before[k] / now[k]:5.1f}x faster"
            )


if __name__ == "__main__":
    main()
