"""The exact P2-L references of `sagin` as registered methods (§7.6, §8): `lattice-dp` and `p2l-milp`.

Both solve the lattice problem P2-L (§5.4) for every test UAV (its start snapped to the nearest lattice node; a
non-snapped start is joined to its node by a straight segment, `lattice_dp.decisions`) and return the paths as
rollouts (§6.1 conversion), so the evaluator scores them like any other method. Their own objective is the mean
over UAVs of the lattice value J*_L; it bounds nothing outside the lattice (continuous-direction methods may exceed
it, §6.5), so `bound` is the same value, `Solution.model` says so, and result rows report no bound on the P2
objective of the decisions.
"""
from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np

from optkit.errors import InputError
from optkit.formulations.sagin import formulation as F
from optkit.formulations.sagin import lattice_dp, p2l_milp, schema
from optkit.limits import Deadline
from optkit.solution import Solution, Status, worst_status

FAMILY = "sagin"
#: What objective and bound of these methods measure: the lattice problem, not P2 (Solution.model).
MODEL = "P2-L lattice value J_L, mean over UAVs (§5.4): bounds lattice paths only"
GAIN_MODES = ("segment", "node")


def _gain_mode(inst, gain_mode: str | None) -> str:
    mode = str(inst.ref_gain_mode) if gain_mode is None else str(gain_mode)
    if mode not in GAIN_MODES:
        raise InputError(f"gain_mode: must be one of {', '.join(GAIN_MODES)}, got {mode!r}")
    return mode


def _solution(method: str, inst, paths, statuses, values, runtime: float, info: dict) -> Solution:
    """Decisions of the per-UAV paths; objective = mean J*_L when every UAV has a lattice value."""
    status = worst_status(statuses, Status.ERROR)
    values = np.asarray(values, dtype=float)
    objective = float(values.mean()) if values.size and np.all(np.isfinite(values)) else None
    proven = status == Status.OPTIMAL and objective is not None
    return Solution(family=FAMILY, method=method, status=status, decisions=lattice_dp.decisions(inst, paths),
                    objective=objective, bound=objective if proven else None, gap=0.0 if proven else None,
                    runtime_s=runtime, info={**info, "lattice_values": values.tolist(),
                                             "uav_status": [str(s) for s in statuses]}, model=MODEL)


def solve_lattice_dp(inst, *, seed: int = 0, time_limit: float | None = None, gain_mode: str | None = None,
                     h_max: int | None = None) -> Solution:
    """Exact P2-L optimum per test UAV by the dynamic programme of §8.1 (gain table shared by all starts).

    gain_mode: "segment" | "node" (default: the instance's `ref.gain_mode`); h_max: switch cap (default the
    instance's, ⌊K/κ0⌋ − 1, which makes the DP exact). Status optimal when every UAV has a QoS-feasible lattice path,
    infeasible when some UAV has none (its decisions are then the best arriving path, or no move at all).
    `seed` is recorded only. time_limit (s) bounds the DP: checked between ticks; once passed, the UAVs not yet
    solved stay at their start and the status is time_limit (info time_limit_reached says how many were solved)."""
    deadline = Deadline(time_limit)
    start = time.perf_counter()
    mode = _gain_mode(inst, gain_mode)
    schema.check_lattice_size(inst)                    # refuse a lattice that cannot fit, with the estimate
    lat = F.build_lattice(inst)
    gains = F.gain_table(inst, lat, mode)
    paths = lattice_dp.solve(inst, lattice=lat, gains=gains, h_max=h_max, deadline=deadline)
    statuses = [Status(p.status) if p.status in ("optimal", "time_limit") else Status.INFEASIBLE for p in paths]
    info = {"method_seed": seed, "knowledge": "oracle", "gain_mode": mode, "nodes": int(lat.n_nodes),
            "ticks": int(lat.K), "h_capped": any(p.h_capped for p in paths),
            "A_mbit": [p.A for p in paths], "H": [p.H for p in paths], "t_f": [p.t_f for p in paths]}
    unsolved = sum(p.status == "time_limit" for p in paths)
    if unsolved:
        info["time_limit_reached"] = f"{len(paths) - unsolved} of {len(paths)} UAVs solved within {time_limit:g} s"
    return _solution("lattice-dp", inst, paths, statuses, [p.value for p in paths], time.perf_counter() - start, info)


def solve_p2l_milp(inst, *, seed: int = 0, time_limit: float | None = 600.0, gain_mode: str | None = None,
                   solver: str = "highs") -> Solution:
    """P2-L per test UAV as the Pyomo MILP of §5.5, one model per reachable arrival tick T̂ (HiGHS, MIP gap 0), best
    feasible T̂ kept (§8.2). time_limit (s) bounds the whole run (every UAV and T̂ model); a T̂ stopped on it, or
    left unsolved, makes the UAV's status time_limit. Tractable on `ref-tiny`-size lattices only (the cross-check
    of lattice-dp)."""
    deadline = Deadline(600.0 if time_limit is None else time_limit)
    start = time.perf_counter()
    mode = _gain_mode(inst, gain_mode)
    schema.check_lattice_size(inst)                    # refuse a lattice that cannot fit, with the estimate
    lat = F.build_lattice(inst)
    gains = F.gain_table(inst, lat, mode)
    limit = 600.0 if time_limit is None else float(time_limit)
    paths, statuses, values, per_uav = [], [], [], []
    for q0 in np.asarray(inst.starts_test, dtype=float):
        node = lat.node_index(q0)
        res = p2l_milp.solve(inst, node, lattice=lat, gains=gains, time_limit=limit, solver=solver, deadline=deadline)
        if res.nodes is None:                          # no path found: the UAV stays at its start (not arrived)
            nodes, bs = np.array([node]), np.zeros(0, dtype=np.int64)
        else:
            nodes, bs = np.asarray(res.nodes), np.asarray(res.bs, dtype=np.int64)
        paths.append(SimpleNamespace(waypoints=lat.nodes[nodes], bs=bs))
        statuses.append(Status(res.status))
        values.append(res.value)
        per_uav.append({"A_mbit": res.A, "H": res.H, "t_f": res.t_f, "ticks_solved": len(res.per_tick),
                        "largest_model": max(res.sizes.values(), default=(0, 0, 0))})
    info = {"method_seed": seed, "knowledge": "oracle", "gain_mode": mode, "solver": solver,
            "time_limit": limit, "uavs": per_uav}
    return _solution("p2l-milp", inst, paths, statuses, values, time.perf_counter() - start, info)
