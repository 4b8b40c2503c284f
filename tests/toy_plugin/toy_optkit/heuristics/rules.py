"""Greedy and random rules of `toy-knapsack`: add items in an order while they fit."""
from __future__ import annotations

import time

import numpy as np

from optkit.seeds import method_stream
from optkit.solution import Solution, Status


def _fill(inst, order, method: str, start: float) -> Solution:
    chosen, room = np.zeros(len(inst.weights), dtype=np.int64), inst.capacity
    for i in order:
        if inst.weights[i] <= room:
            chosen[i], room = 1, room - inst.weights[i]
    return Solution("toy-knapsack", method, Status.FEASIBLE, chosen, runtime_s=time.perf_counter() - start)


def solve_greedy(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    start = time.perf_counter()
    return _fill(inst, np.argsort(-inst.values / inst.weights, kind="stable"), "greedy", start)


def solve_random(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    start = time.perf_counter()
    return _fill(inst, method_stream(inst.seed, "random", seed).permutation(len(inst.weights)), "random", start)
