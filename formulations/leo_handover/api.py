"""Family API of `leo-handover` used by the core (CLI, runner, report, contract suites)."""
from __future__ import annotations

from optkit.formulations.leo_handover.evaluator import METRICS, Decisions, evaluate, with_reference
from optkit.formulations.leo_handover.generator import generate
from optkit.formulations.leo_handover.instance import LeoHandoverInstance

__all__ = ["INSTANCE_CLASS", "PRIMARY_METRIC", "METRICS", "generate", "evaluate", "with_reference",
           "decisions_to_jsonable", "decisions_from_jsonable", "describe", "REPORT_METRICS", "REPORT_LABELS",
           "SWEEP_PANELS", "SWEEP_LABELS", "RADAR_AXES", "HEAT_METRICS", "RUNTIME_METRIC"]

INSTANCE_CLASS = LeoHandoverInstance
PRIMARY_METRIC = "handovers"
# The reference's bound is its own objective (Σq at H_min for "lex", Σq − λH otherwise), not a bound on the
# reward G of other methods: the runner leaves frac_bound empty.
REFERENCE_BOUND_IS_DUAL = False

# What `optkit report` shows for this family (spec §6.3, §9); units and directions come from METRICS.
REPORT_METRICS = ("handovers", "handover_freq", "link_duration", "link_duration_s", "reward", "eta_ho", "eta_ld",
                  "eta_g", "excess_handovers", "handovers_voluntary", "serving_elev_deg", "decision_s", "train_s")
SWEEP_PANELS = ("handover_freq", "link_duration", "reward")
RADAR_AXES = ("eta_ho", "eta_ld", "eta_g", "retention")
HEAT_METRICS = ("eta_ho", "eta_g")
RUNTIME_METRIC = "decision_s"
REPORT_LABELS = {"handovers": "handovers per episode H", "handover_freq": "handover frequency f_HO",
                 "link_duration": "link-duration ratio LD", "link_duration_s": "mean link duration",
                 "reward": "total reward G", "eta_ho": "H_min / H", "eta_ld": "LD / LD_max", "eta_g": "G / G_UB",
                 "excess_handovers": "excess handovers H - H_min", "retention": "link retention κ",
                 "decision_s": "decision time", "train_s": "training time"}
SWEEP_LABELS = {"n_sat": "satellites N_s", "reward_weights": "reward weight vector"}


def decisions_to_jsonable(decisions: Decisions) -> dict:
    return decisions.to_jsonable()


def decisions_from_jsonable(data: dict) -> Decisions:
    return Decisions.from_jsonable(data)


def describe(instance: LeoHandoverInstance) -> dict:
    """A few size figures for tables."""
    return {"satellites": instance.n_sat, "candidates": instance.n_candidates, "test_episodes": instance.n_test_episodes,
            "steps": instance.n_steps, "dt_s": instance.dt_s}


def report_extras(res, figs, figures) -> list[str]:
    """Family figures and tables of `optkit report` (data description, training curves, comparison, gap to the
    offline optimum, Pareto front, ablation, weight sensitivity, geometry and MILP checks)."""
    from optkit.formulations.leo_handover.report import report_extras as extras

    return extras(res, figs, figures)
