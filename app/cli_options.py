"""What `netzone` commands share: ids given either way, addresses a person can open, and
progress while the demo network is seeded."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from app.graphql.ids import MAX_PK, decode_pk, encode_id

# Addresses that mean "every address of this machine": no one can open them in a browser.
ALL_ADDRESSES = {"", "0.0.0.0", "::", "*"}


def record_id(value: str, type_name: str, what: str, listed_by: str) -> int:
    """The primary key an id argument names: the number a `netzone` listing shows, or the
    opaque id the GraphQL API gives (e.g. the `id` of an ApiClient); BadParameter else."""
    text = value.strip()
    if text.isascii() and text.isdigit() and 0 < int(text) <= MAX_PK:
        return int(text)
    found = decode_pk(text, type_name)
    if found is None:
        raise typer.BadParameter(
            f"{value!r} is not the id of {what}: give the id the API answers with, or the "
            f"number {listed_by} shows."
        )
    return found


def graphql_id(type_name: str, pk: int | None) -> str:
    """The id the GraphQL API gives a row (what CLI listings show)."""
    assert pk is not None
    return encode_id(type_name, pk)


def open_url(host: str, port: int, path: str = "") -> str:
    """A URL a person can open for a server listening on host:port, saying so when it
    listens on every address (0.0.0.0 or ::, which no browser opens)."""
    if host.strip() in ALL_ADDRESSES:
        return (
            f"http://127.0.0.1:{port}{path} (listening on all addresses; from another "
            f"machine: http://{socket.gethostname()}:{port}{path})"
        )
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    return f"http://{shown}:{port}{path}"


Step = Callable[[int, int, str], None]


@contextmanager
def demo_progress(console: Console) -> Iterator[Step]:
    """A progress bar for seeding the demo network: yields the `progress` callback of
    app.demo.seed.seed_demo (steps done, steps in all, what comes next). The bar starts
    with the first step: a refused seeding shows none."""
    bar = Progress(
        TextColumn("Seeding the demo network"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
    )
    tasks: list[TaskID] = []

    def step(done: int, total: int, what: str) -> None:
        if not tasks:
            bar.start()
            tasks.append(bar.add_task(what, total=total))
        bar.update(tasks[0], completed=done, total=total, description=what)

    try:
        yield step
    finally:
        if tasks:
            bar.stop()
