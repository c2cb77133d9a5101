"""Where in the file a value of a unique column first went through, for the message of a
later row that repeats it ("repeats line 12 of this file").

One entry per value of every accepted row: the latest 20,000 kept in memory, the others in
a private temporary SQLite database on disk (a table indexed on the key), so that the
importing process's memory does not grow with the file (1,000,000 rows would be about
300 MB as a dict). The table is read only when a row has a duplicate error.
"""

from __future__ import annotations

import sqlite3

FLUSH = 20_000  # entries kept in memory before they go to disk (about 2 MB)


class FirstLines:
    """key -> the first line remembered under it (later lines for the same key are not)."""

    def __init__(self) -> None:
        self._recent: dict[int, int] = {}
        self._disk: sqlite3.Connection | None = None

    def remember(self, key: int, line: int) -> None:
        self._recent.setdefault(key, line)
        if len(self._recent) >= FLUSH:
            self._flush()

    def get(self, key: int) -> int | None:
        if self._disk is not None:
            found = self._disk.execute("SELECT line FROM first_line WHERE key = ?", (key,))
            row = found.fetchone()
            if row is not None:
                return int(row[0])  # earlier than any line still in memory
        return self._recent.get(key)

    def _flush(self) -> None:
        if self._disk is None:
            # "": a private temporary database on disk, deleted when it is closed.
            self._disk = sqlite3.connect("")
            self._disk.execute("PRAGMA journal_mode = OFF")
            self._disk.execute("PRAGMA synchronous = OFF")
            self._disk.execute(
                "CREATE TABLE first_line (key INTEGER PRIMARY KEY, line INTEGER NOT NULL)"
            )
        # The lines on disk are earlier than these: the first one stays.
        self._disk.executemany(
            "INSERT OR IGNORE INTO first_line (key, line) VALUES (?, ?)",
            sorted(self._recent.items()),  # in key order: each page of the index once
        )
        self._disk.commit()
        self._recent = {}
