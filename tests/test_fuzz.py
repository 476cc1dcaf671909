"""Fuzz corpus: mutated copies of the bundled example against the CLI.

Every case copies the example's ``stations.csv``, ``sightings.csv`` and a
light ``survey.toml`` (only the coverage step, coarse cells) into a fresh
folder, mutates one file and runs ``trapscape validate`` (and for some cases
a light ``trapscape run``).  The contract: exit 0, 1 or 3, no traceback in
the output, no exception escaping the CLI other than ``SystemExit``, and an
answer within a time bound.  Cases that could block a reader forever (FIFOs,
devices) run in a subprocess with a timeout.

The hypothesis part is small and derandomized so CI is reproducible; the
longer hand-made corpus is marked ``slow``.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trapscape import datasets
from trapscape.cli.main import cli

EXAMPLE = Path(datasets.get_path("example")).parent
VALIDATE_SECONDS = 20.0
RUN_SECONDS = 60.0
ROOT = Path(__file__).resolve().parents[1]


def _light_toml() -> str:
    """The example's project file, light: only coverage, absolute boundaries."""
    text = (EXAMPLE / "survey.toml").read_text(encoding="utf-8")

    def absolute(m: re.Match[str]) -> str:
        path = (EXAMPLE / m.group(2)).resolve()
        return f'{m.group(1)}"{path.as_posix()}"'

    text = re.sub(r'^(\w+ = )"(\.\./[^"]+)"', absolute, text, flags=re.M)
    steps = "\n".join(
        f"{s} = {'true' if s == 'coverage' else 'false'}"
        for s in ("coverage", "density", "homerange", "corridors", "plan", "map")
    )
    text = re.sub(
        r"\[steps\]\n(.*?)\n\n",
        f"[steps]\n{steps}\nreport = false\n\n",
        text,
        flags=re.S,
    )
    return text.replace("[coverage]\n", "[coverage]\ncell_size = 10000\n", 1)


LIGHT = _light_toml()
FILES = ("stations.csv", "sightings.csv", "survey.toml")


