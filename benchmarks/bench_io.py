"""Benchmark: read + validate a large survey vs. a bare pandas read.

400 camera deployments and 100,000 sightings (CSV).  Baseline: pandas
``read_csv`` + ``to_datetime`` of the two files (no checks at all).
trapscape: ``io.read_survey`` (column aliases, per-row date checks, working
period of every sighting, reprojection).

Run: .venv/bin/python benchmarks/bench_io.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from trapscape import io as tio

N_STATIONS = 400
N_SIGHTINGS = 100_000


def make_files(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    sid = [f"S{i:03d}" for i in range(N_STATIONS)]
    st = pd.DataFrame(
        {
            "station_id": sid,
            "longitude": 131.0 + rng.uniform(0, 0.8, N_STATIONS),
            "latitude": 42.8 + rng.uniform(0, 0.6, N_STATIONS),
            "setup": "2024-01-01",
            "retrieval": "2024-12-31",
            "problem1_from": "2024-06-01",
            "problem1_to": "2024-06-10",
        }
    )
    st_path = folder / "stations.csv"
    st.to_csv(st_path, index=False)
    t0 = pd.Timestamp("2024-01-02")
    offs = rng.uniform(0, 140, N_SIGHTINGS)  # days; before the June malfunction
    si = pd.DataFrame(
        {
            "Station": rng.choice(sid, N_SIGHTINGS),
            "DateTimeOriginal": (t0 + pd.to_timedelta(offs, unit="D")).strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "Species": "Panthera pardus orientalis",
            "Individual": rng.choice(["", "L1", "L2", "L3"], N_SIGHTINGS),
            "Count": 1,
        }
    )
    si_path = folder / "sightings.csv"
    si.to_csv(si_path, index=False)
    return st_path, si_path


def baseline(st_path: Path, si_path: Path) -> None:
    st = pd.read_csv(st_path)
    for c in ("setup", "retrieval", "problem1_from", "problem1_to"):
        st[c] = pd.to_datetime(st[c])
    si = pd.read_csv(si_path)
    si["DateTimeOriginal"] = pd.to_datetime(si["DateTimeOriginal"])


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        st_path, si_path = make_files(Path(tmp))
        t = time.perf_counter()
        baseline(st_path, si_path)
        t_base = time.perf_counter() - t
        t = time.perf_counter()
        survey = tio.read_survey(stations=st_path, sightings=si_path)
        t_ours = time.perf_counter() - t
    assert len(survey.sightings) == N_SIGHTINGS
    print(f"read {N_STATIONS} deployments + {N_SIGHTINGS:,} sightings")
    print(f"  baseline pandas read_csv + to_datetime: {t_base:6.2f} s")
    print(f"  trapscape io.read_survey (validated):  {t_ours:6.2f} s")
    print(f"  ratio: {t_ours / t_base:.1f}x")


if __name__ == "__main__":
    main()
