"""Progress of a long job for its log: done/total, rate and ETA, so `tail -f` on the log says when the
job will finish (docs/running.md, "Watching a run")."""

from __future__ import annotations

import time


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


class Progress:
    """Counts `total` units of work (`unit` is their plural name, e.g. "epochs", "images").

    The rate is the mean since the start, so the first, tracing-heavy step makes early ETAs
    pessimistic rather than optimistic. `done` counts work already finished before (a resumed run).
    """

    def __init__(self, total: int, unit: str, done: int = 0, clock=time.monotonic):
        self.total, self.unit, self.done, self.clock = total, unit, done, clock
        self.first, self.start = done, clock()

    def update(self, n: int = 1) -> str:
        """Record `n` more units done; the line to log: `12/35 epochs (34%), 8.1 s/epoch, ETA 0:03:06`."""
        self.done += n
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = (self.done - self.first) / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        singular = self.unit[:-1] if self.unit.endswith("s") else self.unit
        speed = f"{1 / rate:.3g} s/{singular}" if 0 < rate < 1 else f"{rate:.3g} {self.unit}/s"
        eta = duration(left) if left != float("inf") else "unknown"
        percent = 100 * self.done / self.total if self.total else 100
        return (
            f"{self.done}/{self.total} {self.unit} ({percent:.0f}%) in {duration(elapsed)}, {speed}, "
            f"ETA {eta}"
        )
