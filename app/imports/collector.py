"""Python's cyclic garbage collector during a batch of an import.

An import allocates many small objects per row (parsed cells, states, audit snapshots),
which sets off the collector every few hundred allocations, and each full collection
walks every object of the process (the application's modules and SQLAlchemy's mappings
included): a sixth of a large import's time. During a batch, the objects that existed
before it are set aside (`gc.freeze`): collections look at the batch's own objects only.
They are handed back at the end of the batch (`gc.unfreeze`), so that any garbage among
them is collected as before. Nothing else changes: memory is freed by reference counting
as always, and the collector runs as often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def older_objects_set_aside() -> Iterator[None]:
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
