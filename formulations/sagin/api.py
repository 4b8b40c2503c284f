"""Hooks of the `sagin` family that its FamilyAPI declaration (`optkit.formulations.sagin.FAMILY`) names."""
from __future__ import annotations

import numpy as np

from optkit.formulations.sagin.evaluator import METRICS, Decisions, evaluate, with_reference
from optkit.formulations.sagin.generator import generate
from optkit.formulations.sagin.instance import SaginInstance

__all__ = ["SaginInstance", "METRICS", "generate", "evaluate", "with_reference", "decisions_to_jsonable",
           "decisions_from_jsonable", "describe", "cell_record", "report_extras"]

RECORD_DECIMALS = 3            # positions in cell records are rounded to 1 mm


def decisions_to_jsonable(decisions: Decisions) -> dict:
    return decisions.to_jsonable()


def decisions_from_jsonable(data: dict) -> Decisions:
    return Decisions.from_jsonable(data)


def describe(instance: SaginInstance) -> dict:
    """A few size figures for tables."""
    return {"uavs": int(instance.uav_n_uavs), "base_stations": instance.n_bs,
            "buildings": int(np.shape(instance.building_heights)[0]), "fading_draws": int(instance.channel_n_draws),
            "speed_mps": float(instance.uav_speed), "max_steps": int(instance.uav_max_steps)}


def cell_record(instance: SaginInstance, solution, evaluation) -> dict:
    """What `optkit report` needs beyond a result row (kept per bench cell): the rollouts (positions rounded to
    1 mm, serving BSs) for the trajectory figures, the per-UAV metrics for the per-UAV reference comparison
    (§6.5, §9 `reference`), the scene (destination, airspace, BS sites) and the method's own per-UAV values
    (the lattice values J*_L and the (A, H, t_f) of the references' paths, §9 milp_check)."""
    dec = solution.decisions if isinstance(solution.decisions, Decisions) else \
        Decisions.from_jsonable(solution.decisions)
    return {
        "positions": [np.round(np.asarray(p, dtype=float), RECORD_DECIMALS).tolist() for p in dec.positions],
        "serving": [np.asarray(s, dtype=np.int64).tolist() for s in dec.serving],
        "uavs": evaluation.details.get("uavs", []),
        "destination": np.asarray(instance.uav_destination, dtype=float).tolist(),
        "airspace": instance.airspace_box.tolist(),
        "gn_sites": np.asarray(instance.gn_sites_xy, dtype=float).tolist(),
        "an_sites": np.asarray(instance.an_sites_xy, dtype=float).tolist(),
        "lattice_values": (solution.info or {}).get("lattice_values"),
        "lattice_paths": lattice_paths(solution.info or {}),
        "gain_mode": (solution.info or {}).get("gain_mode"),
    }


def lattice_paths(info: dict) -> list | None:
    """(A Mbit, H, t_f tick) per UAV of a lattice reference (lattice-dp's lists or p2l-milp's per-UAV dicts)."""
    if "A_mbit" in info:
        return [{"A_mbit": a, "H": h, "t_f": t} for a, h, t in zip(info["A_mbit"], info["H"], info["t_f"])]
    if info.get("uavs") and isinstance(info["uavs"], list) and "A_mbit" in info["uavs"][0]:
        return [{k: u[k] for k in ("A_mbit", "H", "t_f")} for u in info["uavs"]]
    return None


def report_extras(res, figs, figures) -> list[str]:
    """Family figures and tables of `optkit report` (trajectories, the four metrics, training curves with the
    multiplier traces, per-UAV reference comparison, MILP check; formulations/sagin/report.py)."""
    from optkit.formulations.sagin.report import report_extras as extras

    return extras(res, figs, figures)
