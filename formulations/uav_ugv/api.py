"""Hooks of the `uav-ugv` family that its FamilyAPI declaration (`optkit.formulations.uav_ugv.FAMILY`) names."""
from __future__ import annotations

from optkit.formulations.uav_ugv.evaluator import METRICS, Plan, evaluate, with_reference
from optkit.formulations.uav_ugv.generator import generate
from optkit.formulations.uav_ugv.instance import UavUgvInstance

__all__ = ["UavUgvInstance", "METRICS", "generate", "evaluate", "with_reference", "decisions_to_jsonable",
           "decisions_from_jsonable", "describe"]


def decisions_to_jsonable(decisions: Plan) -> dict:
    return decisions.to_jsonable()


def decisions_from_jsonable(data: dict) -> Plan:
    return Plan.from_jsonable(data)


def describe(instance: UavUgvInstance) -> dict:
    """A few size figures for tables."""
    return {"uavs": instance.n_uavs, "ugvs": instance.n_ugvs, "users": instance.n_users,
            "slots": instance.n_slots, "road_nodes": int(instance.road_nodes.shape[0]),
            "road_segments": int(instance.road_edges.shape[0]), "waypoints": instance.n_waypoints}
