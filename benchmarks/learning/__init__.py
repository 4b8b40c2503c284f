"""Per-family sections of the learning checks (ARCHITECTURE.md, "Learners must demonstrably learn").

`python benchmarks/learning_checks.py --family <pkg> [--quick]` imports `benchmarks/learning/<pkg>.py` (pkg: the
family's package name, e.g. `allocate`, `sagin`, `leo_handover`) and writes `benchmarks/results/learning_<pkg>.md`.

Interface of a section module:

    def run(quick: bool) -> list[tuple[str, "pandas.DataFrame"]]:
        '''(title, table) pairs, in the order they appear in the results file. quick=True: the smallest run that
        still answers every check (used to try the script); quick=False: the published measurement.'''

Optional module attributes: `INTRO` (str, markdown paragraph written under the file's heading: what was run, on
which seeds and budgets, and what each table checks) and `COMMAND` (str, the command that regenerates the file;
default `python benchmarks/learning_checks.py --family <pkg>`).

Shared helpers for sections: `paired_bootstrap` (95 % interval of mean(A - B) over seeds, 10 000 resamples) and
`verdict` (the `>` / `>=` tests of allocate §9 / D35), `cpu_clock` (wall and CPU seconds of a block).
"""
from __future__ import annotations

import contextlib
import os
import time

import numpy as np

RESAMPLES = 10_000


def paired_bootstrap(a, b, *, resamples: int = RESAMPLES, seed: int = 0, level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of mean(a - b) over paired seeds: percentile bootstrap over the seeds, `resamples` draws.
    a, b: (n,) values of two methods on the same n seeds (same order)."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if diff.size == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = rng.integers(diff.size, size=(int(resamples), diff.size))
    means = diff[idx].mean(axis=1)
    tail = (1.0 - level) / 2.0
    return float(diff.mean()), float(np.quantile(means, tail)), float(np.quantile(means, 1.0 - tail))


def verdict(low: float, relation: str, margin: float = 0.5) -> bool:
    """`>`: the interval's lower end is above 0; `>=`: it is at least -margin (allocate §9, D35)."""
    if relation == ">":
        return bool(low > 0.0)
    if relation == ">=":
        return bool(low >= -float(margin))
    raise ValueError(f"relation must be '>' or '>=', got {relation!r}")


@contextlib.contextmanager
def cpu_clock(out: dict):
    """Fills out["wall_s"] and out["cpu_s"] (this process and its finished children) for the block."""
    wall, cpu = time.perf_counter(), _cpu()
    try:
        yield out
    finally:
        out["wall_s"] = time.perf_counter() - wall
        out["cpu_s"] = _cpu() - cpu


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
