"""Python's cyclic garbage collector during a batch of an import.

An import allocates many small objects per row (parsed cells, states, audit snapshots),
which sets off the collector every few hundred allocations, and each full collection
walks every object of the process (the application's modules and SQLAlchemy's mappings
included): a sixth of a large import's time. During a batch, the objects that existed
before it are set aside (`gc.freeze`): collections look at the batch's own objects only.
They are handed back at the end of the batch (`gc.unfreeze`), and collected between
batches (below). Nothing else changes: memory is freed by reference counting as always,
and the collector runs as often.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Garbage in reference cycles left by a batch (ORM objects of the patrons it loaded, for
# one) is handed back with the rest at its end, but the next batch sets it aside again
# before the collector's rare full collection comes round: it would pile up, a third of a
# kilobyte a row of a re-import. So every COLLECT_EVERY batches a full collection runs
# between two batches. Measured (bench.import_throughput, 100k rows): every 10 batches
# cost 5-15% of a re-import or update; every 25, nothing measurable, with the peak RSS
# flat about 8 MB above the start.
COLLECT_EVERY = 25
_batches = 0


@contextmanager
def older_objects_set_aside() -> Iterator[None]:
    global _batches
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        _batches += 1
        if _batches % COLLECT_EVERY == 0:
            gc.collect()
