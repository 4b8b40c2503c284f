"""No-collapse monitors of a training curve (ARCHITECTURE.md, "Learners must demonstrably learn").

A training curve is the list of per-episode dicts that `training.run_episodes` returns ({"episode": e, ...}).
Every monitor looks at the last `fraction` (default 25 %) of the episodes and returns a `Monitor` (name, ok, value,
detail); `ok` is False when the curve shows the failure mode. They serve every learner of every family:

* `stop_only(curve, key, min_mean)`: the policy degenerated to a constant "do nothing" action, e.g. STOP in every
  frame: the mean of `key` (decisions taken per episode, e.g. placement steps) is <= `min_mean` (e.g. T, one STOP
  per frame).
* `constant_action(curve, key, min_distinct=2)`: `key` (the action, or an action summary, recorded per episode)
  takes fewer than `min_distinct` distinct values.
* `flat_return(curve, key="return", tol)`: the training return is constant (standard deviation <= tol).
* `validation_drop(curve, key, margin, higher_is_better=True)`: a greedy validation score recorded in some rows
  falls more than `margin` below its best over the tail.
* `monotone_multiplier(curve, key)`: a Lagrange multiplier (or any dual variable) only grows over the tail.

`run_monitors(curve, checks)` runs several and `failures(results)` lists the failed ones.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TAIL = 0.25


@dataclass(frozen=True)
class Monitor:
    """Outcome of one monitor: ok is False when the failure mode is detected; value is the statistic tested."""

    name: str
    ok: bool
    value: float
    detail: str


def tail(curve: list[dict], fraction: float = TAIL) -> list[dict]:
    """The last ceil(fraction · len(curve)) records (at least one when the curve is not empty)."""
    if not curve:
        return []
    n = max(1, int(math.ceil(float(fraction) * len(curve))))
    return list(curve[-n:])


def _series(records: list[dict], key: str) -> np.ndarray:
    values = [r[key] for r in records if key in r and r[key] is not None]
    out = np.asarray(values, dtype=float)
    return out[np.isfinite(out)]


def stop_only(curve: list[dict], key: str, min_mean: float, *, fraction: float = TAIL) -> Monitor:
    """Fails when the mean of `key` over the tail is <= min_mean (e.g. placement steps per episode <= T: STOP in
    every frame). A curve without `key` fails (nothing shows that the policy acts)."""
    values = _series(tail(curve, fraction), key)
    mean = float(values.mean()) if values.size else float("nan")
    ok = bool(values.size and mean > float(min_mean))
    return Monitor("stop_only", ok, mean, f"mean {key} over the last {fraction:.0%} = {mean:.3g} "
                                          f"({'>' if ok else '<='} {min_mean:g})")


def constant_action(curve: list[dict], key: str, *, min_distinct: int = 2, fraction: float = TAIL) -> Monitor:
    """Fails when `key` takes fewer than min_distinct distinct values over the tail (the policy emits one action)."""
    values = [r[key] for r in tail(curve, fraction) if key in r]
    distinct = len({repr(v) for v in values})
    ok = distinct >= int(min_distinct)
    return Monitor("constant_action", ok, float(distinct),
                   f"{distinct} distinct value(s) of {key} over the last {fraction:.0%}")


def flat_return(curve: list[dict], key: str = "return", *, tol: float = 1e-9, fraction: float = TAIL) -> Monitor:
    """Fails when the standard deviation of `key` over the tail is <= tol (the training return is constant)."""
    values = _series(tail(curve, fraction), key)
    std = float(values.std()) if values.size > 1 else 0.0
    ok = std > float(tol)
    return Monitor("flat_return", ok, std, f"std of {key} over the last {fraction:.0%} = {std:.3g}")


def validation_drop(curve: list[dict], key: str, margin: float, *, higher_is_better: bool = True,
                    fraction: float = TAIL) -> Monitor:
    """Fails when the greedy validation score `key` (recorded only in the rows where validation ran) is, at some
    validation point of the tail, more than `margin` worse than its best over the whole curve. value: the largest
    shortfall found in the tail (0 when none)."""
    all_values = _series(curve, key)
    tail_values = _series(tail(curve, fraction), key)
    if not all_values.size:
        return Monitor("validation_drop", False, float("nan"), f"no {key} recorded")
    sign = 1.0 if higher_is_better else -1.0
    best = float((sign * all_values).max())
    shortfall = float(max(0.0, best - float((sign * tail_values).min()))) if tail_values.size else 0.0
    ok = shortfall <= float(margin)
    return Monitor("validation_drop", ok, shortfall,
                   f"worst {key} over the last {fraction:.0%} is {shortfall:.3g} below the best "
                   f"({sign * best:.4g}; margin {margin:g})")


def monotone_multiplier(curve: list[dict], key: str, *, fraction: float = TAIL, tol: float = 1e-12) -> Monitor:
    """Fails when `key` (a multiplier) never decreases over the tail and ends higher than it started there."""
    values = _series(tail(curve, fraction), key)
    if values.size < 2:
        return Monitor("monotone_multiplier", True, 0.0, f"fewer than 2 values of {key} in the tail")
    steps = np.diff(values)
    grows_only = bool(np.all(steps >= -tol) and values[-1] > values[0] + tol)
    return Monitor("monotone_multiplier", not grows_only, float(values[-1] - values[0]),
                   f"{key} {'only grows' if grows_only else 'moves both ways or stays'} over the last {fraction:.0%} "
                   f"({values[0]:.4g} -> {values[-1]:.4g})")


def run_monitors(curve: list[dict], checks: dict) -> list[Monitor]:
    """checks: monitor name -> keyword arguments, e.g. {"stop_only": {"key": "pl_steps", "min_mean": 10},
    "flat_return": {}, "validation_drop": {"key": "val_objective", "margin": 0.5}}."""
    table = {"stop_only": stop_only, "constant_action": constant_action, "flat_return": flat_return,
             "validation_drop": validation_drop, "monotone_multiplier": monotone_multiplier}
    out = []
    for name, kwargs in checks.items():
        if name not in table:
            raise ValueError(f"unknown monitor {name!r} (known: {', '.join(sorted(table))})")
        out.append(table[name](curve, **kwargs))
    return out


def failures(results: list[Monitor]) -> list[Monitor]:
    """The monitors that detected their failure mode."""
    return [m for m in results if not m.ok]
