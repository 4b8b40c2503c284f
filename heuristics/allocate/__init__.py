"""Baselines of the `allocate` family (declarations only; light imports). § numbers: docs/families/allocate.md."""
from optkit.registry import MethodSpec

METHODS = (
    MethodSpec(
        family="allocate", id="random", kind="heuristic", knowledge="online",
        entry="optkit.heuristics.allocate.random_baseline:solve",
        description="random walk UAVs, random PoA, random blocks, random hosts on random routes (§7.5)",
    ),
    MethodSpec(
        family="allocate", id="sca", kind="heuristic", knowledge="online",
        entry="optkit.heuristics.allocate.sca:solve",
        description="penalty-SCA LPs (CVXPY): reactive UAV placement, one exclusive channel per request and frame, "
                    "placement/routing with rounding and repair (§7.3)",
    ),
)
