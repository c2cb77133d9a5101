"""`serve --workers N` on SQLite: one process runs the scheduled jobs (app.jobs.ScheduleLock),
and another takes them over when it ends."""

from __future__ import annotations

from pathlib import Path

from app.jobs import ScheduleLock


def test_one_holder_at_a_time_and_another_takes_over_when_it_lets_go(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'netzone.db'}"
    first, second = ScheduleLock(url), ScheduleLock(url)
    assert first.held()
    assert not second.held()
    assert first.held()  # kept while its process runs
    first.release()  # its process ended
    assert second.held()
    assert not first.held()
    second.release()
    assert (tmp_path / "netzone.db.schedule.lock").exists()


def test_an_in_memory_database_belongs_to_one_process() -> None:
    assert ScheduleLock("sqlite+aiosqlite:///:memory:").held()
    assert ScheduleLock("sqlite+aiosqlite://").held()
