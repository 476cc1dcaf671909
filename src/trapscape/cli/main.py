"""Entry point of the ``trapscape`` command.

Subcommands live one per module in this package and are loaded lazily, so
``trapscape --help`` stays fast and a command's heavy imports happen only
when it runs.  Only this group turns :class:`~trapscape.errors.TrapscapeError`
(and any unexpected error) into a clean message and exit status 1; a
traceback is shown only at ``-vv``.  ``trapscape run`` exits 3 when a step
failed on the data (:data:`trapscape.cli.run.EXIT_STEP_FAILED`).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import logging
import signal
import sys
import threading
import warnings
from typing import Any

import click

from .. import __version__
from ..errors import TrapscapeError

# command name -> module in trapscape.cli (each defines a click command `cmd`)
COMMANDS: dict[str, str] = {
    "validate": "validate",
    "simulate": "simulate",
    "coverage": "coverage",
    "density": "density",
    "sessions": "sessions",
    "homerange": "homerange",
    "corridors": "corridors",
    "omniscape": "omniscape",
    "plan": "plan",
    "map": "mapcmd",
    "report": "reportcmd",
    "run": "run",
    "demo": "demo",
    "export": "export",
}


class TrapscapeGroup(click.Group):
    """Lazy command loading and one place for turning errors into exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [
            name
            for name, mod in COMMANDS.items()
            if importlib.util.find_spec(f"{__package__}.{mod}") is not None
        ]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:  # registered directly (e.g. by a plugin)
            return self.commands[cmd_name]
        mod = COMMANDS.get(cmd_name)
        if mod is None or importlib.util.find_spec(f"{__package__}.{mod}") is None:
            return None
        return importlib.import_module(f"{__package__}.{mod}").cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TrapscapeError as err:
            verbosity = (ctx.obj or {}).get("verbosity", 0)
            if verbosity >= 2:
                raise
            raise click.ClickException(str(err)) from None
        except (FileNotFoundError, PermissionError, IsADirectoryError) as err:
            if (ctx.obj or {}).get("verbosity", 0) >= 2:
                raise
            raise click.ClickException(
                f"{err.filename or ''}: {err.strerror or err}. Check the path."
            ) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:  # a defect: no traceback unless -vv
            if (ctx.obj or {}).get("verbosity", 0) >= 2:
                raise
            raise click.ClickException(
                f"internal error ({type(err).__name__}: {err}). Run with -vv for "
                "the traceback and please report it."
            ) from None


def _show_versions(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from .. import show_versions

    show_versions()
    ctx.exit()


@click.group(
    cls=TrapscapeGroup, context_settings={"help_option_names": ["-h", "--help"]}
)
@click.option("-v", "--verbose", count=True, help="More log output (-vv: tracebacks).")
@click.option("-q", "--quiet", count=True, help="Less log output.")
@click.version_option(__version__, prog_name="trapscape")
@click.option(
    "--show-versions",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_versions,
    help="Show versions of trapscape and its dependencies.",
)
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int) -> None:
    """trapscape: camera-trap surveys to coverage, ranges, corridors and density."""
    verbosity = verbose - quiet
    ctx.ensure_object(dict)
    ctx.obj["verbosity"] = verbosity
    level = logging.WARNING - 10 * verbosity
    logging.basicConfig(
        level=max(logging.DEBUG, min(logging.CRITICAL, level)),
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if verbosity < 1:
        warnings.showwarning = _show_warning
    else:  # -v: the full warning with the line that raised it, through logging
        logging.captureWarnings(True)
    _terminate_cleanly()


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """Print a warning as a plain sentence (no source path) on stderr."""
    click.echo(f"Warning: {message}", err=True)


def _terminate_cleanly() -> None:
    """Turn SIGTERM into SystemExit so staged outputs are cleaned up as on Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGTERM, handler)


def main() -> None:  # pragma: no cover - console entry
    cli()


if __name__ == "__main__":  # pragma: no cover - python -m trapscape.cli.main
    main()
