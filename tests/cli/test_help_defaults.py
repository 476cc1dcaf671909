"""One owner for defaults: ``--help`` shows the library signature's default.

Every option declared with :func:`trapscape.cli.options.library_opt` reads
its shown default (and, with ``use=True``, its value) from the library
function's signature, so a changed library default changes the help.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from trapscape import _steps
from trapscape.cli.main import COMMANDS, cli
from trapscape.cli.options import LibraryDefault, SurveyInputs, survey_inputs


def _commands() -> list[tuple[str, click.Command]]:
    return [
        (name, importlib.import_module(f"trapscape.cli.{mod}").cmd)
        for name, mod in COMMANDS.items()
    ]


def _library_options() -> list[tuple[str, LibraryDefault]]:
    return [
        (name, p)
        for name, cmd in _commands()
        for p in cmd.params
        if isinstance(p, LibraryDefault)
    ]


def _signature_default(of: str, key: str):
    """The default straight from the signatures (not through the helper)."""
    if ":" in of:
        module, _, name = of.partition(":")
        fns = [getattr(importlib.import_module(module), name)]
    else:
        fns = list(_steps.section_functions(of))
    for fn in fns:
        param = inspect.signature(fn).parameters.get(key)
        if param is not None and param.default is not inspect.Parameter.empty:
            return param.default
    raise AssertionError(f"{of}: no default for {key}")


def _shown(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple):
        return " and ".join(_shown(v) for v in value)
    return str(value)


def _help(name: str) -> str:
    res = CliRunner().invoke(cli, [name, "--help"], terminal_width=10_000)
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())


def test_the_commands_declare_library_defaults():
    names = {(cmd, p.name) for cmd, p in _library_options()}
    for expected in [
        ("corridors", "resolution"),
        ("corridors", "mode"),
        ("coverage", "min_gap_km2"),
        ("plan", "n_new"),
        ("plan", "spacing"),
        ("plan", "min_spacing"),
        ("plan", "settlement_buffer"),
        ("density", "model"),
        ("homerange", "percent"),
        ("homerange", "min_detections"),
    ]:
        assert expected in names


@pytest.mark.parametrize(
    ("command", "option"),
    [(c, p) for c, p in _library_options()],
    ids=lambda x: x if isinstance(x, str) else x.name,
)
def test_help_shows_the_signature_default(command, option):
    default = _signature_default(option.of, option.key)
    help_text = _help(command)
    line = " ".join(option.help.split())  # type: ignore[union-attr]
    assert _shown(default) in line
    assert "{default}" not in line
    assert line in help_text


def test_a_changed_library_default_changes_the_help(monkeypatch):
    from trapscape import planning

    fn = inspect.unwrap(planning.plan)
    kwdefaults = dict(fn.__kwdefaults__ or {})
    assert kwdefaults["spacing"] == 1000.0
    monkeypatch.setattr(fn, "__kwdefaults__", {**kwdefaults, "spacing": 1234.0})
    assert "Candidate grid spacing in metres (default 1234)." in _help("plan")


def test_use_true_makes_the_library_default_the_value():
    from trapscape.cli import density

    model = next(p for p in density.cmd.params if p.name == "model")
    ctx = click.Context(density.cmd)
    assert model.get_default(ctx) == _signature_default("density", "model")


def test_survey_inputs_give_the_command_one_object(tmp_path: Path):
    seen: list[SurveyInputs] = []

    @click.command()
    @survey_inputs
    @click.option("--flag", is_flag=True)
    def cmd(inputs: SurveyInputs, flag: bool) -> None:
        seen.append(inputs)

    stations = tmp_path / "st.csv"
    stations.write_text("x\n")
    res = CliRunner().invoke(
        cmd, ["--stations", str(stations), "--crs", "EPSG:32652", "--flag"]
    )
    assert res.exit_code == 0, res.output
    assert seen == [SurveyInputs(stations=stations, crs="EPSG:32652")]
    assert not seen[0].toml
    assert SurveyInputs(project=Path("survey.TOML")).toml


def test_survey_inputs_without_any_input_is_a_usage_error():
    with pytest.raises(click.UsageError, match="or --stations"):
        SurveyInputs().load()
