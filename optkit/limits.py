"""Time limits of method runs: a cooperative `Deadline` that methods check between units of work (ticks, UAVs,
episodes), and `hard_time_limit`, the backstop that stops a method which overruns its limit (the CLI and the runner
put it around every non-learner method call).

A method that stops on its deadline returns status `time_limit` with the decisions it has so far (finished units
as computed, unfinished ones with the family's "no decision" value) and says in `info["time_limit_reached"]` how
much was done. The backstop cannot return decisions: the call raises `TimeLimitReached`, and the caller reports
status `time_limit` without decisions.
"""
from __future__ import annotations

import contextlib
import math
import signal
import threading
import time

#: The backstop fires at time_limit * HARD_FACTOR + HARD_GRACE_S (a cooperative method stops at time_limit).
HARD_FACTOR = 1.25
HARD_GRACE_S = 5.0


class TimeLimitReached(Exception):
    """Raised inside a method run by `hard_time_limit` (or by `Deadline.check`) when its limit has passed."""


class Deadline:
    """Wall-clock deadline of one method run: `time_limit` seconds from now (None: never)."""

    def __init__(self, time_limit: float | None):
        self.time_limit = time_limit
        self.start = time.perf_counter()
        self.end = math.inf if time_limit is None else self.start + float(time_limit)

    def expired(self) -> bool:
        return time.perf_counter() >= self.end

    def left(self) -> float:
        """Seconds left (inf without a limit, 0 once passed)."""
        return max(self.end - time.perf_counter(), 0.0)

    def check(self) -> None:
        """Raise TimeLimitReached once the deadline has passed."""
        if self.expired():
            raise TimeLimitReached(f"time limit of {self.time_limit:g} s reached")


@contextlib.contextmanager
def hard_time_limit(time_limit: float | None):
    """Raise TimeLimitReached in the block once time_limit * HARD_FACTOR + HARD_GRACE_S seconds have passed
    (SIGALRM; Python code is interrupted between bytecodes, a long C call when it returns). No-op without a limit,
    outside the main thread, or where SIGALRM does not exist."""
    usable = (time_limit is not None and hasattr(signal, "SIGALRM")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return
    seconds = float(time_limit) * HARD_FACTOR + HARD_GRACE_S

    def handler(signum, frame):
        raise TimeLimitReached(f"stopped {seconds:.0f} s after its start (time limit {time_limit:g} s)")

    previous = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
