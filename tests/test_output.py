"""Safe output writing shared by every command."""

from __future__ import annotations

import pytest

from trapscape._output import check_outputs, staged_outputs
from trapscape.errors import InputError


def test_new_folder_is_created_whole(tmp_path):
    out = tmp_path / "res"
    with staged_outputs(out, ["a.csv", "b.tif"], overwrite=False) as tmp:
        (tmp / "a.csv").write_text("1")
        (tmp / "b.tif").write_text("2")
        assert not out.exists()  # nothing visible before success
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "b.tif"]
    assert [p.name for p in tmp_path.iterdir()] == ["res"]  # no temp left


def test_failure_leaves_nothing(tmp_path):
    out = tmp_path / "res"
    with pytest.raises(RuntimeError), staged_outputs(out, ["a.csv"], overwrite=False) as tmp:
        (tmp / "a.csv").write_text("half")
        raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_and_keeps_other_files(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "a.csv").write_text("old")
    (out / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match="already holds a.csv.*--overwrite"):
        check_outputs(out, ["a.csv"], overwrite=False)
    with staged_outputs(out, ["a.csv"], overwrite=True) as tmp:
        (tmp / "a.csv").write_text("new")
    assert (out / "a.csv").read_text() == "new"
    assert (out / "mine.txt").read_text() == "keep"


def test_whole_folder_mode(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "stale.csv").write_text("old")
    with pytest.raises(InputError, match="stale.csv"):
        check_outputs(out, None, overwrite=False)
    with staged_outputs(out, None, overwrite=True) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "x.csv").write_text("1")
    assert sorted(p.name for p in out.iterdir()) == ["sub"]


def test_out_is_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        check_outputs(f, ["a"], overwrite=True)
