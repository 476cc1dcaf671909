"""Writing outputs safely: never destroy a file that trapscape did not write.

The rules (see ``docs/outputs.md``), all owned by this module:

* Results are written into a staging folder beside the target and moved into
  place only when everything succeeded, so an error or an interruption leaves
  the target as it was.
* Without ``overwrite`` an existing output is never replaced.  With it, only
  files that trapscape wrote *and that are unchanged since* are replaced:
  every written file, at any depth, is recorded with its sha256 and size
  (in a run's ``manifest.json`` or, for the commands, in a hidden
  ``.trapscape-outputs.json`` in the output folder).  Any other file in the
  way, at any depth, makes the write refuse before any work, naming it.
* The target is claimed with a lock file beside it, created atomically;
  a second writer into the same target is refused.  A lock whose process
  is gone (same host) is stale: reported and taken over.
* The final move never replaces something that appeared meanwhile; the
  finished result is then kept in its staging folder and the error says
  where.
* Staging folders of killed writers are reported and removed, but only when
  trapscape marked them as its own and they hold no finished result.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import InputError

__all__ = [
    "RECORD",
    "KeptStage",
    "TargetState",
    "check_outputs",
    "checksums",
    "claim_target",
    "describe_unowned",
    "file_digest",
    "kept_stage",
    "known_files",
    "manifest_checksums",
    "move_noreplace",
    "new_stage",
    "remove_stale_stages",
    "staged_checksums",
    "staged_file",
    "staged_outputs",
    "unowned_files",
]

logger = logging.getLogger("trapscape.output")

RECORD = ".trapscape-outputs.json"
"""Name of the record of files a command wrote into a folder."""

_RECORD_FORMAT = 1
_STAGE_MARK = ".trapscape-stage"
_OS_CLUTTER = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_MAX_LISTED = 20
_SHA_RE = re.compile(r"^[0-9a-f]{64}$")
_VERSION_RE = re.compile(r"^\d+\.\d+")
_OUTPUT_SUFFIXES = frozenset(
    [
        ".asc",
        ".csv",
        ".gpkg",
        ".ini",
        ".prj",
        ".tif",
        ".tiff",
        ".json",
        ".html",
        ".txt",
        ".js",
        ".css",
        ".png",
        ".svg",
        ".pdf",
        ".gpx",
        ".kml",
        ".geojson",
        ".md",
        ".toml",
        ".zip",
    ]
)

TargetState = str
"""``"new"`` (absent), ``"empty"`` (an empty folder) or ``"ours"``."""


# -- checksums and records -------------------------------------------------


def file_digest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"sha256": ..., "size": ...}`` of a regular file."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return {"sha256": h.hexdigest(), "size": size}


def checksums(
    folder: str | os.PathLike[str], *, skip: Iterable[str] = ()
) -> dict[str, dict[str, Any]]:
    """Digest of every regular file under ``folder`` (relative POSIX paths)."""
    folder = Path(folder)
    skipped = set(skip)
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if rel in skipped or p.is_symlink() or not p.is_file():
            continue
        out[rel] = file_digest(p)
    return out


def _safe_relpath(rel: object) -> bool:
    if not isinstance(rel, str) or not rel or "\\" in rel or "\x00" in rel:
        return False
    pure = PurePosixPath(rel)
    return (
        not pure.is_absolute()
        and all(part not in ("", ".", "..") for part in rel.split("/"))
        and pure.name not in ("manifest.json", RECORD, _STAGE_MARK)
    )


def _digest_ok(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("sha256"), str)
        and bool(_SHA_RE.match(entry["sha256"]))
        and isinstance(entry.get("size"), int)
        and not isinstance(entry.get("size"), bool)
        and entry["size"] >= 0
    )


def manifest_checksums(folder: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The files a run's ``manifest.json`` in ``folder`` says the run wrote.

    Raises
    ------
    InputError
        If the manifest is unreadable or not one a trapscape run writes:
        no version, no checksums (older than this rule), paths that escape
        the folder or name files a run does not write.
    """
    folder = Path(folder)
    path = folder / "manifest.json"
    why = _manifest_problem(path)
    if isinstance(why, str):
        raise InputError(
            f"{path} is not a manifest written by trapscape ({why}), so nothing "
            f"in {folder} can be proven to be a trapscape output and --overwrite "
            "will not replace it. Choose a new or empty --out, or move the "
            "folder's content out yourself.",
            path=path,
        )
    return why


