"""Allowed values of step keywords (trapscape._steps), shared by project and pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest

from trapscape import pipeline
from trapscape._steps import Choices, allowed_values, literal_hints
from trapscape.errors import InputError


def one(*, mode: Literal["a", "b"] = "a", n: int = 1, free: str = "x") -> None:
    """A step with one restricted keyword."""


def two(
    *, mode: Literal["b", "c"] | None = None, opt: Literal[1, 2] | None = None
) -> None:
    """Overlaps ``one`` on ``mode`` and accepts None for it."""


def loose(*, mode: str = "a", other: Literal["x"] = "x") -> None:
    """Takes any string for ``mode``."""


def anything(**kwargs: Any) -> None:
    """Takes any keyword."""


def test_single_function_lists_literal_keywords_only() -> None:
    got = allowed_values(one)
    assert list(got) == ["mode"]
    assert got["mode"] == Choices(("a", "b"), False, (f"{__name__}.one",))


def test_union_over_functions_and_none_from_any_function() -> None:
    got = allowed_values([one, two])
    assert got["mode"].values == ("a", "b", "c")
    assert got["mode"].none_ok  # two() accepts None
    assert got["mode"].owners == (f"{__name__}.one", f"{__name__}.two")
    assert got["opt"] == Choices((1, 2), True, (f"{__name__}.two",))
    assert got["mode"].allows("c") and got["mode"].allows(None)
    assert not got["mode"].allows("d")


def test_free_type_in_any_function_lifts_the_restriction() -> None:
    got = allowed_values([one, loose])
    assert "mode" not in got  # loose() takes any string
    assert got["other"].values == ("x",)
    # **kwargs takes any keyword with any value
    assert allowed_values([one, anything]) == {}
    assert literal_hints(anything) == ({}, True)


def test_bool_is_not_an_int_literal() -> None:
    c = allowed_values(two)["opt"]
    assert c.allows(1) and not c.allows(True) and not c.allows(3)


def test_unresolvable_annotations_cost_only_their_keyword() -> None:
    def step(
        data: UnknownType,  # noqa: F821 (deliberately unresolvable)
        *,
        how: Literal["a", "b"] | None = None,
        other: Unknown2 = None,  # noqa: F821
    ) -> None:
        """``Literal`` is a local name here: resolved from typing anyway."""

    got = allowed_values(step)
    assert got == {
        "how": Choices(("a", "b"), True, (step.__module__ + "." + step.__qualname__,))
    }


def test_project_and_pipeline_agree_on_optional_literal(tmp_path) -> None:
    # corridors_for_survey: mode: Literal["pairwise", "one_to_all"] | None
    from trapscape.corridors import corridors_for_survey
    from trapscape.project import _check_choices

    c = allowed_values(corridors_for_survey)["mode"]
    assert c.values == ("pairwise", "one_to_all") and c.none_ok
    assert _check_choices("corridors", {"mode": "pairwise"}) == []
    bad = _check_choices("corridors", {"mode": "both"})
    assert len(bad) == 1 and "use one of 'pairwise', 'one_to_all'" in bad[0]
    with pytest.raises(
        InputError, match=r"\[corridors\] mode = 'both' is not allowed; use one of"
    ):
        pipeline._check_params({"corridors": {"mode": "both"}}, "survey.toml")
    ok = pipeline._check_params({"corridors": {"mode": "one_to_all"}}, "survey.toml")
    assert ok["corridors"] == {"mode": "one_to_all"}


def test_read_false_skips_value_check_and_step_imports(tmp_path) -> None:
    import subprocess
    import sys

    (tmp_path / "st.csv").write_text("x\n")
    f = tmp_path / "survey.toml"
    f.write_text(
        '[survey]\ncrs = "EPSG:32652"\nstations = "st.csv"\n\n'
        '[density]\nmodel = "zones"\n\n[corridors]\nsolver = "fast"\n'
    )
    code = (
        "import sys\n"
        "from trapscape.project import load_project\n"
        f"p = load_project({str(f)!r}, read=False)\n"
        "print(p.step('density')['model'])\n"
        "print(sorted(m for m in ('trapscape.density', 'trapscape.corridors')"
        " if m in sys.modules))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert res.stdout.splitlines() == ["zones", "[]"]


# ------------------------------------------------------------------ value rules
def _numeric_parameters() -> set[str]:
    import inspect

    from trapscape import _steps

    names: set[str] = set()
    for section in _steps.STEP_SECTIONS:
        for fn in _steps.section_functions(section):
            for p in inspect.signature(fn).parameters.values():
                d = p.default
                if (isinstance(d, (int, float)) and not isinstance(d, bool)) or (
                    isinstance(d, tuple) and d and isinstance(d[0], (int, float))
                ):
                    names.add(p.name)
    return names


def test_every_numeric_step_parameter_has_a_value_rule() -> None:
    from trapscape._steps import RESERVED, VALUE_RULES

    assert _numeric_parameters() - RESERVED - set(VALUE_RULES) == set()


def test_every_value_rule_names_a_real_parameter() -> None:
    from trapscape import _steps

    known: set[str] = set().union(*_steps.PIPELINE_KEYS.values())
    for section in _steps.STEP_SECTIONS:
        for fn in _steps.section_functions(section):
            known |= _steps.accepted(fn) or set()
    assert {k.split(".")[-1] for k in _steps.VALUE_RULES} - known == set()
    sections = {k.split(".")[0] for k in _steps.VALUE_RULES if "." in k}
    assert sections <= set(_steps.STEP_SECTIONS)


def test_a_section_rule_wins_over_the_names_rule() -> None:
    from trapscape import _steps

    # Omniscape's buffer is a count of cells that may be 0 ...
    assert _steps.value_problems("omniscape", {"buffer": 0}) == []
    assert _steps.value_problems("omniscape", {"buffer": -1})
    assert _steps.value_problems("omniscape", {"buffer": 1.5})
    # ... while a corridors buffer stays a positive distance in metres
    assert _steps.value_problems("corridors", {"buffer": 0})


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("coverage", "cell_size", -1000.0),
        ("coverage", "cell_size", 0),
        ("coverage", "cell_size", float("nan")),
        ("coverage", "cell_size", float("inf")),
        ("homerange", "percent", [50, 200]),
        ("homerange", "percent", 0),
        ("report", "percent", 100.5),
        ("plan", "n_new", -3),
        ("plan", "n_new", 2.5),
        ("plan", "threshold", 1.5),
        ("corridors", "resolution", -500.0),
        ("corridors", "n_jobs", 0),
        ("detection", "g0", -0.1),
        ("run", "public_cell", 0),
        ("plan", "objectives", {"area": float("inf")}),  # nested numbers too
    ],
)
def test_value_rules_refuse(section: str, key: str, value: Any) -> None:
    from trapscape._steps import value_problems

    problems = value_problems(section, {key: value})
    assert [k for _m, k in problems] == [key]
    assert f"[{section}] {key} = " in problems[0][0]
    with pytest.raises(InputError, match=rf"\[{section}\] {key} = "):
        pipeline._check_params({section: {key: value}}, "survey.toml")


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("coverage", "cell_size", 1),
        ("homerange", "percent", [50, 100]),
        ("homerange", "percent", 0.5),
        ("homerange", "h", "href"),  # strings are left to the type checks
        ("plan", "n_new", 0),
        ("plan", "threshold", 0),
        ("corridors", "pinch_quantile", 1.0),
        ("density", "buffer", None),
        ("coverage", "independence_minutes", 0),
    ],
)
def test_value_rules_accept(section: str, key: str, value: Any) -> None:
    from trapscape._steps import check_section, value_problems

    assert value_problems(section, {key: value}) == []
    check_section(section, {key: value}, None)  # does not raise


def test_check_section_applies_value_rules_for_commands() -> None:
    from trapscape._steps import check_section

    with pytest.raises(InputError) as info:
        check_section("plan", {"n_new": -3, "threshold": 2.0}, "p.toml")
    text = str(info.value)
    assert (
        "[plan] n_new = -3 is out of range: n_new must be a whole number >= 0" in text
    )
    assert "threshold must be a probability in [0, 1]" in text


def test_path_problem_kinds_and_special_files(tmp_path) -> None:
    import os

    from trapscape._steps import path_problem

    csv = tmp_path / "elev.csv"
    csv.write_text("x,y\n")
    tif = tmp_path / "elev.tif"
    tif.write_bytes(b"II*\x00")
    assert path_problem("rasters", "elevation", tif) is None
    assert "is not a raster" in (path_problem("rasters", "elevation", csv) or "")
    assert "is not a raster" in (path_problem("rasters", "landcover", csv) or "")
    assert path_problem("rasters", "rivers", tmp_path / "r.gpkg") == "file not found"
    (tmp_path / "r.gpkg").write_bytes(b"")
    assert path_problem("rasters", "rivers", tmp_path / "r.gpkg") is None
    assert "is not a vector layer" in (path_problem("rasters", "rivers", tif) or "")
    assert "is not a vector layer" in (path_problem("boundaries", "parks", csv) or "")
    assert path_problem("survey", "stations", csv) is None
    assert path_problem("survey", "camtrap_dp", tmp_path) is None  # a folder is ok
    assert path_problem("rasters", "elevation", tmp_path) == "is a folder, not a file"
    assert path_problem("rasters", "elevation", "/dev/zero") == (
        "is a device, not a regular file"
    )
    if hasattr(os, "mkfifo"):
        os.mkfifo(tmp_path / "p.tif")
        assert "FIFO" in (
            path_problem("rasters", "elevation", tmp_path / "p.tif") or ""
        )
        os.symlink("loop.tif", tmp_path / "loop.tif")
        why = path_problem("rasters", "elevation", tmp_path / "loop.tif") or ""
        assert why.startswith("cannot be read")


def test_manifest_does_not_read_special_files(tmp_path) -> None:
    import hashlib

    from trapscape.pipeline.manifest import _sha256

    f = tmp_path / "a.txt"
    f.write_bytes(b"abc" * 1000)
    assert _sha256(f) == hashlib.sha256(b"abc" * 1000).hexdigest()
    assert _sha256(Path("/dev/zero")) == "not a regular file"  # returns at once