def _fresh(folder: Path) -> Path:
    """Write the light project into *folder*; return its project file."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("stations.csv", "sightings.csv"):
        shutil.copyfile(EXAMPLE / name, folder / name)
    toml = folder / "survey.toml"
    toml.write_text(LIGHT, encoding="utf-8")
    return toml


def _check(res: Result, seconds: float, limit: float) -> None:
    out = res.output
    assert res.exit_code in (0, 1, 3), (res.exit_code, out[-2000:])
    assert "Traceback" not in out, out[-2000:]
    assert res.exception is None or isinstance(res.exception, SystemExit), (
        repr(res.exception),
        out[-2000:],
    )
    assert seconds < limit, seconds


def _validate(toml: Path) -> Result:
    t0 = time.perf_counter()
    res = CliRunner().invoke(cli, ["validate", str(toml)])
    _check(res, time.perf_counter() - t0, VALIDATE_SECONDS)
    return res


def _run(toml: Path) -> Result:
    t0 = time.perf_counter()
    res = CliRunner().invoke(cli, ["run", str(toml), "--out", str(toml.parent / "out")])
    _check(res, time.perf_counter() - t0, RUN_SECONDS)
    return res


def _subprocess(args: list[str], timeout: float = VALIDATE_SECONDS) -> int:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    proc = subprocess.run(
        [sys.executable, "-m", "trapscape", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode in (0, 1, 3), (proc.returncode, out[-2000:])
    assert "Traceback" not in out, out[-2000:]
    return proc.returncode


# ------------------------------------------------------------------ control


def test_control_stays_valid(tmp_path: Path) -> None:
    toml = _fresh(tmp_path)
    assert _validate(toml).exit_code == 0
    res = _run(toml)
    assert res.exit_code == 0, res.output[-2000:]
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_manifest_records_inputs_relative_to_the_project(tmp_path: Path) -> None:
    toml = _fresh(tmp_path / "project")
    assert _run(toml).exit_code == 0
    man = json.loads((tmp_path / "project" / "out" / "manifest.json").read_text())
    inputs = man["inputs"]
    assert inputs["survey.stations"]["path"] == "stations.csv"
    assert inputs["survey.sightings"]["path"] == "sightings.csv"
    assert len(inputs) > 2
    for name, rec in inputs.items():
        assert not os.path.isabs(rec["path"]), (name, rec["path"])
        # the recorded path leads back to the file from the project's folder
        assert (toml.parent / rec["path"]).exists(), (name, rec["path"])
    assert str(tmp_path) not in json.dumps(man)


# ---------------------------------------------------------- hand-made corpus

Mutation = Callable[[Path], None]


def _edit(name: str, fn: Callable[[str], str]) -> Mutation:
    def mutate(folder: Path) -> None:
        f = folder / name
        f.write_text(fn(f.read_text(encoding="utf-8")), encoding="utf-8")

    return mutate


def _bytes(name: str, fn: Callable[[bytes], bytes]) -> Mutation:
    def mutate(folder: Path) -> None:
        f = folder / name
        f.write_bytes(fn(f.read_bytes()))

    return mutate


def _cell(name: str, column: str, value: str, row: int = 0) -> Mutation:
    """Set *column* of data row *row* (0-based) of a CSV to *value*."""

    def fn(text: str) -> str:
        lines = text.splitlines()
        head = lines[0].split(",")
        cells = lines[row + 1].split(",")
        cells[head.index(column)] = value
        lines[row + 1] = ",".join(cells)
        return "\n".join(lines) + "\n"

    return _edit(name, fn)


def _columns(name: str, fn: Callable[[list[list[str]]], list[list[str]]]) -> Mutation:
    def edit(text: str) -> str:
        rows = [line.split(",") for line in text.splitlines()]
        return "\n".join(",".join(r) for r in fn(rows)) + "\n"

    return _edit(name, edit)


def _drop(column: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def fn(rows: list[list[str]]) -> list[list[str]]:
        i = rows[0].index(column)
        return [r[:i] + r[i + 1 :] for r in rows]

    return fn


def _swap(a: str, b: str) -> Callable[[list[list[str]]], list[list[str]]]:
    def fn(rows: list[list[str]]) -> list[list[str]]:
        i, j = rows[0].index(a), rows[0].index(b)
        out = []
        for r in rows[1:]:
            r = list(r)
            r[i], r[j] = r[j], r[i]
            out.append(r)
        return [rows[0], *out]

    return fn


def _toml_set(section: str, line: str) -> Mutation:
    return _edit(
        "survey.toml",
        lambda t: t.replace(f"[{section}]\n", f"[{section}]\n{line}\n", 1),
    )


def _toml_replace(old: str, new: str) -> Mutation:
    def fn(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return _edit("survey.toml", fn)


def _flip(name: str, seed: int, n: int = 8) -> Mutation:
    def fn(data: bytes) -> bytes:
        rng = random.Random(seed)
        buf = bytearray(data)
        for _ in range(n):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
        return bytes(buf)

    return _bytes(name, fn)


def _latin1(name: str) -> Mutation:
    def fn(data: bytes) -> bytes:
        text = data.decode("utf-8").replace("S001", "S\u00e9001", 1)
        return text.encode("latin-1")

    return _bytes(name, fn)


def _link(name: str, target: Callable[[Path], str]) -> Mutation:
    def mutate(folder: Path) -> None:
        f = folder / name
        f.unlink()
        os.symlink(target(folder), f)

    return mutate


def _loop(name: str) -> Mutation:
    def mutate(folder: Path) -> None:
        f = folder / name
        f.unlink()
        os.symlink(folder / "loop_b", f)
        os.symlink(f, folder / "loop_b")

    return mutate


def _directory(name: str) -> Mutation:
    def mutate(folder: Path) -> None:
        (folder / name).unlink()
        (folder / name).mkdir()

    return mutate


ST, SI, PJ = "stations.csv", "sightings.csv", "survey.toml"

CORPUS: dict[str, Mutation] = {
    # truncation
    "stations-empty": _bytes(ST, lambda b: b""),
    "stations-header-only": _bytes(ST, lambda b: b.split(b"\n", 1)[0] + b"\n"),
    "stations-half": _bytes(ST, lambda b: b[: len(b) // 2]),
    "stations-cut-mid-row": _bytes(ST, lambda b: b[:1000]),
    "sightings-empty": _bytes(SI, lambda b: b""),
    "sightings-header-only": _bytes(SI, lambda b: b.split(b"\n", 1)[0] + b"\n"),
    "sightings-half": _bytes(SI, lambda b: b[: len(b) // 2]),
    "project-empty": _bytes(PJ, lambda b: b""),
    "project-half": _bytes(PJ, lambda b: b[: len(b) // 2]),
    # byte flips
    **{f"stations-flip-{s}": _flip(ST, s) for s in range(4)},
    **{f"sightings-flip-{s}": _flip(SI, s) for s in range(4)},
    **{f"project-flip-{s}": _flip(PJ, s, n=3) for s in range(6)},
    "stations-nul-bytes": _bytes(ST, lambda b: b[:500] + b"\x00" * 50 + b[500:]),
    # encodings
    "stations-utf16": _bytes(ST, lambda b: b.decode().encode("utf-16")),
    "sightings-utf16": _bytes(SI, lambda b: b.decode().encode("utf-16")),
    "project-utf16": _bytes(PJ, lambda b: b.decode().encode("utf-16")),
    "stations-latin1": _latin1(ST),
    "sightings-latin1": _bytes(
        SI,
        lambda b: (
            b.decode().replace("orientalis", "orientalis\u00e9", 3).encode("latin-1")
        ),
    ),
    "project-latin1": _bytes(
        PJ, lambda b: b.decode().replace("Leopard", "L\u00e9opard").encode("latin-1")
    ),
    "stations-bom-crlf": _bytes(
        ST, lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n")
    ),
    # columns
    "stations-drop-station_id": _columns(ST, _drop("station_id")),
    "stations-drop-longitude": _columns(ST, _drop("longitude")),
    "stations-drop-setup": _columns(ST, _drop("setup")),
    "stations-drop-retrieval": _columns(ST, _drop("retrieval")),
    "stations-drop-deployment": _columns(ST, _drop("deployment_id")),
    "stations-swap-lon-lat": _columns(ST, _swap("longitude", "latitude")),
    "stations-swap-setup-retrieval": _columns(ST, _swap("setup", "retrieval")),
    "stations-swap-id-lon": _columns(ST, _swap("station_id", "longitude")),
    "sightings-drop-timestamp": _columns(SI, _drop("timestamp")),
    "sightings-drop-station": _columns(SI, _drop("station_id")),
    "sightings-drop-species": _columns(SI, _drop("species")),
    "sightings-drop-count": _columns(SI, _drop("count")),
    "sightings-swap-time-species": _columns(SI, _swap("timestamp", "species")),
    "sightings-swap-station-individual": _columns(
        SI, _swap("station_id", "individual_id")
    ),
    "sightings-swap-sex-count": _columns(SI, _swap("sex", "count")),
    "sightings-repeated-columns": _columns(SI, lambda rows: [r + r for r in rows]),
    "sightings-5mb-cell": _cell(SI, "count", "1" + "x" * 5_000_000),
    # numbers
    "stations-lon-inf": _cell(ST, "longitude", "inf"),
    "stations-lon-nan": _cell(ST, "longitude", "nan"),
    "stations-lat-huge": _cell(ST, "latitude", "1e308"),
    "stations-lon-negzero": _cell(ST, "longitude", "-0.0"),
    "stations-lon-text": _cell(ST, "longitude", "east"),
    "sightings-count-1e20": _cell(SI, "count", "1e20"),
    "sightings-count-inf": _cell(SI, "count", "inf"),
    "sightings-count-nan": _cell(SI, "count", "nan"),
    "sightings-count-negative": _cell(SI, "count", "-3"),
    "sightings-count-huge-int": _cell(SI, "count", "9" * 40),
    "sightings-count-fraction": _cell(SI, "count", "0.5"),
    # dates
    "stations-setup-1600": _cell(ST, "setup", "1600-01-01 12:00:00"),
    "stations-setup-2300": _cell(ST, "setup", "2300-01-01 12:00:00"),
    "stations-setup-feb30": _cell(ST, "setup", "2024-02-30 12:00:00"),
    "stations-setup-month13": _cell(ST, "setup", "2024-13-01 12:00:00"),
    "stations-setup-hour25": _cell(ST, "setup", "2024-01-10 25:00:00"),
    "stations-setup-text": _cell(ST, "setup", "yesterday"),
    "stations-setup-1900": _cell(ST, "setup", "1900-01-01 12:00:00"),
    "stations-retrieval-before-setup": _cell(ST, "retrieval", "2023-01-01 12:00:00"),
    "stations-problem-9999": _cell(ST, "problem1_from", "9999-12-31 00:00:00", row=1),
    "sightings-time-0001": _cell(SI, "timestamp", "0001-01-01 00:00:00"),
    "sightings-time-2262": _cell(SI, "timestamp", "2262-04-12 00:00:00"),
    "sightings-time-feb29-2023": _cell(SI, "timestamp", "2023-02-29 10:00:00"),
    "sightings-time-epoch": _cell(SI, "timestamp", "1704900000"),
    # links and special files
    "stations-symlink-loop": _loop(ST),
    "stations-dangling-link": _link(ST, lambda f: str(f / "nowhere.csv")),
    "stations-dev-null": _link(ST, lambda f: "/dev/null"),
    "sightings-dev-null": _link(SI, lambda f: "/dev/null"),
    "stations-directory": _directory(ST),
    "sightings-link-to-stations": _link(SI, lambda f: str(f / ST)),
    # project-file values
    "project-cell-size-negative": _toml_replace(
        "cell_size = 10000", "cell_size = -1000"
    ),
    "project-cell-size-zero": _toml_replace("cell_size = 10000", "cell_size = 0"),
    "project-cell-size-nan": _toml_replace("cell_size = 10000", "cell_size = nan"),
    "project-cell-size-inf": _toml_replace("cell_size = 10000", "cell_size = inf"),
    "project-cell-size-huge": _toml_replace("cell_size = 10000", "cell_size = 1e308"),
    "project-cell-size-text": _toml_replace("cell_size = 10000", 'cell_size = "big"'),
    "project-cell-size-list": _toml_replace("cell_size = 10000", "cell_size = [1, 2]"),
    "project-crs-garbage": _toml_replace('crs = "EPSG:32652"', 'crs = "EPSG:999999"'),
    "project-crs-number": _toml_replace('crs = "EPSG:32652"', "crs = 32652"),
    "project-crs-wrong-zone": _toml_replace('crs = "EPSG:32652"', 'crs = "EPSG:32612"'),
    "project-date-format-q": _toml_set("survey", 'date_format = "%Q"'),
    "project-date-format-empty": _toml_set("survey", 'date_format = ""'),
    "project-steps-string": _toml_replace("coverage = true", 'coverage = "yes"'),
    "project-unknown-section": _edit(PJ, lambda t: t + "\n[nonsense]\nx = 1\n"),
    "project-unknown-key": _toml_set("coverage", "colour = 3"),
    "project-stations-missing": _toml_replace('"stations.csv"', '"missing.csv"'),
    "project-stations-is-project": _toml_replace('"stations.csv"', '"survey.toml"'),
    "project-stations-absolute-dir": _toml_replace('"stations.csv"', '"/"'),
    "project-elevation-csv": _edit(
        PJ, lambda t: re.sub(r'elevation = "[^"]+"', 'elevation = "stations.csv"', t)
    ),
    "project-study-area-csv": _edit(
        PJ, lambda t: re.sub(r'study_area = "[^"]+"', 'study_area = "stations.csv"', t)
    ),
    "project-percent-200": _edit(
        PJ, lambda t: t.replace("[homerange]\n", "[homerange]\npercent = [50, 200]\n")
    ),
    "project-resolution-1e-300": _toml_set("coverage", "resolution = 1e-300"),
    "project-duplicate-key": _toml_set("coverage", "cell_size = 5000"),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_corpus_validate(name: str, tmp_path: Path) -> None:
    toml = _fresh(tmp_path)
    CORPUS[name](tmp_path)
    _validate(toml)


RUN_CASES = (
    "sightings-count-1e20",
    "stations-setup-1600",
    "project-cell-size-inf",
    "project-date-format-q",
    "stations-swap-lon-lat",
    "sightings-half",
    "project-elevation-csv",
    "project-resolution-1e-300",
)


@pytest.mark.slow
@pytest.mark.parametrize("name", RUN_CASES)
def test_corpus_run(name: str, tmp_path: Path) -> None:
    toml = _fresh(tmp_path)
    CORPUS[name](tmp_path)
    res = _run(toml)
    if res.exit_code == 1:
        assert not (tmp_path / "out" / "manifest.json").exists()


# Regressions from crashes the corpus found stay in the fast part.
FAST_CASES = (
    "stations-setup-1600",
    "project-date-format-q",
    "stations-symlink-loop",
    "sightings-repeated-columns",  # was accepted: the second copy ignored
    "sightings-5mb-cell",  # the error message quoted all 5 MB
)


@pytest.mark.parametrize("name", FAST_CASES)
def test_regressions(name: str, tmp_path: Path) -> None:
    toml = _fresh(tmp_path)
    CORPUS[name](tmp_path)
    res = _validate(toml)
    assert res.exit_code == 1
    assert len(res.output) < 20_000


def test_resolution_far_too_fine_is_refused_by_the_memory_guard(
    tmp_path: Path,
) -> None:
    """Found by the fuzz: a 1e-300 m pdot grid overflowed the memory estimate
    (``OverflowError: int too large to convert to float``, an internal error).
    Now ``validate`` and the start of ``run`` refuse it (exit 1, nothing
    written), since even one 8-byte value per cell cannot fit the budget."""
    toml = _fresh(tmp_path)
    CORPUS["project-resolution-1e-300"](tmp_path)
    for res in (_validate(toml), _run(toml)):
        assert res.exit_code == 1, res.output
        assert "internal error" not in res.output
        assert "memory budget" in res.output
    assert not (tmp_path / "out").exists()


def test_memory_estimate_of_an_astronomical_count() -> None:
    from trapscape._memory import check_budget
    from trapscape.errors import ComputationError

    with pytest.raises(ComputationError, match=r"more than 1e\+300 cells") as err:
        check_budget(10**600, 8.0, what="the grid", suggest=lambda f: f"x{f:g}")
    assert "max_memory_gb" in str(err.value)
    with pytest.raises(ComputationError, match=r"2\.1e\+210 cells") as err:
        check_budget(21 * 10**209, 8.0, what="the grid", suggest=lambda f: "Coarser.")
    assert "Coarser." in str(err.value)


# ------------------------------------------------------------ special files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs os.mkfifo")
@pytest.mark.parametrize("name", [ST, SI])
def test_fifo_input_does_not_hang(name: str, tmp_path: Path) -> None:
    toml = _fresh(tmp_path)
    (tmp_path / name).unlink()
    os.mkfifo(tmp_path / name)
    assert _subprocess(["validate", str(toml)]) == 1


@pytest.mark.slow
def test_dev_zero_raster_does_not_hang(tmp_path: Path) -> None:
    toml = _fresh(tmp_path)
    text = re.sub(r'elevation = "[^"]+"', 'elevation = "/dev/zero"', toml.read_text())
    toml.write_text(text)
    assert _subprocess(["validate", str(toml)]) == 1
    assert _subprocess(["run", str(toml), "--out", str(tmp_path / "out")], 60) == 1


# -------------------------------------------------------------- hypothesis

_FUZZ = settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _validate_bytes(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        toml = _fresh(Path(tmp))
        (Path(tmp) / name).write_bytes(data)
        _validate(toml)


@_FUZZ
@given(
    name=st.sampled_from(FILES),
    flips=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
        min_size=1,
        max_size=12,
    ),
)
def test_hypothesis_byte_flips(name: str, flips: list[tuple[float, int]]) -> None:
    buf = bytearray((EXAMPLE / name).read_bytes() if name != PJ else LIGHT.encode())
    for where, value in flips:
        buf[int(where * len(buf))] = value
    _validate_bytes(name, bytes(buf))


@_FUZZ
@given(name=st.sampled_from(FILES), keep=st.floats(0, 1))
def test_hypothesis_truncation(name: str, keep: float) -> None:
    data = (EXAMPLE / name).read_bytes() if name != PJ else LIGHT.encode()
    _validate_bytes(name, data[: int(keep * len(data))])


_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-(10**30), 10**30).map(str),
    st.dates().map(str),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_characters=",\n\r\"'"),
        max_size=12,
    ),
)


@_FUZZ
@given(
    name=st.sampled_from((ST, SI)),
    row=st.integers(0, 40),
    column=st.integers(0, 8),
    value=_VALUES,
)
def test_hypothesis_cell_values(name: str, row: int, column: int, value: str) -> None:
    lines = (EXAMPLE / name).read_text(encoding="utf-8").splitlines()
    cells = lines[row + 1].split(",")
    cells[column % len(cells)] = value
    lines[row + 1] = ",".join(cells)
    _validate_bytes(name, ("\n".join(lines) + "\n").encode("utf-8"))


_KEYS = st.sampled_from(
    [
        ("coverage", "cell_size"),
        ("coverage", "resolution"),
        ("survey", "crs"),
        ("survey", "date_format"),
        ("homerange", "percent"),
        ("plan", "n_new"),
        ("corridors", "resolution"),
        ("steps", "coverage"),
    ]
)
_TOML_VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(
        lambda x: (
            "nan"
            if x != x
            else (
                "inf"
                if x == float("inf")
                else "-inf"
                if x == float("-inf")
                else repr(x)
            )
        )
    ),
    st.integers(-(10**20), 10**20).map(str),
    st.text(
        alphabet=st.characters(codec="ascii", exclude_characters='"\\\n\r'), max_size=10
    ).map(lambda s: f'"{s}"'),
    st.sampled_from(["true", "[]", "[50, 200]", "{}", "1979-05-27"]),
)


@_FUZZ
@given(key=_KEYS, value=_TOML_VALUES)
def test_hypothesis_project_values(key: tuple[str, str], value: str) -> None:
    section, name = key
    text = (
        re.sub(rf"^{name} = .*\n", "", LIGHT, flags=re.M)
        if section in ("survey", "coverage", "steps")
        else LIGHT
    )
    text = text.replace(f"[{section}]\n", f"[{section}]\n{name} = {value}\n", 1)
    _validate_bytes(PJ, text.encode("utf-8"))
