"""Hooks of the `allocate` family that its FamilyAPI declaration (`optkit.formulations.allocate.FAMILY`) names."""
from __future__ import annotations

from optkit.formulations.allocate.evaluator import METRICS, evaluate, with_reference
from optkit.formulations.allocate.generator import generate
from optkit.formulations.allocate.instance import AllocateInstance
from optkit.formulations.allocate.record import Decisions

__all__ = ["AllocateInstance", "METRICS", "generate", "evaluate", "with_reference", "decisions_to_jsonable",
           "decisions_from_jsonable", "describe", "report_extras"]


def decisions_to_jsonable(decisions: Decisions) -> dict:
    return decisions.to_jsonable()


def decisions_from_jsonable(data: dict) -> Decisions:
    return Decisions.from_jsonable(data)


def describe(instance: AllocateInstance) -> dict:
    """A few size figures for tables."""
    return {"areas": instance.A, "nodes": instance.N, "uavs": instance.n_uav, "requests": instance.R,
            "channels": instance.C, "frames": instance.T}


def report_extras(res, figs, figures) -> list[str]:
    """Family tables of `optkit report`: accepted requests as counts beside the percentages and ratios
    (formulations/allocate/report.py)."""
    from optkit.formulations.allocate.report import report_extras as extras

    return extras(res, figs, figures)
