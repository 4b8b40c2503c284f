"""Progress of a running sweep on stderr: cells done, failures and the estimated time left."""
from __future__ import annotations

import math
import sys
import time


class Progress:
    """Cells done, failures and ETA on stderr: one updating line on a terminal, a line every 10 s otherwise."""

    def __init__(self, total: int, already: int, enabled: bool = True, stream=None):
        self.total, self.done, self.failed = total, already, 0
        self.todo = total - already
        self.start = time.monotonic()
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.last_print = 0.0
        self.finished_here = 0

    def update(self, row: dict) -> None:
        self.done += 1
        self.finished_here += 1
        self.failed += row["status"] == "error"
        now = time.monotonic()
        if self.enabled and (self.tty or now - self.last_print >= 10 or self.done == self.total):
            self.last_print = now
            self._print(row)

    def _print(self, row: dict) -> None:
        elapsed = time.monotonic() - self.start
        remaining = self.total - self.done
        eta = elapsed / self.finished_here * remaining if self.finished_here else float("nan")
        bar_width = 24
        filled = int(bar_width * self.done / max(1, self.total))
        text = (f"bench [{'#' * filled}{'.' * (bar_width - filled)}] {self.done}/{self.total} cells"
                f" · {self.failed} failed · {_clock(elapsed)} elapsed · ETA {_clock(eta)}"
                f" · last {row['method']} seed {row['seed']}: {row['status']}")
        if self.tty:
            self.stream.write("\r" + text[:160].ljust(160))
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    """'1m05s' or '2h03m'; '--' when unknown."""
    if not math.isfinite(seconds):
        return "--"
    seconds = int(round(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 else f"{seconds // 60}m{seconds % 60:02d}s"
