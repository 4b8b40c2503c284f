"""Baselines of the `ntn-relay` family (declarations only; light imports). § numbers: docs/families/ntn-relay.md."""
from optkit.budgets import BUDGETS
from optkit.options import Option, time_limit
from optkit.registry import MethodSpec

_BASE = "optkit.heuristics.ntn_relay.baselines"
_SCA = "optkit.heuristics.ntn_relay.sca"

_SCA_OPTIONS = (
    time_limit(900.0),
    Option("objective", "str", "ee", "ee: Dinkelbach on EE; rate: η = 0; energy: throughput term dropped",
           choices=("ee", "rate", "energy")),
    Option("budget", "str", "paper", "sizes the iteration caps Dinkelbach × BCD × SCA: check 1×1×2, smoke 2×1×3, "
           "quick and paper 5×2×6 (D41)", choices=BUDGETS),
    Option("dinkelbach_iters", "int", None, "Dinkelbach iteration cap (null: from the budget)", low=1, high=100,
           nullable=True),
    Option("bcd_rounds", "int", None, "BCD rounds per Dinkelbach iteration (null: from the budget)", low=1,
           high=100, nullable=True),
    Option("sca_iters", "int", None, "SCA iterations per BCD round (null: from the budget)", low=1, high=100,
           nullable=True),
    Option("trust_region_km", "float", 50.0, "initial trust-region radius r_TR", low=0.5),
)

METHODS = (
    MethodSpec(family="ntn-relay", id="sat-ground-noncoop", kind="heuristic", knowledge="oracle", seeded=False,
               entry=f"{_BASE}:solve_sat_ground_noncoop",
               description="ground relays, each picks its own best SAT pair on the full bandwidth (§7.8)"),
    MethodSpec(family="ntn-relay", id="greedy-onestep", kind="heuristic", knowledge="oracle", seeded=False,
               entry=f"{_BASE}:solve_greedy_onestep",
               description="per slot the joint discrete acceleration maximizing the one-step score E27, exact "
                           "association (§7.10)"),
    MethodSpec(family="ntn-relay", id="straight-line", kind="heuristic", knowledge="oracle", seeded=False,
               entry=f"{_BASE}:solve_straight_line",
               description="fly at V* to the best static points (placed sequentially, D47), then circle; exact "
                           "association (§7.10)",
               options=(Option("grid_km", "float", 10.0, "target grid spacing", low=0.0, low_open=True),)),
    *(MethodSpec(family="ntn-relay", id=_id, kind="heuristic", knowledge="oracle", seeded=False,
                 entry=f"{_SCA}:{_entry}", description=_text, options=_SCA_OPTIONS)
      for _id, _entry, _text in (
          ("sca-dinkelbach", "solve_sca_dinkelbach", "Dinkelbach + BCD (exact association, SCA trajectory in CVXPY/"
                                                     "Clarabel), continuous accelerations (§5.3, §5.5, §7.11)"),
          ("sca-dinkelbach-discrete", "solve_sca_dinkelbach_discrete", "sca-dinkelbach projected onto the discrete "
                                                                       "accelerations in closed loop (§5.5)"))),
    MethodSpec(family="ntn-relay", id="hungarian-assoc", kind="heuristic", knowledge="oracle", seeded=False,
               entry=f"{_BASE}:solve_hungarian_assoc",
               description="static-loiter motion, lane-wise Hungarian association on full-bandwidth weights (§7.10)"),
)
