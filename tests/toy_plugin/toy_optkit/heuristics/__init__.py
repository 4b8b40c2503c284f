"""Baselines of `toy-knapsack`."""
from optkit.registry import MethodSpec

_RULES = "toy_optkit.heuristics.rules"

METHODS = (
    MethodSpec(family="toy-knapsack", id="greedy", kind="heuristic", knowledge="oracle", seeded=False,
               entry=f"{_RULES}:solve_greedy", description="items by value per weight while they fit"),
    MethodSpec(family="toy-knapsack", id="random", kind="heuristic", knowledge="oracle",
               entry=f"{_RULES}:solve_random", description="items in random order while they fit"),
)
