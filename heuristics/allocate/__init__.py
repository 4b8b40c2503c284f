"""Baselines of the `allocate` family (registration only; light imports)."""
from optkit.registry import MethodSpec, register_method

register_method(MethodSpec(
    family="allocate", id="random", kind="heuristic", knowledge="online",
    entry="optkit.heuristics.allocate.random_baseline:solve",
    description="random walk UAVs, random PoA, random blocks, random hosts on random routes (spec §7.5)",
))

register_method(MethodSpec(
    family="allocate", id="sca", kind="heuristic", knowledge="online",
    entry="optkit.heuristics.allocate.sca:solve",
    description="penalty-SCA LPs (CVXPY): reactive UAV placement, one exclusive channel per request and frame, "
                "placement/routing with rounding and repair (spec §7.3)",
))
