"""The upload's check of an import file (UTF-8 CSV, its number of rows, its SHA-256), run
in a process of its own.

Parsing a 21 MB file of 100,000 patrons takes the csv module about 0.2 s of Python. In a
thread of the API process that is 0.2 s of holding the interpreter lock, which the event
loop serving every other request then waits for, in slices of 5 ms, at each step of each
request: lookups answered during an upload took 100-300 ms instead of 3-5. A child
process (about 40 ms to start, at the worker's lower priority) shares no lock with it.

    python -m app.imports.file_check PATH NICE   prints {"digest", "rows"} or {"line", "problem"}
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from app.imports.files import FileProblem, file_facts

FileFacts = Callable[[Path], Awaitable[tuple[str, int]]]


async def facts_in_thread(path: Path) -> tuple[str, int]:
    """`file_facts` in a thread (the CLI, where no event loop serves anyone else)."""
    return await asyncio.to_thread(file_facts, path)


async def checked_facts(path: Path, *, nice: int = 0) -> tuple[str, int]:
    """SHA-256 and data rows of the file, as `file_facts` gives them (FileProblem alike),
    worked out by a child process."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.imports.file_check",
        str(path),
        str(nice),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await child.communicate()
    except BaseException:  # the request was cancelled: the check goes with it
        if child.returncode is None:
            child.kill()
            await child.wait()
        raise
    if child.returncode != 0:
        raise RuntimeError(
            f"Checking the import file failed (exit {child.returncode}): "
            f"{err.decode(errors='replace')[-500:]}"
        )
    result = json.loads(out)
    if "problem" in result:
        raise FileProblem(int(result["line"]), str(result["problem"]))
    return str(result["digest"]), int(result["rows"])


def main(argv: list[str]) -> None:
    path, nice = Path(argv[0]), int(argv[1])
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    try:
        digest, rows = file_facts(path)
    except FileProblem as problem:
        sys.stdout.write(json.dumps({"line": problem.line, "problem": problem.message}))
        return
    sys.stdout.write(json.dumps({"digest": digest, "rows": rows}))


if __name__ == "__main__":
    main(sys.argv[1:])
