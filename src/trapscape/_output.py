"""Writing command outputs safely: never overwrite silently, never leave halves.

Every command that writes files uses :func:`staged_outputs`: results are
written into a temporary folder beside the target and moved into place only
when everything succeeded, so an error or an interruption leaves the target
as it was.  Existing outputs are replaced only with ``overwrite=True``;
other files already in the target folder are never touched.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from .errors import InputError

__all__ = ["check_outputs", "staged_file", "staged_outputs"]


def check_outputs(
    out: str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    overwrite: bool,
    what: str | None = None,
) -> None:
    """Refuse to replace existing outputs unless ``overwrite``.

    Parameters
    ----------
    out
        Output folder.
    names
        File names the command writes into ``out``.  ``None`` means the whole
        folder belongs to the command: any existing content is a clash.
    overwrite
        Allow replacing.
    what
        What the outputs are, for the message (e.g. ``"a survey"``:
        "... already holds a survey (survey.toml, ...)").

    Raises
    ------
    InputError
        If ``out`` is a file, or outputs exist and ``overwrite`` is false.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give a folder.", path=out)
    if overwrite or not out.exists():
        return
    if names is None:
        clash = sorted(p.name for p in out.iterdir())
    else:
        clash = sorted(n for n in names if (out / n).exists())
    if clash:
        shown = ", ".join(clash[:6]) + (" ..." if len(clash) > 6 else "")
        held = shown if what is None else f"{what} ({shown})"
        raise InputError(
            f"{out} already holds {held}. Pass --overwrite to replace "
            "them, or choose another --out.",
            path=out,
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
    """Yield a temporary folder; move what was written into ``out`` on success.

    Parameters
    ----------
    out
        Output folder (created if needed).
    names
        Expected output names (checked for clashes before anything runs).
        Whatever the block writes into the temporary folder is moved.
    overwrite
        Allow replacing existing outputs.
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
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    try:
        yield tmp
        if not out.exists():
            os.replace(tmp, out)
            return
        if prune and names is not None:
            for name in names:
                old = out / name
                if (tmp / name).exists() or not (old.exists() or old.is_symlink()):
                    continue
                if old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old)
                else:
                    old.unlink()
        for item in tmp.iterdir():
            target = out / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(tmp)


@contextlib.contextmanager
def staged_file(path: str | os.PathLike[str], *, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path for one output file; move it to ``path`` on success.

    The temporary file has the same name as ``path``, in a fresh folder
    beside it (see :func:`staged_outputs`), so writers that look at the
    suffix behave the same.  On an error nothing is left behind.

    Parameters
    ----------
    path
        Output file (its folder is created if needed).
    overwrite
        Allow replacing an existing ``path``.

    Raises
    ------
    InputError
        If ``path`` is a folder, or exists and ``overwrite`` is false.

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
    with staged_outputs(path.parent, [path.name], overwrite=overwrite) as tmp:
        yield tmp / path.name
