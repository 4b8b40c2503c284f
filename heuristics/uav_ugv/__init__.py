"""Baselines of the `uav-ugv` family (declarations only; light imports). § numbers: docs/families/uav-ugv.md."""
from optkit.options import Option, time_limit
from optkit.registry import MethodSpec

_MODULE = "optkit.heuristics.uav_ugv.baselines"

METHODS = tuple(
    MethodSpec(family="uav-ugv", id=_id, kind="heuristic", knowledge=_knowledge, entry=f"{_MODULE}:{_entry}",
               description=_text, seeded=_seeded)
    for _id, _entry, _knowledge, _seeded, _text in (
        ("static-kmeans", "solve_static_kmeans", "oracle", True,
         "k-means hover points at z_max, straight-line flights, UGVs by time-expanded DP (§7.5)"),
        ("ugv-static", "solve_ugv_static", "oracle", True,
         "the static-kmeans UAV plan with every UGV parked at home (§7.8, D39)"),
        ("greedy-myopic", "solve_greedy_myopic", "oracle", False,
         "per slot, each UAV takes the best of 53 moves for the next-slot objective; UGVs chase their UAV (§7.6)"),
        ("hover-home", "solve_hover_home", "online", False, "every vehicle stays at home (§7.7)"),
        ("random", "solve_random", "online", True, "uniform random actions through the safety layer (§7.7)"),
    )
)

METHODS += (
    MethodSpec(
        family="uav-ugv", id="bcd-sca", kind="heuristic", knowledge="oracle",
        entry="optkit.heuristics.uav_ugv.bcd:solve_bcd_sca",
        description="block-coordinate descent from static-kmeans: hungarian-sizes association, SCA trajectories "
                    "(E29 correction), DP UGV routes; every block accepted only if the merit does not fall (§7.4)",
        options=(time_limit(60.0),
                 Option("outer_iters", "int", 5, "outer BCD iterations", low=1, high=100),
                 Option("sca_solves", "int", 15, "SCA subproblem solves per trajectory block", low=1, high=200)),
    ),
)
