"""Pause Python's cyclic garbage collector while a step builds a large, long-lived object graph.

Reading a 10,000-KPI model builds about a million small objects (YAML nodes, marks, records,
rows) that all stay alive until the step ends. Each of them counts towards the collector's
thresholds, so it runs again and again over a heap of which nothing is garbage: three quarters
of the time spent reading such a model went to it. Reference counting still frees everything
that is not in a cycle; cycles made inside the step are collected once it ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Disable the cyclic collector for the ``with`` block (nested blocks keep it off until the outermost ends)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                # Move what the step built to the oldest generation without walking it: else the
                # first young collection after the pause walks every object the step made.
                gc.freeze()
                gc.unfreeze()
            gc.enable()
