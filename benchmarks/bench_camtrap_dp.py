"""Benchmark: validating a Camtrap DP package with 100,000 observations.

Builds a package from the metadata of the official example
(``tests/data/camtrap-dp``): 50 deployments, 100,000 media and 100,000
media-level animal observations, all valid.  Times

* trapscape's standard checks alone (descriptor against the profile,
  tables against their schemas, the field-description rules), and
* ``trapscape.io.read_camtrap_dp`` (the checks plus reading the survey,
  what ``trapscape validate`` does);

then, unless ``--no-frictionless``, ``frictionless.validate`` on the same
package (its table schemas given as local files, so nothing is downloaded;
it checks layer 2 only) and prints the ratio.  Target: the read under 10 s
on 2 cores.

Run: PYTHONPATH=src .venv/bin/python benchmarks/bench_camtrap_dp.py \
        [--observations 100000] [--no-frictionless]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

EXAMPLE = Path(__file__).resolve().parents[1] / "tests" / "data" / "camtrap-dp"
SCHEMAS = (
    Path(__file__).resolve().parents[1]
    / "src"
    / "trapscape"
    / "io"
    / "camtrap_dp_schemas"
)
N_DEPLOYMENTS = 50


def make_package(folder: Path, n: int) -> Path:
    """A valid package with ``n`` media and ``n`` observations in ``folder``."""
    rng = np.random.default_rng(16)
    desc = json.loads((EXAMPLE / "datapackage.json").read_text(encoding="utf-8"))
    desc["temporal"] = {"start": "2021-01-01", "end": "2021-12-31"}
    desc["spatial"] = {"type": "Polygon", "bbox": [4.5, 51.0, 5.0, 51.5]}
    desc["taxonomic"] = [
        {"scientificName": n} for n in ("Vulpes vulpes", "Meles meles")
    ]
    (folder / "datapackage.json").write_text(json.dumps(desc), encoding="utf-8")
    dep = pd.read_csv(EXAMPLE / "deployments.csv", dtype=str, keep_default_na=False)
    deps = dep.loc[np.arange(N_DEPLOYMENTS) % len(dep)].reset_index(drop=True)
    deps["deploymentID"] = [f"d{i:03d}" for i in range(N_DEPLOYMENTS)]
    deps["locationID"] = [f"L{i:03d}" for i in range(N_DEPLOYMENTS)]
    deps["cameraID"] = [f"C{i:03d}" for i in range(N_DEPLOYMENTS)]
    deps["latitude"] = (51.0 + rng.uniform(0, 0.5, N_DEPLOYMENTS)).round(5)
    deps["longitude"] = (4.5 + rng.uniform(0, 0.5, N_DEPLOYMENTS)).round(5)
    deps["deploymentStart"] = "2021-01-01T00:00:00+01:00"
    deps["deploymentEnd"] = "2021-12-31T00:00:00+01:00"
    _write(deps, "deployments", folder)
    start = pd.Timestamp("2021-01-01T00:00:00Z")
    secs = np.sort(rng.integers(3600, 360 * 86400, n))
    when = (start + pd.to_timedelta(secs, unit="s")).strftime("%Y-%m-%dT%H:%M:%SZ")
    dep_of = np.array(deps["deploymentID"])[rng.integers(0, N_DEPLOYMENTS, n)]
    mid = [f"m{i:06d}" for i in range(n)]
    media = pd.DataFrame(
        {
            "mediaID": mid,
            "deploymentID": dep_of,
            "captureMethod": "activityDetection",
            "timestamp": when,
            "filePath": [f"media/{m}.jpg" for m in mid],
            "filePublic": "true",
            "fileName": [f"{m}.jpg" for m in mid],
            "fileMediatype": "image/jpeg",
        }
    )
    _write(media, "media", folder)
    obs = pd.DataFrame(
        {
            "observationID": [f"o{i:06d}" for i in range(n)],
            "deploymentID": dep_of,
            "mediaID": mid,
            "eventID": [f"e{i // 3:06d}" for i in range(n)],
            "eventStart": when,
            "eventEnd": when,
            "observationLevel": "media",
            "observationType": "animal",
            "scientificName": rng.choice(["Vulpes vulpes", "Meles meles"], n),
            "count": rng.integers(1, 4, n),
            "sex": rng.choice(["female", "male", ""], n),
            "classificationMethod": "human",
        }
    )
    _write(obs, "observations", folder)
    return folder


def _write(frame: pd.DataFrame, name: str, folder: Path) -> None:
    """Write every field of the table's schema, in its order (blank when absent)."""
    schema = json.loads((SCHEMAS / f"{name}-table-schema.json").read_text())
    names = [f["name"] for f in schema["fields"]]
    frame.reindex(columns=names).to_csv(folder / f"{name}.csv", index=False)


def frictionless_copy(folder: Path) -> Path:
    """The descriptor with local table schemas and the generic profile."""
    desc = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    desc.pop("profile", None)  # the Camtrap DP profile URL would be fetched
    for res in desc["resources"]:
        if res["name"] in ("deployments", "media", "observations"):
            shutil.copy(SCHEMAS / f"{res['name']}-table-schema.json", folder)
            res["schema"] = f"{res['name']}-table-schema.json"
    out = folder / "frictionless.json"
    out.write_text(json.dumps(desc), encoding="utf-8")
    return out


def main() -> None:
    """Build the package, time the checks, compare with frictionless."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--no-frictionless", action="store_true")
    args = parser.parse_args()

    from trapscape import io as tio
    from trapscape.errors import ProblemCollector
    from trapscape.io import camtrap_dp

    with tempfile.TemporaryDirectory() as tmp:
        pkg = make_package(Path(tmp), args.observations)
        t0 = time.perf_counter()
        chk = ProblemCollector()
        _, desc = camtrap_dp._read_package(pkg, chk)  # type: ignore[misc]
        frames = {
            n: camtrap_dp._dp_resource(desc, n, pkg, chk, "datapackage.json")
            for n in ("deployments", "media", "observations")
        }
        camtrap_dp._check_standard(desc, frames, pkg, chk, "datapackage.json")
        t_check = time.perf_counter() - t0
        assert len(chk) == 0, chk.message()
        t0 = time.perf_counter()
        survey = tio.read_camtrap_dp(pkg)
        t_read = time.perf_counter() - t0
        print(
            f"{args.observations:,} observations: standard checks {t_check:.2f} s "
            f"(reading the CSVs included); read_camtrap_dp {t_read:.2f} s "
            f"({len(survey.sightings):,} sightings)"
        )
        if args.no_frictionless:
            return
        import frictionless

        desc_path = frictionless_copy(pkg)
        t0 = time.perf_counter()
        report = frictionless.validate(str(desc_path))
        t_fl = time.perf_counter() - t0
        print(
            f"frictionless.validate (table schemas only): {t_fl:.2f} s, "
            f"valid={report.valid}; ratio frictionless / trapscape read = "
            f"{t_fl / t_read:.1f}x"
        )


if __name__ == "__main__":
    main()
