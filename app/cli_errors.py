"""What a failed `netzone` command says: a line or two naming the problem and what to do
about it, with a non-zero exit code. Never a traceback (`--debug` or NETZONE_DEBUG=1 adds
it) and never a secret: settings are named, not repeated, and database URLs lose their
password."""

from __future__ import annotations

import os
import socket
import traceback
from collections.abc import Iterator
from typing import Any

import typer
from typer.core import TyperGroup

# The exit code of a command stopped with Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130

# PostgreSQL's SQLSTATE codes of the failures an operator can fix.
MISSING_DATABASE = "3D000"
BAD_PASSWORD = "28P01"
LOGIN_REFUSED = "28000"
MISSING_TABLES = {"42P01", "42703"}  # undefined table or column: an older schema


class Problem(Exception):
    """A failure a command found itself, with the lines that say it."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0])
        self.lines = list(lines)


def check_database_folder(url: str) -> None:
    """A SQLite file whose folder is missing is said before anything connects to it (the
    driver's thread would print its own traceback after the command's message)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return
    name = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or name in ("", ":memory:") or "mode=memory" in url:
        return
    if not os.path.isdir(os.path.dirname(os.path.abspath(name))):
        what, safe = _where(url)
        raise Problem(
            f"Error: Cannot open {what}: its folder does not exist (DATABASE_URL={safe}).",
            "Create its folder, or set DATABASE_URL to a file in a folder netzone may write.",
        )


class NetzoneGroup(TyperGroup):
    """The `netzone` command group: every failure of a command it runs goes through
    `explain` (Typer's and click's own usage errors and exits pass untouched)."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (Exception, KeyboardInterrupt) as error:
            # Exits, aborts and usage errors (typer's, or click's in older typer) are
            # said by click itself.
            if type(error).__module__.partition(".")[0] in ("typer", "click"):
                raise
            debug = bool(ctx.params.get("debug"))
            if debug:
                typer.echo("".join(traceback.format_exception(error)).rstrip(), err=True)
            lines, code = explain(error)
            for line in lines:
                typer.echo(line, err=True)
            raise typer.Exit(code=code) from None


def explain(error: BaseException) -> tuple[list[str], int]:
    """The lines that tell an operator what went wrong, and the exit code."""
    from pydantic import ValidationError

    from app.errors import DomainError

    if isinstance(error, KeyboardInterrupt):
        return [
            "Interrupted: what the command had not yet committed to the database was not written."
        ], INTERRUPTED
    if isinstance(error, Problem):
        return error.lines, 1
    if isinstance(error, DomainError):
        return [f"{e.code.value}: {e.message}" for e in error.errors], 1
    if isinstance(error, ValidationError) and error.title == "Settings":
        return _refused_settings(error), 1
    database = _database_problem(error)
    if database is not None:
        return database, 1
    if isinstance(error, OSError) and error.filename is not None:
        return _file_problem(error), 1
    first = (str(error).strip().splitlines() or [""])[0][:200]
    return [
        f"Error: netzone stopped on an unexpected {type(error).__name__}"
        + (f": {first}" if first else "."),
        "Please report it, with what --debug shows.",
    ], 1


def _refused_settings(error: Any) -> list[str]:
    """Which setting is refused and why; the value never (it may be a secret)."""
    from app.settings import Settings

    lines = []
    for item in error.errors(include_input=False, include_url=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        field = str(item["loc"][0]) if item["loc"] else None
        if field is None:
            lines.append(f"Error: Setting refused: {message}.")
            continue
        info = Settings.model_fields.get(field)
        alias = info.validation_alias if info is not None else None
        name = alias if isinstance(alias, str) else f"NETZONE_{field.upper()}"
        lines.append(f"Error: Setting {name} refused: {message}.")
    lines.append("Change it in the environment (or unset it), then run the command again.")
    return lines


def _file_problem(error: OSError) -> list[str]:
    name = os.fsdecode(error.filename)
    if isinstance(error, FileNotFoundError):
        return [
            f"Error: There is no file {name!r}.",
            f"Check the path (a relative path starts in {os.getcwd()}).",
        ]
    if isinstance(error, IsADirectoryError):
        return [f"Error: {name!r} is a folder, not a file.", "Give the path of a file in it."]
    if isinstance(error, NotADirectoryError):
        return [f"Error: {name!r} is not a folder.", "Check the path."]
    if isinstance(error, PermissionError):
        return [
            f"Error: netzone may not open {name!r} (permission denied).",
            "Check its permissions, or run netzone as a user who may read it.",
        ]
    return [f"Error: Cannot open {name!r}: {error.strerror or type(error).__name__}."]


def _causes(error: BaseException) -> Iterator[BaseException]:
    """The error, the driver's error it wraps, and what caused each (a few levels)."""
    seen: set[int] = set()
    todo = [error]
    while todo and len(seen) < 12:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        for linked in (getattr(current, "orig", None), current.__cause__, current.__context__):
            if isinstance(linked, BaseException):
                todo.append(linked)


