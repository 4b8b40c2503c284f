"""Family API of `allocate` used by the core (CLI, runner, contract suites)."""
from __future__ import annotations

from optkit.formulations.allocate.evaluator import METRICS, evaluate, with_reference
from optkit.formulations.allocate.generator import generate
from optkit.formulations.allocate.instance import AllocateInstance
from optkit.formulations.allocate.record import Decisions

__all__ = ["INSTANCE_CLASS", "PRIMARY_METRIC", "METRICS", "generate", "evaluate", "with_reference",
           "decisions_to_jsonable", "decisions_from_jsonable", "describe", "REPORT_METRICS", "REPORT_LABELS",
           "SWEEP_PANELS", "SWEEP_LABELS", "RADAR_AXES", "HEAT_METRICS", "RUNTIME_METRIC"]

INSTANCE_CLASS = AllocateInstance
PRIMARY_METRIC = "objective"

# What `optkit report` shows for this family (spec §6.4, §9); units and directions come from METRICS.
REPORT_METRICS = ("acc_pct", "energy_per_request", "latency_ms", "objective", "efficiency", "frac_opt", "frac_opt_of",
                  "runtime_s", "train_s")
SWEEP_PANELS = ("acc_pct", "energy_per_request", "latency_ms")       # three panels against the swept quantity
RADAR_AXES = ("acc_pct", "energy_per_request", "latency_ms")         # "lower" metrics are drawn inverted
HEAT_METRICS = ("efficiency", "frac_opt")                            # methods x sweep points
RUNTIME_METRIC = "runtime_s"
REPORT_LABELS = {"acc_pct": "acceptance", "energy_per_request": "energy per request", "latency_ms": "E2E latency",
                 "efficiency": "efficiency (accepted / energy)", "frac_opt": "fraction of optimum (efficiency)",
                 "frac_opt_of": "fraction of optimum (objective)", "runtime_s": "runtime", "train_s": "training time"}
SWEEP_LABELS = {"R": "requests per episode R", "N": "network nodes N", "C": "channels C"}


def decisions_to_jsonable(decisions: Decisions) -> dict:
    return decisions.to_jsonable()


def decisions_from_jsonable(data: dict) -> Decisions:
    return Decisions.from_jsonable(data)


def describe(instance: AllocateInstance) -> dict:
    """A few size figures for tables."""
    return {"areas": instance.A, "nodes": instance.N, "uavs": instance.n_uav, "requests": instance.R,
            "channels": instance.C, "frames": instance.T}
