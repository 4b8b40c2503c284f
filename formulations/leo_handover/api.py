"""Hooks of the `leo-handover` family that its FamilyAPI declaration (`optkit.formulations.leo_handover.FAMILY`)
names."""
from __future__ import annotations

from optkit.formulations.leo_handover.evaluator import METRICS, Decisions, evaluate, with_reference
from optkit.formulations.leo_handover.generator import generate
from optkit.formulations.leo_handover.instance import LeoHandoverInstance

__all__ = ["LeoHandoverInstance", "METRICS", "generate", "evaluate", "with_reference", "decisions_to_jsonable",
           "decisions_from_jsonable", "describe", "report_extras"]


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
