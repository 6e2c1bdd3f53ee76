"""The page of a sweep that is still training: ``index.html`` re-rendered now and then.

The host calls ``LiveReport.chunk_done`` when a chunk's rows are written; at most every
``EngineOptions.report_seconds`` (and never more often than ``MAX_SHARE`` of the time spent
rendering allows) it renders the page from the rows on disk -- without PNGs or explorer pages,
which the final report adds.  A failed render is a warning, never a failed sweep.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from pathlib import Path

MAX_SHARE = 0.05  # of the wall time spent re-rendering (the host shares the cores on CPU)


class LiveReport:
    def __init__(self, out: Path, every_s: float, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic):
        self.out, self.every_s, self.enabled, self.clock = Path(out), every_s, enabled, clock
        self.last = clock()
        self.cost_s = 0.0  # the last render's duration
        self.renders = 0

    def due(self) -> bool:
        wait = max(self.every_s, self.cost_s / MAX_SHARE)
        return self.enabled and self.clock() - self.last >= wait

    def chunk_done(self, *_: object) -> None:
        if not self.due():
            return
        from grokjax.report import write_report

        t0 = self.clock()
        try:
            write_report(self.out, png=False, explorers=False)
            self.renders += 1
        except Exception as e:  # the rows are safe; only the interim page is missing
            warnings.warn(f"{self.out}: the interim page was not written: {e}", stacklevel=2)
            self.enabled = False
        self.last = self.clock()
        self.cost_s = self.last - t0
