"""`netzone propagation`: operators switch between LIVE and ON_INTERACTION."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import cli
from app.settings import get_settings


def test_operator_shows_and_sets_the_mode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(cli, ["migrate"]).exit_code == 0
        # Before the network exists there is nothing to show.
        empty = runner.invoke(cli, ["propagation"])
        assert empty.exit_code == 1
        assert "not set up yet" in empty.output
        assert runner.invoke(cli, ["demo", "--patrons", "0"]).exit_code == 0
        assert "Propagation mode: LIVE" in runner.invoke(cli, ["propagation"]).output
        changed = runner.invoke(cli, ["propagation", "on_interaction"])
        assert changed.exit_code == 0, changed.output
        assert "Propagation mode: ON_INTERACTION" in changed.output
        assert "Propagation mode: ON_INTERACTION" in runner.invoke(cli, ["propagation"]).output
        wrong = runner.invoke(cli, ["propagation", "sometimes"])
        assert wrong.exit_code == 1
        assert "Use LIVE or ON_INTERACTION" in " ".join(wrong.output.split())
        assert "Propagation mode: ON_INTERACTION" in runner.invoke(cli, ["propagation"]).output
    finally:
        get_settings.cache_clear()
