"""Safe output writing shared by every command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from trapscape import _output
from trapscape._output import (
    RECORD,
    check_outputs,
    claim_target,
    move_noreplace,
    new_stage,
    remove_stale_stages,
    staged_file,
    staged_outputs,
)
from trapscape.errors import InputError


def _names(folder):
    return sorted(p.name for p in folder.iterdir() if p.name != RECORD)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_new_folder_is_created_whole(tmp_path):
    out = tmp_path / "res"
    with staged_outputs(out, ["a.csv", "b.tif"], overwrite=False) as tmp:
        (tmp / "a.csv").write_text("1")
        (tmp / "b.tif").write_text("2")
        assert not out.exists()  # nothing visible before success
    assert _names(out) == ["a.csv", "b.tif"]
    assert (out / RECORD).is_file()  # what was written, with checksums
    assert [p.name for p in tmp_path.iterdir()] == ["res"]  # no temp, no lock left


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
    with staged_outputs(out, ["a.csv"], overwrite=False) as tmp:
        (tmp / "a.csv").write_text("old")
    (out / "mine.txt").write_text("keep")
    with pytest.raises(InputError, match=r"already holds a.csv.*--overwrite"):
        check_outputs(out, ["a.csv"], overwrite=False)
    with staged_outputs(out, ["a.csv"], overwrite=True) as tmp:
        (tmp / "a.csv").write_text("new")
    assert (out / "a.csv").read_text() == "new"
    assert (out / "mine.txt").read_text() == "keep"


def test_whole_folder_mode(tmp_path):
    out = tmp_path / "res"
    with staged_outputs(out, None, overwrite=False) as tmp:
        (tmp / "stale.csv").write_text("old")
    with pytest.raises(InputError, match=r"stale.csv"):
        check_outputs(out, None, overwrite=False)
    with staged_outputs(out, None, overwrite=True) as tmp:
        (tmp / "sub").mkdir()
        (tmp / "sub" / "x.csv").write_text("1")
    # overwrite replaces what the run writes and never deletes anything else
    assert _names(out) == ["stale.csv", "sub"]
    # a file the user put in the folder, at any depth, stops --overwrite
    (out / "sub" / "notes.txt").write_text("mine")
    with pytest.raises(InputError, match=r"sub/notes.txt \(not written by"):
        check_outputs(out, None, overwrite=True)


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
    names = ["a.csv", "optional.csv"]
    with staged_outputs(out, names, overwrite=False) as tmp:
        (tmp / "a.csv").write_text("old")
        (tmp / "optional.csv").write_text("old")
    (out / "mine.txt").write_text("keep")
    with staged_outputs(out, names, overwrite=True, prune=True) as tmp:
        (tmp / "a.csv").write_text("new")
    assert _names(out) == ["a.csv", "mine.txt"]
    assert (out / "a.csv").read_text() == "new"
    # without prune the old optional output stays
    with staged_outputs(out, ["optional.csv"], overwrite=False) as tmp:
        (tmp / "optional.csv").write_text("old")
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
    assert _names(f.parent) == ["map.html"]
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
    assert _names(f.parent) == ["map.html"]
    assert sorted(p.name for p in f.parent.parent.iterdir()) == ["sub"]


def test_staged_file_refuses_a_folder(tmp_path):
    with (
        pytest.raises(InputError, match="is a folder"),
        staged_file(tmp_path, overwrite=True),
    ):
        pass
    assert tmp_path.is_dir()


def test_overwrite_refuses_a_file_trapscape_did_not_write(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "a.csv").write_text("the user's")
    with (
        pytest.raises(InputError, match=r"a.csv \(not written by trapscape\)"),
        staged_outputs(out, ["a.csv"], overwrite=True) as tmp,
    ):
        (tmp / "a.csv").write_text("new")
    assert (out / "a.csv").read_text() == "the user's"
    assert _names(out) == ["a.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def test_refusal_does_not_suggest_an_overwrite_that_would_refuse(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "a.csv").write_text("the user's")
    with pytest.raises(InputError) as err:
        check_outputs(out, ["a.csv"], overwrite=False)
    msg = str(err.value)
    assert "Pass --overwrite" not in msg
    assert "--overwrite would not replace it" in msg
    assert "a.csv (not written by trapscape)" in msg
    assert (out / "a.csv").read_text() == "the user's"


def test_overwrite_refuses_a_changed_output(tmp_path):
    f = tmp_path / "map.html"
    with staged_file(f, overwrite=False) as tmp:
        tmp.write_text("ours")
    f.write_text("ours, annotated by hand")
    with (
        pytest.raises(InputError, match=r"map.html \(changed since"),
        staged_file(f, overwrite=True) as tmp,
    ):
        tmp.write_text("new")
    assert f.read_text() == "ours, annotated by hand"


def test_a_forged_record_proves_nothing(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    forged = {"trapscape_outputs": 1, "files": {"thesis.docx": {"sha256": "0" * 64}}}
    (out / RECORD).write_text(json.dumps(forged))
    with pytest.raises(InputError, match=r"thesis\.docx"):
        check_outputs(out, ["thesis.docx"], overwrite=True)
    assert (out / "thesis.docx").read_text() == "years of work"


def test_many_foreign_files_are_listed_with_a_count(tmp_path):
    out = tmp_path / "res"
    (out / "deep" / "er").mkdir(parents=True)
    for i in range(25):
        (out / "deep" / "er" / f"n{i:02d}.txt").write_text("x")
    with pytest.raises(InputError, match=r"and 5 more") as info:
        check_outputs(out, None, overwrite=True)
    assert "deep/er/n00.txt" in str(info.value)
    assert "n24.txt" not in str(info.value)


def test_file_appearing_during_the_write_is_kept_and_result_too(tmp_path):
    out = tmp_path / "res"
    with (
        pytest.raises(InputError, match=r"appeared.*kept in") as info,
        staged_outputs(out, ["a.csv"], overwrite=False) as tmp,
    ):
        (tmp / "a.csv").write_text("result")
        out.mkdir()
        (out / "notes.txt").write_text("written meanwhile")
    assert (out / "notes.txt").read_text() == "written meanwhile"
    assert _names(out) == ["notes.txt"]
    kept = tmp_path / f".res.partial-{os.getpid()}"
    assert str(kept) in str(info.value)
    assert (kept / "a.csv").read_text() == "result"
    assert not (tmp_path / ".res.lock").exists()


def test_output_appearing_in_an_existing_folder_is_not_replaced(tmp_path):
    out = tmp_path / "res"
    out.mkdir()
    with (
        pytest.raises(InputError, match=r"a.csv"),
        staged_outputs(out, ["a.csv"], overwrite=True) as tmp,
    ):
        (tmp / "a.csv").write_text("result")
        (out / "a.csv").write_text("the user's, written meanwhile")
    assert (out / "a.csv").read_text() == "the user's, written meanwhile"


def test_second_writer_is_refused_by_the_lock(tmp_path):
    out = tmp_path / "res"
    with claim_target(out) as lock:
        held = json.loads(lock.read_text())
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
        with (
            pytest.raises(InputError, match=r"being written by.*lock"),
            staged_outputs(out, ["a.csv"], overwrite=False) as tmp,
        ):
            (tmp / "a.csv").write_text("second")
        assert not out.exists()
    assert not lock.exists()  # released at the end


def test_lock_released_on_error(tmp_path):
    out = tmp_path / "res"
    with pytest.raises(RuntimeError), staged_outputs(out, ["a"], overwrite=False):
        assert (tmp_path / ".res.lock").exists()
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_stale_lock_is_reported_and_taken_over(tmp_path, caplog):
    out = tmp_path / "res"
    lock = tmp_path / ".res.lock"
    info = {"pid": _dead_pid(), "host": socket.gethostname(), "started_utc": "x"}
    lock.write_text(json.dumps(info))
    with staged_outputs(out, ["a.csv"], overwrite=False) as tmp:
        (tmp / "a.csv").write_text("1")
    assert (out / "a.csv").read_text() == "1"
    assert "Took over the lock" in caplog.text
    assert not lock.exists()
    # a lock of another host is never taken over
    lock.write_text(json.dumps({**info, "host": "elsewhere.example"}))
    with pytest.raises(InputError, match=r"elsewhere\.example"):
        check = staged_outputs(out, ["b.csv"], overwrite=False)
        with check:
            pass
    assert lock.exists()


def test_stale_staging_folder_removed_live_one_kept(tmp_path, caplog):
    out = tmp_path / "res"
    dead = tmp_path / f".res.partial-{_dead_pid()}"
    dead.mkdir()
    (dead / "half.csv").write_text("half")
    (dead / ".trapscape-stage").write_text(
        json.dumps(
            {"pid": int(dead.name.rsplit("-", 1)[1]), "host": socket.gethostname()}
        )
    )
    live_pid = os.getppid()
    live = tmp_path / f".res.partial-{live_pid}"
    live.mkdir()
    (live / ".trapscape-stage").write_text(
        json.dumps({"pid": live_pid, "host": socket.gethostname()})
    )
    unmarked = tmp_path / ".res.partial-999999999"
    unmarked.mkdir()
    (unmarked / "thesis.docx").write_text("not ours")
    remove_stale_stages(out)
    assert not dead.exists()
    assert "left by an interrupted run" in caplog.text
    assert live.is_dir() and (unmarked / "thesis.docx").is_file()
    assert "thesis.docx in it is not a trapscape output" in caplog.text


def test_new_stage_is_marked(tmp_path):
    stage = new_stage(tmp_path / "res")
    assert json.loads((stage / ".trapscape-stage").read_text())["pid"] == os.getpid()


def test_move_noreplace_fails_rather_than_replaces(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()  # even an empty folder is not replaced
    with pytest.raises(FileExistsError):
        move_noreplace(a, b)
    assert a.is_dir() and b.is_dir()
    move_noreplace(a, tmp_path / "c")
    assert (tmp_path / "c").is_dir()


def test_move_noreplace_fallback(tmp_path, monkeypatch):
    monkeypatch.setattr(_output, "_renameat2_noreplace", lambda s, d: False)
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    with pytest.raises(FileExistsError):
        move_noreplace(tmp_path / "a", tmp_path / "b")
    assert (tmp_path / "b").read_text() == "b"


def test_nested_outputs_can_be_overwritten(tmp_path):
    """An output holding another command's output (with its own record) stays ours."""
    out = tmp_path / "res"
    for _ in range(2):
        with staged_outputs(out, ["inner", "top.csv"], overwrite=True) as tmp:
            with staged_outputs(tmp / "inner", ["a.csv"], overwrite=False) as inner:
                (inner / "a.csv").write_text("a")
            (tmp / "top.csv").write_text("top")
    assert (out / "inner" / "a.csv").read_text() == "a"
    assert check_outputs(out, ["inner", "top.csv"], overwrite=True) == "ours"
    (out / "inner" / "a.csv").write_text("edited by hand")
    with pytest.raises(InputError, match=r"inner/a.csv \(changed since"):
        check_outputs(out, ["inner", "top.csv"], overwrite=True)
