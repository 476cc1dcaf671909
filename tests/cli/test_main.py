"""The trapscape command group: errors, warnings, signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from click.testing import CliRunner

from trapscape.cli.main import cli


def test_help_lists_every_command():
    res = CliRunner().invoke(cli, ["--help"])
    assert res.exit_code == 0
    for name in (
        "validate",
        "simulate",
        "coverage",
        "density",
        "homerange",
        "corridors",
        "plan",
        "map",
        "report",
        "run",
        "demo",
    ):
        assert name in res.output


def test_trapscape_error_is_a_clean_exit_1(tmp_path):
    bad = tmp_path / "stations.csv"
    bad.write_text(
        "station_id,longitude,latitude,setup,retrieval\nA,131.2,43.1,2024-13-01,2024-02-01\n"
    )
    res = CliRunner().invoke(cli, ["validate", "--stations", str(bad)])
    assert res.exit_code == 1
    assert "row 1" in res.output and "setup" in res.output
    assert "Traceback" not in res.output


def test_sigterm_raises_systemexit_so_cleanup_runs(tmp_path):
    """SIGTERM inside a command unwinds like Ctrl-C: finally blocks run."""
    marker = tmp_path / "cleaned"
    script = textwrap.dedent(f"""
        import time, click
        from trapscape.cli import main
        @main.cli.command("sleepy")
        def sleepy():
            try:
                print("ready", flush=True)
                time.sleep(30)
            finally:
                open({str(marker)!r}, "w").write("yes")
        main.cli(["sleepy"])
    """)
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout.readline().strip() == "ready"
        os.kill(proc.pid, signal.SIGTERM)
        rc = proc.wait(timeout=20)
    assert rc == 128 + signal.SIGTERM
    deadline = time.time() + 5
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert marker.read_text() == "yes"


def test_python_dash_m_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "trapscape", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "trapscape" in out.stdout and "version" in out.stdout
