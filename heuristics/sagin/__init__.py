"""Classical baselines of the `sagin` family (spec §7.3 `sl`, §7.4 `graph`), registered with the family.

`straight_line.solve_sl`: straight-line flight at speed V with max-RSRP association re-chosen every step.
`graph_planner.solve_graph`: outage-constrained minimum-time path on a GN/AN connectivity grid (networkx),
CVXPY SOCP smoothing (§5.6) and sticky GN/AN association.
"""