def _manifest_problem(path: Path) -> str | dict[str, dict[str, Any]]:
    """The manifest's checksums, or why it is not trusted."""
    try:
        if path.is_symlink() or not path.is_file():
            return "not a regular file"
        man = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        return f"unreadable: {err}"
    if not isinstance(man, dict):
        return "not a JSON object"
    version = man.get("trapscape_version")
    if not isinstance(version, str) or not _VERSION_RE.match(version):
        return f"trapscape_version {version!r} is not a version"
    sums = man.get("file_checksums")
    if not isinstance(sums, dict):
        return "no file checksums: written by an older trapscape or not at all"
    for rel, entry in sums.items():
        if not _safe_relpath(rel):
            return f"file {rel!r} is not a path inside the folder"
        if PurePosixPath(rel).suffix.lower() not in _OUTPUT_SUFFIXES:
            return f"file {rel!r} is not a kind of file a run writes"
        if not _digest_ok(entry):
            return f"file {rel!r} has no valid sha256 and size"
    files = man.get("files")
    if files is not None and sorted(map(str, files)) != sorted(sums):
        return "its file list and its checksums disagree"
    return {str(k): dict(v) for k, v in sums.items()}


def _read_record(path: Path) -> dict[str, dict[str, Any]] | None:
    """Entries of a command record (None if it is not a valid record)."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        rec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("trapscape_outputs") != _RECORD_FORMAT:
        return None
    files = rec.get("files")
    if not isinstance(files, dict):
        return None
    if not all(_safe_relpath(k) and _digest_ok(v) for k, v in files.items()):
        return None
    return {str(k): dict(v) for k, v in files.items()}


def known_files(
    folder: str | os.PathLike[str], *, manifest: bool = True
) -> dict[str, dict[str, Any]]:
    """Files under ``folder`` that trapscape recorded writing, with digests.

    Reads the run manifest of ``folder`` (if ``manifest`` and it is valid)
    and every command record at any depth.  The valid manifest and records
    are listed themselves (with ``None`` digests: they are trusted as
    trapscape's own bookkeeping).
    """
    folder = Path(folder)
    known: dict[str, dict[str, Any]] = {}
    if manifest and (folder / "manifest.json").exists():
        sums = _manifest_problem(folder / "manifest.json")
        if isinstance(sums, dict):
            known.update(sums)
            known["manifest.json"] = {}
    for rec_path in sorted(folder.rglob(RECORD)):
        entries = _read_record(rec_path)
        if entries is None:
            continue
        base = rec_path.parent.relative_to(folder)
        prefix = "" if base == Path(".") else base.as_posix() + "/"
        known.update({prefix + k: v for k, v in entries.items()})
        known[prefix + RECORD] = {}
    return known


def unowned_files(
    folder: str | os.PathLike[str],
    known: Mapping[str, Mapping[str, Any]],
    *,
    only: Iterable[str] | None = None,
) -> list[str]:
    """Entries under ``folder`` that trapscape may not replace.

    Every file at any depth (or, with ``only``, under those names) that is
    not in ``known``, or differs from its recorded digest, or is not a
    regular file (links, devices) is listed, with the reason.
    """
    folder = Path(folder)
    roots = [folder] if only is None else [folder / n for n in only]
    bad: list[str] = []
    for root in roots:
        if not (root.exists() or root.is_symlink()):
            continue
        paths = [root]
        if root.is_dir() and not root.is_symlink():
            paths = sorted(root.rglob("*"))
        for p in paths:
            if p.is_dir() and not p.is_symlink():
                continue
            rel = p.relative_to(folder).as_posix()
            if p.name in _OS_CLUTTER:
                continue
            why = _why_unowned(p, known.get(rel))
            if why:
                bad.append(f"{rel} ({why})")
    return bad


def _why_unowned(p: Path, entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "not written by trapscape"
    if p.is_symlink() or not p.is_file():
        return "not a regular file"
    if not entry:  # trapscape's own manifest or record
        return ""
    if p.stat().st_size != entry["size"] or file_digest(p) != dict(entry):
        return "changed since trapscape wrote it"
    return ""


def describe_unowned(bad: list[str]) -> str:
    """At most twenty entries, then a count of the rest."""
    shown = "; ".join(bad[:_MAX_LISTED])
    if len(bad) > _MAX_LISTED:
        shown += f"; and {len(bad) - _MAX_LISTED} more"
    return shown


def _write_record(out: Path, written: Mapping[str, Mapping[str, Any]]) -> None:
    """Write the record of ``out`` atomically (temporary file, then rename)."""
    rec = {"trapscape_outputs": _RECORD_FORMAT, "files": dict(sorted(written.items()))}
    tmp = out / f"{RECORD}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(rec, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out / RECORD)


# -- claiming the target ---------------------------------------------------


def _lock_path(target: Path) -> Path:
    return target.parent / f".{target.name}.lock"


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:  # e.g. Windows: invalid parameter for a dead PID
        return False
    return True


def _holder(lock: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(lock.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def _is_stale(info: dict[str, Any] | None) -> bool:
    if info is None:
        return False  # being written, or not ours: never taken over
    pid = info.get("pid")
    return (
        info.get("host") == socket.gethostname()
        and isinstance(pid, int)
        and not _pid_alive(pid)
    )


def _try_lock(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    info = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(info) + "\n")
    return True


@contextlib.contextmanager
def claim_target(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the lock file beside ``target`` while writing it.

    The lock (``.NAME.lock`` beside the target, holding PID, host and start
    time) is created with ``O_CREAT | O_EXCL``, so of two writers only one
    gets it.  A lock whose process is gone on this host is reported and
    taken over.  The lock is removed when the block ends, also on error.

    Raises
    ------
    InputError
        If another writer holds the lock.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock_path(target)
    if not _try_lock(lock):
        info = _holder(lock)
        if not _is_stale(info) or not _take_over(lock, info):
            raise InputError(_locked_message(target, lock, info), path=target)
    try:
        yield lock
    finally:
        with contextlib.suppress(OSError):
            if (_holder(lock) or {}).get("pid") == os.getpid():
                lock.unlink()


def _take_over(lock: Path, info: dict[str, Any] | None) -> bool:
    """Move a stale lock aside and take the target (False if someone was faster)."""
    aside = lock.with_name(f"{lock.name}.stale-{os.getpid()}")
    try:
        os.rename(lock, aside)
    except OSError:
        return False
    moved = _holder(aside)
    if moved != info:  # another writer took it over first: give it back
        with contextlib.suppress(OSError):
            move_noreplace(aside, lock)
        return False
    aside.unlink()
    assert info is not None
    logger.warning(
        "Took over the lock %s left by process %s (started %s), which is gone.",
        lock,
        info.get("pid"),
        info.get("started_utc"),
    )
    return _try_lock(lock)


def _locked_message(target: Path, lock: Path, info: dict[str, Any] | None) -> str:
    if info is None:
        who = "another trapscape process"
    else:
        who = (
            f"trapscape process {info.get('pid')} on {info.get('host')} "
            f"(started {info.get('started_utc')})"
        )
    return (
        f"{target} is being written by {who}: its lock {lock} exists. Wait for "
        "it to finish or choose another --out. If no such run is going "
        f"(e.g. it ran on another computer and was killed), delete {lock}."
    )


# -- staging and moving ----------------------------------------------------


def move_noreplace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
    """Rename ``src`` to ``dst``, failing (FileExistsError) if ``dst`` exists.

    Uses ``renameat2(RENAME_NOREPLACE)`` on Linux, so the check and the
    rename are one step; elsewhere a check right before ``os.rename``
    (which on Windows fails on an existing target anyway, and on POSIX
    fails on a non-empty folder).
    """
    if _renameat2_noreplace(os.fspath(src), os.fspath(dst)):
        return
    if os.path.lexists(dst):
        raise FileExistsError(errno.EEXIST, "exists", os.fspath(dst))
    os.rename(src, dst)


def _renameat2_noreplace(src: str, dst: str) -> bool:
    """Try the atomic no-replace rename; False when the system lacks it."""
    func = getattr(_libc(), "renameat2", None)
    if func is None:
        return False
    at_fdcwd, rename_noreplace = -100, 1
    rc = func(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), rename_noreplace)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False  # kernel or filesystem without it: use the fallback
    raise OSError(err, os.strerror(err), dst)


_LIBC: list[Any] = []


def _libc() -> Any:
    if not _LIBC:
        try:
            lib = ctypes.CDLL(None, use_errno=True)
        except (OSError, TypeError):
            lib = None
        _LIBC.append(lib)
    return _LIBC[0]


def new_stage(target: str | os.PathLike[str]) -> Path:
    """Create the staging folder ``.NAME.partial-PID`` beside ``target``.

    It holds a marker naming the process, so that a later writer can tell a
    stale trapscape staging folder from anything else.
    """
    target = Path(target)
    stage = target.parent / f".{target.name}.partial-{os.getpid()}"
    if stage.exists() and (stage / _STAGE_MARK).exists():
        shutil.rmtree(stage)  # ours, from an earlier write in this process
    elif stage.exists():
        raise InputError(
            f"{stage} holds a finished result that was kept earlier; move it "
            "out of the way first.",
            path=stage,
        )
    stage.mkdir(parents=True)
    info = {"pid": os.getpid(), "host": socket.gethostname()}
    (stage / _STAGE_MARK).write_text(json.dumps(info) + "\n", encoding="utf-8")
    return stage


def remove_stale_stages(target: str | os.PathLike[str]) -> None:
    """Report and remove staging folders of killed writers into ``target``.

    A staging folder ``.NAME.partial-PID`` is removed only when its process
    is gone from this host, it holds no finished result (no manifest or
    record) and everything in it is a regular file of a kind trapscape
    writes.  Anything else (a live writer's folder, a result kept after a
    failed move, foreign files) is reported and left alone.
    """
    target = Path(target)
    for p in sorted(target.parent.glob(f".{target.name}.partial-*")):
        pid = p.name.rsplit("-", 1)[1]
        if not pid.isdigit() or int(pid) == os.getpid() or not p.is_dir():
            continue
        why = _why_kept(p, int(pid))
        if why is None:
            logger.warning("Removing %s, left by an interrupted run.", p)
            shutil.rmtree(p, ignore_errors=True)
        elif why:
            logger.warning("Left %s alone: %s", p, why)
        else:
            logger.info("Left %s alone: its run is still going.", p)


def _why_kept(stage: Path, pid: int) -> str | None:
    """Why a staging folder must stay ('' for a live run), None to remove it."""
    info = _holder(stage / _STAGE_MARK)
    if info is None:
        info = {"pid": pid, "host": socket.gethostname()}
    if not _is_stale(info):
        return (
            ""
            if info.get("host") == socket.gethostname()
            else (
                f"it belongs to a run on {info.get('host')}; delete it yourself if "
                "that run is over."
            )
        )
    if (stage / "manifest.json").exists() or (stage / RECORD).exists():
        return "it holds a finished result that could not be moved; move it yourself."
    for q in stage.rglob("*"):
        if (q.is_dir() and not q.is_symlink()) or q.name == _STAGE_MARK:
            continue
        if q.is_symlink() or not q.is_file() or q.suffix not in _OUTPUT_SUFFIXES:
            return (
                f"{q.relative_to(stage).as_posix()} in it is not a trapscape "
                "output; delete the folder yourself if it is left over."
            )
    return None


def staged_checksums(stage: Path) -> dict[str, dict[str, Any]]:
    """Digests of the files written into a staging folder.

    Bookkeeping is left out at every depth: the stage marker and the command
    records of outputs nested in this one (e.g. the survey folders of
    simulated sessions), which :func:`known_files` finds and trusts by
    themselves.  A record listing them would fail :func:`_read_record`'s
    check and prove nothing, so a later ``--overwrite`` refused the folder.
    """
    return {
        rel: d
        for rel, d in checksums(stage).items()
        if PurePosixPath(rel).name not in (_STAGE_MARK, RECORD)
    }


def _state(out: Path) -> TargetState:
    if not out.exists():
        return "new"
    return "ours" if any(out.iterdir()) else "empty"


def check_outputs(
    out: str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    overwrite: bool,
    what: str | None = None,
) -> TargetState:
    """Refuse outputs that would replace what trapscape may not replace.

    Parameters
    ----------
    out
        Output folder.
    names
        File names the command writes into ``out``.  ``None`` means the whole
        folder belongs to the command: any existing content is a clash.
    overwrite
        Allow replacing outputs that trapscape wrote and that are unchanged.
    what
        What the outputs are, for the message (e.g. ``"a survey"``:
        "... already holds a survey (survey.toml, ...)").

    Returns
    -------
    str
        ``"new"``, ``"empty"`` or ``"ours"`` (outputs that may be replaced).

    Raises
    ------
    InputError
        If ``out`` is a file; or outputs exist and ``overwrite`` is false;
        or, with ``overwrite``, something in the way is not an unchanged
        trapscape output (listed with the reason).
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder.", path=out)
    if not out.exists():
        return "new"
    only = None if names is None else list(names)
    if only is None:
        clash = sorted(p.name for p in out.iterdir() if p.name not in _OS_CLUTTER)
    else:
        clash = sorted(n for n in only if os.path.lexists(out / n))
    if not clash:
        return "empty" if only is None else "ours"
    bad = unowned_files(out, known_files(out), only=only)
    if not overwrite:
        shown = ", ".join(clash[:6]) + (" ..." if len(clash) > 6 else "")
        held = shown if what is None else f"{what} ({shown})"
        if bad:  # --overwrite would refuse too: do not suggest it
            raise InputError(
                f"{out} already holds {held}, and some of it was not written "
                f"by trapscape (or was changed since), so --overwrite would not "
                f"replace it either: {describe_unowned(bad)}. Choose another "
                "--out, or move those files out of the way; nothing was written.",
                path=out,
            )
        raise InputError(
            f"{out} already holds {held}. Pass --overwrite to replace "
            "them, or choose another --out.",
            path=out,
        )
    if bad:
        raise InputError(
            f"--overwrite replaces only files that trapscape wrote and that are "
            f"unchanged since, and {out} holds others: {describe_unowned(bad)}. "
            "Move them out of the way (or choose another --out); nothing was "
            "written.",
            path=out,
        )
    return "ours"


class KeptStage(InputError):
    """The finished result could not be moved into place and was kept."""


def kept_stage(stage: Path, where: Path, what: str) -> KeptStage:
    """The error for a result kept in ``stage`` because ``where`` ``what``."""
    (stage / _STAGE_MARK).unlink(missing_ok=True)  # finished: never stale
    return KeptStage(
        f"{where} {what} while trapscape was writing, so the result was not "
        f"moved into place. It is complete and kept in {stage}; move it "
        "yourself.",
        path=where,
    )


@contextlib.contextmanager
def staged_outputs(
    out: str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    overwrite: bool,
    prune: bool = False,
    what: str | None = None,
) -> Iterator[Path]:
    """Yield a staging folder; move what was written into ``out`` on success.

    The rules of this module apply: the target is checked before and again
    right before the move, claimed with a lock, and nothing that trapscape
    did not write (or that changed since) is replaced.  The files written
    are recorded, with their checksums, in ``out/.trapscape-outputs.json``.

    Parameters
    ----------
    out
        Output folder (created if needed).
    names
        Expected output names (checked for clashes before anything runs).
        Whatever the block writes into the staging folder is moved.
    overwrite
        Allow replacing existing outputs (trapscape's, unchanged).
    prune
        Also delete those of ``names`` the block did not write, so that
        optional outputs of an earlier run do not linger beside new ones.
    what
        What the outputs are, for the clash message (see
        :func:`check_outputs`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp()) / "res"
    >>> with staged_outputs(d, ["a.txt"], overwrite=False) as tmp:
    ...     _ = (tmp / "a.txt").write_text("hello")
    >>> (d / "a.txt").read_text()
    'hello'
    """
    out = Path(out)
    names = None if names is None else list(names)
    check_outputs(out, names, overwrite=overwrite, what=what)
    with _staged(out, out, names, overwrite=overwrite, prune=prune, what=what) as tmp:
        yield tmp


@contextlib.contextmanager
def _staged(
    anchor: Path,
    out: Path,
    names: list[str] | None,
    *,
    overwrite: bool,
    prune: bool,
    what: str | None,
) -> Iterator[Path]:
    """Claim ``anchor`` (lock and staging folder beside it) and write ``out``."""
    with claim_target(anchor):
        state = check_outputs(out, names, overwrite=overwrite, what=what)
        remove_stale_stages(anchor)
        stage = new_stage(anchor)
        try:
            yield stage
            _install(stage, out, names, state=state, overwrite=overwrite, prune=prune)
        except KeptStage:
            raise
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        shutil.rmtree(stage, ignore_errors=True)


def _install(
    stage: Path,
    out: Path,
    names: list[str] | None,
    *,
    state: TargetState,
    overwrite: bool,
    prune: bool,
) -> None:
    """Move the staged outputs into ``out`` under the rules."""
    written = staged_checksums(stage)
    if state == "new":
        _write_record(stage, written)
        (stage / _STAGE_MARK).unlink()
        try:
            move_noreplace(stage, out)
        except FileExistsError:
            raise kept_stage(stage, out, "appeared") from None
        return
    # re-check right before the move: nothing new may be in the way
    try:
        check_outputs(out, names, overwrite=overwrite)
    except InputError as err:
        raise kept_stage(stage, out, f"changed ({err})") from None
    known = _read_record(out / RECORD) or {}
    items = sorted(p.name for p in stage.iterdir() if p.name != _STAGE_MARK)
    old = [n for n in (names or []) if n not in items] if prune else []
    for name in old:
        _remove_ours(out / name)
        known = {k: v for k, v in known.items() if k.split("/", 1)[0] != name}
    for name in items:
        _replace_ours(stage / name, out / name, stage)
        known = {k: v for k, v in known.items() if k.split("/", 1)[0] != name}
    known.update(written)
    _write_record(out, known)


def _remove_ours(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def _replace_ours(item: Path, target: Path, stage: Path) -> None:
    """Put ``item`` at ``target``; what is there was checked to be ours."""
    if not os.path.lexists(target):
        try:
            move_noreplace(item, target)
        except FileExistsError:
            raise kept_stage(stage, target, "appeared") from None
        return
    if item.is_file() and target.is_file() and not target.is_symlink():
        os.replace(item, target)  # atomic: the old file is never missing
        return
    aside = stage / f".old-{target.name}"
    os.rename(target, aside)
    try:
        move_noreplace(item, target)
    except FileExistsError:
        raise kept_stage(stage, target, "appeared") from None
    _remove_ours(aside)


@contextlib.contextmanager
def staged_file(path: str | os.PathLike[str], *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path for one output file; move it to ``path`` on success.

    The temporary file has the same name as ``path``, in a staging folder
    (see :func:`staged_outputs`, whose rules apply), so writers that look
    at the suffix behave the same.  On an error nothing is left behind.

    Parameters
    ----------
    path
        Output file (its folder is created if needed).
    overwrite
        Allow replacing an existing ``path`` that trapscape wrote and that
        is unchanged since.

    Raises
    ------
    InputError
        If ``path`` is a folder, or exists and ``overwrite`` is false, or
        was not written by trapscape (or changed since).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "map.html"
    >>> with staged_file(f, overwrite=False) as tmp:
    ...     _ = tmp.write_text("<html></html>")
    >>> f.read_text()
    '<html></html>'
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"--out {path} is a folder; give a file name.", path=path)
    names = [path.name]
    check_outputs(path.parent, names, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _staged(
        path, path.parent, names, overwrite=overwrite, prune=False, what=None
    ) as tmp:
        yield tmp / path.name
