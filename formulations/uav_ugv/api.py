"""Hooks of the `uav-ugv` family that its FamilyAPI declaration (`optkit.formulations.uav_ugv.FAMILY`) names."""
from __future__ import annotations

from optkit.formulations.uav_ugv.evaluator import METRICS, Plan, evaluate, with_reference
from optkit.formulations.uav_ugv.generator import generate
from optkit.formulations.uav_ugv.instance import UavUgvInstance

__all__ = ["UavUgvInstance", "METRICS", "generate", "evaluate", "with_reference", "decisions_to_jsonable",
           "decisions_from_jsonable", "describe", "cell_record", "report_extras"]


def decisions_to_jsonable(decisions: Plan) -> dict:
    return decisions.to_jsonable()


def decisions_from_jsonable(data: dict) -> Plan:
    return Plan.from_jsonable(data)


def describe(instance: UavUgvInstance) -> dict:
    """A few size figures for tables."""
    return {"uavs": instance.n_uavs, "ugvs": instance.n_ugvs, "users": instance.n_users,
            "slots": instance.n_slots, "road_nodes": int(instance.road_nodes.shape[0]),
            "road_segments": int(instance.road_edges.shape[0]), "waypoints": instance.n_waypoints}


def cell_record(instance, solution, evaluation) -> dict:
    """What a bench cell keeps for the family's report figures (trajectories, per-slot association values)."""
    from optkit.formulations.uav_ugv.report import cell_record as record

    return record(instance, solution, evaluation)


def report_extras(res, figs, figures) -> list[str]:
    """Family figures and tables of `optkit report` (see formulations/uav_ugv/report.py)."""
    from optkit.formulations.uav_ugv.report import report_extras as extras

    return extras(res, figs, figures)