def _where(url: str) -> tuple[str, str]:
    """(what the URL names, for a person; the URL without its password)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return "the database of DATABASE_URL", "DATABASE_URL"
    safe = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite file {parsed.database or '(in memory)'}", safe
    return (
        f"the database {parsed.database!r} on the PostgreSQL server "
        f"{parsed.host or 'localhost'}:{parsed.port or 5432}",
        safe,
    )


def _database_url() -> str:
    try:
        from app.settings import get_settings

        return get_settings().database_url
    except Exception:
        return os.environ.get("DATABASE_URL", "")


def _database_problem(error: BaseException) -> list[str] | None:
    """The lines for a database that cannot be reached, opened or used; None when the
    error is not about the database."""
    from alembic.util.exc import CommandError
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    causes = list(_causes(error))
    unreachable = [
        c
        for c in causes
        if isinstance(c, (ConnectionError, TimeoutError))
        # asyncio's "Multiple exceptions: [Errno 111] Connect call failed ..." (localhost
        # tried over IPv4 and IPv6) is a bare OSError.
        or (isinstance(c, OSError) and c.filename is None and "connect" in str(c).lower())
    ]
    if not unreachable and not any(
        isinstance(c, (SQLAlchemyError, CommandError, socket.gaierror)) for c in causes
    ):
        return None
    url = _database_url()
    what, safe = _where(url)
    states = {str(getattr(c, "sqlstate", None) or getattr(c, "pgcode", None)) for c in causes}
    texts = " ".join(str(c) for c in causes).lower()
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
        host, port, name, user = parsed.host, parsed.port, parsed.database, parsed.username
    except Exception:
        host = port = name = user = None
    if MISSING_DATABASE in states:
        return [
            f"Error: There is no database {name!r} on the PostgreSQL server "
            f"{host or 'localhost'}:{port or 5432} (DATABASE_URL={safe}).",
            f"Create it (createdb -h {host or 'localhost'} -p {port or 5432}"
            f"{f' -U {user}' if user else ''} {name}), then run `netzone migrate`.",
        ]
    if BAD_PASSWORD in states or LOGIN_REFUSED in states:
        reason = next(
            (str(c).splitlines()[0] for c in causes if getattr(c, "sqlstate", None)), "refused"
        )
        return [
            f"Error: The PostgreSQL server {host or 'localhost'}:{port or 5432} refused the "
            f"login of {user!r}: {reason} (DATABASE_URL={safe}).",
            "Check the user name and password in DATABASE_URL.",
        ]
    if states & MISSING_TABLES or "no such table" in texts:
        return [
            f"Error: {_capital(what)} has no netzone tables, or older ones (DATABASE_URL={safe}).",
            "Run `netzone migrate` to create or update them.",
        ]
    if any(isinstance(c, socket.gaierror) for c in causes):
        return [
            f"Error: Cannot reach {what}: the host name {host!r} is not known "
            f"(DATABASE_URL={safe}).",
            "Check the host in DATABASE_URL.",
        ]
    if unreachable:
        return [
            f"Error: Cannot reach {what}: nothing answers at {host or 'localhost'}:"
            f"{port or 5432} (DATABASE_URL={safe}).",
            "Start PostgreSQL there, or set DATABASE_URL to the server netzone should use.",
        ]
    if "unable to open database file" in texts:
        return [
            f"Error: Cannot open {what} (DATABASE_URL={safe}).",
            "Create its folder, or set DATABASE_URL to a file in a folder netzone may write.",
        ]
    revision = next((c for c in causes if isinstance(c, CommandError)), None)
    if revision is not None:
        return [
            f"Error: Migrating {what} failed: {str(revision).splitlines()[0]}.",
            "A database migrated by a newer netzone needs that version (or a backup).",
        ]
    driver = next((c for c in causes if isinstance(c, DBAPIError)), error)
    origin = getattr(driver, "orig", None) or driver
    return [
        f"Error: {_capital(what)} answered with an error ({type(origin).__name__}) "
        f"(DATABASE_URL={safe}).",
        "Run again with --debug to see it.",
    ]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
