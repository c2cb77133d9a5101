"""An import's batches set the objects older than the batch aside from the cyclic garbage
collector (app.imports.collector): garbage in reference cycles left by one batch must
still be collected, not kept until the process ends."""

from __future__ import annotations

import gc
import weakref

from app.imports import collector


class Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_cyclic_garbage_of_a_batch_is_collected_within_a_few_batches() -> None:
    gc.collect()
    left: list[weakref.ref[Node]] = []
    for _ in range(collector.COLLECT_EVERY * 2):
        with collector.older_objects_set_aside():
            left.append(weakref.ref(Node()))  # garbage at once, reachable from nothing
    # Every batch's garbage but that of the batches since the last collection is gone.
    alive = [ref for ref in left if ref() is not None]
    assert len(alive) < collector.COLLECT_EVERY
    assert not gc.isenabled() or gc.get_freeze_count() == 0
