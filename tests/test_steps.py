"""Allowed values of step keywords (trapscape._steps), shared by project and pipeline."""

from __future__ import annotations

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
