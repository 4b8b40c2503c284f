"""Hooks of the `ntn-relay` family that its FamilyAPI declaration (`optkit.formulations.ntn_relay.FAMILY`) names."""
from __future__ import annotations

from optkit.formulations.ntn_relay.evaluator import METRICS, Decisions, evaluate, with_reference
from optkit.formulations.ntn_relay.generator import generate
from optkit.formulations.ntn_relay.instance import NtnRelayInstance

__all__ = ["NtnRelayInstance", "METRICS", "generate", "evaluate", "with_reference", "decisions_to_jsonable",
           "decisions_from_jsonable", "describe", "cell_record", "report_extras"]


def decisions_to_jsonable(decisions: Decisions) -> dict:
    return decisions.to_jsonable()


def decisions_from_jsonable(data: dict) -> Decisions:
    return Decisions.from_jsonable(data)


def describe(instance: NtnRelayInstance) -> dict:
    """A few size figures for tables."""
    from optkit.formulations.ntn_relay.model import world

    w = world(instance)
    return {"template": instance.path_template, "relays": instance.K, "relay_kind": instance.relay_kind,
            "slots": w.N, "sats_per_lane": instance.sats_per_lane, "candidates": int(w.cand.shape[2]),
            "link_mode": instance.link_mode}


def cell_record(instance: NtnRelayInstance, solution, evaluation) -> dict:
    """The time series and link selection of a bench cell, for the family figures."""
    from optkit.formulations.ntn_relay.report import cell_record as record

    return record(instance, solution, evaluation)


def report_extras(res, figs, figures) -> list[str]:
    """Family figures and tables of `optkit report` (link curves with the crossover, throughput time series)."""
    from optkit.formulations.ntn_relay.report import report_extras as extras

    return extras(res, figs, figures)
