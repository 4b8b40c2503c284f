"""Instance, generator, evaluator and exact reference of `toy-knapsack`.

Decisions: a 0/1 vector `chosen` (n_items,). objective = total value of the chosen items when their weight fits the
capacity, else 0 (an infeasible choice earns nothing and is reported as a violation).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from optkit.evaluation import Evaluation, MetricSpec
from optkit.instance import Instance, check_finite, check_int
from optkit.seeds import stream
from optkit.solution import Solution, Status

METRICS = (
    MetricSpec("objective", "1", "higher", "total value of the chosen items (0 when over capacity)"),
    MetricSpec("weight_used", "1", "none", "total weight of the chosen items"),
    MetricSpec("items", "count", "none", "number of chosen items"),
    MetricSpec("frac_opt", "1", "higher", "objective / objective of the reference"),
)


@dataclass(frozen=True)
class KnapsackInstance(Instance):
    family: ClassVar[str] = "toy-knapsack"

    seed: int
    preset: str
    values: np.ndarray        # (n,)
    weights: np.ndarray       # (n,) integers >= 1
    capacity: int

    def validate(self) -> "KnapsackInstance":
        check_finite("values", self.values, min_value=0.0)
        check_finite("weights", self.weights, positive=True)
        check_int("capacity", int(self.capacity), min_value=0)
        return self


def generate(params: dict, seed: int, preset: str = "custom") -> KnapsackInstance:
    rng = stream(seed, 1)
    n = int(params["n_items"])
    weights = rng.integers(1, int(params["max_weight"]) + 1, size=n)
    values = np.round(rng.uniform(0.0, 10.0, size=n), 3)
    capacity = int(round(float(params["capacity_share"]) * weights.sum()))
    return KnapsackInstance(seed, preset, values, weights.astype(np.int64), capacity).validate()


def decisions_to_jsonable(chosen) -> dict:
    return {"chosen": [int(x) for x in np.asarray(chosen)]}


def decisions_from_jsonable(data: dict) -> np.ndarray:
    return np.asarray(data["chosen"], dtype=np.int64)


def evaluate(inst: KnapsackInstance, solution: Solution) -> Evaluation:
    chosen = np.asarray(solution.decisions, dtype=bool)
    weight = float(inst.weights[chosen].sum())
    over = max(0.0, weight - inst.capacity)
    value = float(inst.values[chosen].sum()) if over == 0 else 0.0
    metrics = {"objective": value, "weight_used": weight, "items": float(chosen.sum()), "frac_opt": float("nan")}
    return Evaluation(metrics, over == 0, {"capacity": over} if over else {})


def with_reference(evaluation: Evaluation, reference: Evaluation) -> Evaluation:
    ref = reference.metrics["objective"]
    evaluation.metrics["frac_opt"] = evaluation.metrics["objective"] / ref if ref > 0 else float("nan")
    return evaluation


def solve_dp(inst: KnapsackInstance, *, seed: int = 0, time_limit: float | None = None, scale: int = 1) -> Solution:
    """Exact: best[c] over capacities c = 0..capacity·scale, items in order, with back-pointers."""
    start = time.perf_counter()
    weights, cap = inst.weights * scale, inst.capacity * scale
    best = np.zeros(cap + 1)
    take = np.zeros((len(weights), cap + 1), dtype=bool)
    for i, (w, v) in enumerate(zip(weights, inst.values)):
        candidate = np.full(cap + 1, -np.inf)
        candidate[w:] = best[:cap + 1 - w] + v
        take[i] = candidate > best
        best = np.maximum(best, candidate)
    chosen, c = np.zeros(len(weights), dtype=np.int64), cap
    for i in range(len(weights) - 1, -1, -1):
        if take[i, c]:
            chosen[i], c = 1, c - weights[i]
    value = float(inst.values[chosen.astype(bool)].sum())
    return Solution("toy-knapsack", "toy-dp", Status.OPTIMAL, chosen, objective=value, bound=value, gap=0.0,
                    runtime_s=time.perf_counter() - start)
