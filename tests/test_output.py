"""Safe output writing shared by every command."""

from __future__ import annotations

import pytest

from trapscape._output import check_outputs, staged_file, staged_outputs
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
    with (
        pytest.raises(RuntimeError),
        staged_outputs(out, ["a.csv"], overwrite=False) as tmp,
    ):
        (tmp / "a.csv").write_text("half")
        raise RuntimeError("boom")
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_overwrite_and_keeps_other_files(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "a.csv").write_text("old")
    (out / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match=r"already holds a.csv.*--overwrite"):
        check_outputs(out, ["a.csv"], overwrite=False)
    with staged_outputs(out, ["a.csv"], overwrite=True) as tmp:
        (tmp / "a.csv").write_text("new")
    assert (out / "a.csv").read_text() == "new"
    assert (out / "mine.txt").read_text() == "keep"


def test_whole_folder_mode(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "stale.csv").write_text("old")
    with pytest.raises(InputError, match=r"stale.csv"):
        check_outputs(out, None, overwrite=False)
    with staged_outputs(out, None, overwrite=True) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "x.csv").write_text("1")
    # overwrite replaces what the run writes and never deletes anything else
    assert sorted(p.name for p in out.iterdir()) == ["stale.csv", "sub"]


def test_out_is_a_file(tmp_path):
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(InputError, match="is a file"):
        check_outputs(f, ["a"], overwrite=True)


def test_what_names_the_outputs_in_the_message(tmp_path):
    (tmp_path / "survey.toml").write_text("x")
    with pytest.raises(InputError, match=r"already holds a survey \(survey.toml\)"):
        check_outputs(
            tmp_path, ["survey.toml", "truth.json"], overwrite=False, what="a survey"
        )


def test_prune_removes_listed_outputs_not_written_again(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "a.csv").write_text("old")
    (out / "optional.csv").write_text("old")
    (out / "mine.txt").write_text("keep")
    names = ["a.csv", "optional.csv"]
    with staged_outputs(out, names, overwrite=True, prune=True) as tmp:
        (tmp / "a.csv").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["a.csv", "mine.txt"]
    assert (out / "a.csv").read_text() == "new"
    # without prune the old optional output stays
    (out / "optional.csv").write_text("old")
    with staged_outputs(out, names, overwrite=True) as tmp:
        (tmp / "a.csv").write_text("newer")
    assert (out / "optional.csv").read_text() == "old"


def test_staged_file_writes_replaces_and_cleans_up(tmp_path):
    f = tmp_path / "sub" / "map.html"
    with staged_file(f, overwrite=False) as tmp:
        assert tmp.name == "map.html" and tmp.parent != f.parent
        tmp.write_text("one")
        assert not f.exists()
    assert f.read_text() == "one"
    assert [p.name for p in f.parent.iterdir()] == ["map.html"]
    with (
        pytest.raises(InputError, match=r"map.html.*--overwrite"),
        staged_file(f, overwrite=False) as tmp,
    ):
        tmp.write_text("two")
    with pytest.raises(RuntimeError), staged_file(f, overwrite=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError("boom")
    assert f.read_text() == "one"
    with staged_file(f, overwrite=True) as tmp:
        tmp.write_text("two")
    assert f.read_text() == "two"
    assert [p.name for p in f.parent.iterdir()] == ["map.html"]


def test_staged_file_refuses_a_folder(tmp_path):
    with (
        pytest.raises(InputError, match="is a folder"),
        staged_file(tmp_path, overwrite=True),
    ):
        pass
    assert tmp_path.is_dir()
