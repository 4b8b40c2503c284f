"""Classical baselines of the `sagin` family (§7.3 `sl`, §7.4 `graph` of docs/families/sagin.md; declarations only,
light imports).

`straight_line.solve_sl`: straight-line flight at speed V with max-RSRP association re-chosen every step.
`graph_planner.solve_graph`: outage-constrained minimum-time path on a GN/AN connectivity grid (networkx),
CVXPY SOCP smoothing (§5.6) and sticky GN/AN association.
"""
from optkit.registry import MethodSpec

METHODS = (
    MethodSpec(
        family="sagin", id="sl", kind="heuristic", knowledge="online", seeded=False,
        entry="optkit.heuristics.sagin.straight_line:solve_sl",
        description="straight-line flight to the destination with max-RSRP association every step (§7.3)",
    ),
    MethodSpec(
        family="sagin", id="graph", kind="heuristic", knowledge="oracle", seeded=False,
        entry="optkit.heuristics.sagin.graph_planner:solve_graph",
        description="outage-constrained shortest path on a 50 m GN/AN connectivity grid (networkx Dijkstra), CVXPY "
                    "SOCP smoothing, sticky GN/AN association (§7.4)",
    ),
)
