"""Exact and offline references of `ntn-relay` (§7.7, §7.9, §7.10 static-loiter, §8): every method returns the
decision record of `evaluator.Decisions`; the evaluator computes the metrics.

`static-loiter` is the family's reference for `optkit solve` (D42): its association is exact for the fixed
loiter trajectory, which is all it proves, so its status is `feasible` (P1 itself is not solved).
"""
from __future__ import annotations

import time

import numpy as np

from optkit.formulations.ntn_relay import model as M
from optkit.formulations.ntn_relay.evaluator import decisions_of
from optkit.solution import Solution, Status

FAMILY = "ntn-relay"


def _solution(method: str, status: Status, dec, start: float, objective=None, bound=None, **info) -> Solution:
    gap = None
    if objective is not None and bound is not None:
        gap = abs(bound - objective) / max(1e-10, abs(objective))
    return Solution(FAMILY, method, status, dec, objective=objective, bound=bound, gap=gap,
                    runtime_s=time.perf_counter() - start, info=info)


def associate(w: M.World, accel, method: str = "enumeration"):
    """Exact per-slot association for the trajectory that `accel` produces (§8 item 1): (assoc1, assoc2, R)."""
    traj = M.simulate(w, accel)
    pts = w.relay_points(traj.q[:-1])
    if method == "milp":
        return milp_association(w, pts)
    return M.exact_association(w, pts)


def milp_association(w: M.World, pts):
    """The per-slot MILP of §5.4 on every slot (relay templates; the other templates have ≤ I'² choices)."""
    from optkit.formulations.ntn_relay.association import milp_slot

    inst = w.inst
    if not inst.has_relay:
        return M.exact_association(w, pts)
    N, K = w.N, w.K
    a1 = np.full((N, K), -1, dtype=np.int64)
    a2 = np.full((N, K), -1, dtype=np.int64)
    R = np.empty(N)
    alpha, beta = M.hop_tables(w, np.arange(N), np.asarray(pts, dtype=float))
    for n in range(N):
        if inst.path_template == "S-L1-R-L2-D":
            c1, c2, R[n], _ = milp_slot(alpha[n], beta[n])
            a2[n] = w.cand[1, n][c2]
        else:
            c1, _, R[n], _ = milp_slot(np.minimum(alpha[n], beta[n][:, :1, :]))
        a1[n] = w.cand[0, n][c1]
    return a1, a2, R


def _ee(w: M.World, accel, R) -> float:
    traj = M.simulate(w, accel)
    E, _ = M.slot_energy(w, traj)
    return w.inst.dt_s * float(R.sum()) / float(E.sum()) / 1000.0


def solve_static_loiter(inst, *, seed: int = 0, time_limit: float | None = None, loiter_radius_km: float = 2.0,
                        association: str = "enumeration") -> Solution:
    """UAVs circle counter-clockwise (radius ≈ loiter_radius_km) at their initial speed; exact association per
    slot (§7.10). objective = EE (kbit/J) with UAVs, sum throughput (Mbit/s) otherwise. time_limit is accepted and
    unused (seconds of work)."""
    start = time.perf_counter()
    w = M.world(inst)
    accel = M.loiter_accels(w, loiter_radius_km)
    a1, a2, R = associate(w, accel, association)
    obj = _ee(w, accel, R) if inst.has_uav else float(R.mean() / 1e6)
    return _solution("static-loiter", Status.FEASIBLE, decisions_of(w, a1, a2, accel), start, objective=obj,
                     association_optimal_for_trajectory=True)


def solve_sat_ground_coop(inst, *, seed: int = 0, time_limit: float | None = None,
                          association: str = "enumeration") -> Solution:
    """P2 (§5.4, §7.7): relays fixed at (relay_init_xy_km, 0), exact per-slot cooperative association.
    On a ground-relay instance the result is the proven P2 optimum (objective = bound = sum throughput, Mbit/s);
    on a UAV instance the association is the P2 one and the UAVs fly straight (zero acceleration), reported as
    `feasible` without objective."""
    start = time.perf_counter()
    w = M.world(inst)
    if not inst.has_relay:
        return _solution("sat-ground-coop", Status.ERROR, decisions_of(w, -np.ones((w.N, w.K)), -np.ones((w.N, w.K))),
                         start, message=f"template {inst.path_template} has no relay")
    q = np.broadcast_to(w.q0, (w.N, w.K, 2))
    pts = np.concatenate([q, np.zeros((w.N, w.K, 1))], axis=-1)
    a1, a2, R = milp_association(w, pts) if association == "milp" else M.exact_association(w, pts)
    dec = decisions_of(w, a1, a2)
    if inst.relay_kind == "ground":
        value = float(R.mean() / 1e6)
        return _solution("sat-ground-coop", Status.OPTIMAL, dec, start, objective=value, bound=value)
    return _solution("sat-ground-coop", Status.FEASIBLE, dec, start, note="P2 association on a UAV instance")


def solve_sat_only(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """SAT-Only (§7.9): best SAT pair per slot on template S-L1-L2-D (best lane-1 SAT on S-L1-D); proven
    optimal (objective = bound = sum throughput, Mbit/s). Other templates: status error."""
    start = time.perf_counter()
    w = M.world(inst)
    if inst.path_template not in ("S-L1-L2-D", "S-L1-D"):
        return _solution("sat-only", Status.ERROR, decisions_of(w, -np.ones((w.N, w.K)), -np.ones((w.N, w.K))),
                         start, message=f"sat-only needs template S-L1-L2-D or S-L1-D, not {inst.path_template}")
    a1, a2, R = M.exact_association(w)
    value = float(R.mean() / 1e6)
    return _solution("sat-only", Status.OPTIMAL, decisions_of(w, a1, a2), start, objective=value, bound=value)


def solve_direct(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """Direct Src–Dst link (§7.9), template S-D: no decision; objective = bound = its throughput (Mbit/s)."""
    start = time.perf_counter()
    w = M.world(inst)
    empty = -np.ones((w.N, w.K))
    if inst.path_template != "S-D":
        return _solution("direct", Status.ERROR, decisions_of(w, empty, empty), start,
                         message=f"direct needs template S-D, not {inst.path_template}")
    _, _, R = M.exact_association(w)
    value = float(R.mean() / 1e6)
    return _solution("direct", Status.OPTIMAL, decisions_of(w, empty, empty), start, objective=value, bound=value)


def solve_reachable_ub(inst, *, seed: int = 0, time_limit: float | None = None, grid_km: float = 5.0) -> Solution:
    """Reachable-set upper bound (§8 item 2) as the bound of a solution whose decisions are `static-loiter`'s:
    objective = that solution's EE, bound = EE_UB (kbit/J); `feasible`. info holds the per-slot bound R^UB[n]
    (Mbit/s) and its time average. Needs UAV relays on template S-L1-R-L2-D (else status error)."""
    from optkit.formulations.ntn_relay.bounds import reachable_upper_bound

    start = time.perf_counter()
    loiter = solve_static_loiter(inst)
    w = M.world(inst)
    if not inst.has_uav_between_lanes:
        return _solution("reachable-ub", Status.ERROR, loiter.decisions, start,
                         message="reachable-ub needs UAV relays on template S-L1-R-L2-D")
    ub = reachable_upper_bound(w, grid_km)
    return _solution("reachable-ub", Status.FEASIBLE, loiter.decisions, start, objective=loiter.objective,
                     bound=ub.ee_kbit_per_j, ub_rate_mbps=(ub.rate / 1e6).tolist(),
                     ub_sum_tput_mbps=float(ub.rate.mean() / 1e6), energy_lb_j=ub.energy_lb_j, grid_km=grid_km)


# --------------------------------------------------------------------------------------------- lattice DP (§8.3)
MOVES = np.array([[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]])           # stay, +x, −x, +y, −y (tie order)


def lattice_dp(w: M.World, macro: int = 10):
    """The lattice DP of §8 item 3 for K = 1: returns (cell path (S+1, 2) km, DP value in bit, stay-path value)."""
    inst = w.inst
    N = w.N
    h = 1e-3 * w.v_star * macro * inst.dt_s
    S = -(-N // macro)
    r = np.arange(-S, S + 1)
    gx, gy = np.meshgrid(r, r, indexing="ij")
    keep = np.abs(gx) + np.abs(gy) <= S
    offs = np.column_stack([gx[keep], gy[keep]])
    cells = w.q0[0] + h * offs
    (x_lo, x_hi), (y_lo, y_hi) = inst.area_xy_km
    inside = (cells[:, 0] >= x_lo) & (cells[:, 0] <= x_hi) & (cells[:, 1] >= y_lo) & (cells[:, 1] <= y_hi)
    offs, cells = offs[inside], cells[inside]
    C = len(cells)
    index = {tuple(o): c for c, o in enumerate(offs.tolist())}
    nbr = np.array([[index.get((o[0] + dx, o[1] + dy), -1) for dx, dy in MOVES] for o in offs.tolist()])
    pts = w.relay_points(cells[:, None, :])                              # (C, 1, 3)
    rho = np.zeros((S, C))
    for n in range(N):
        alpha, beta = M.hop_tables(w, np.full(C, n), pts)
        best = np.minimum(alpha[:, 0, :, 0][:, :, None], beta[:, 0, :, 0][:, None, :]).reshape(C, -1).max(axis=1)
        rho[n // macro] += inst.dt_s * best
    J = np.zeros(C)
    choice = np.zeros((S, C), dtype=np.int64)
    for t in range(S - 1, -1, -1):
        value = np.where(nbr >= 0, rho[t][np.maximum(nbr, 0)] + J[np.maximum(nbr, 0)], -np.inf)   # (C, 5)
        choice[t] = np.argmax(value, axis=1)                           # first max: stay, +x, −x, +y, −y
        J = value[np.arange(C), choice[t]]
    c0 = index[(0, 0)]
    path = [c0]
    for t in range(S):
        path.append(int(nbr[path[-1], choice[t, path[-1]]]))
    stay_value = float(rho[:, c0].sum())
    return cells[np.array(path)], float(J[c0]), stay_value


def solve_lattice_dp(inst, *, seed: int = 0, time_limit: float | None = None, macro_slots: int = 10) -> Solution:
    """`lattice-dp` (§8 item 3, K = 1): exact DP over constant-speed lattice paths (spacing V*·M·δt), then the
    cell-centre waypoints tracked by the straight-line heading controller (circling during stay stages) with exact
    association; `feasible` (the tracked path is scored, D31). info: the raw DP value (Mbit over the episode) and
    that of staying in the start cell. Needs one UAV (else status error)."""
    start = time.perf_counter()
    w = M.world(inst)
    if not inst.has_uav_between_lanes or w.K != 1:
        loiter = solve_static_loiter(inst)
        return _solution("lattice-dp", Status.ERROR, loiter.decisions, start,
                         message="lattice-dp needs one UAV on template S-L1-R-L2-D")
    path, value, stay = lattice_dp(w, macro_slots)
    targets = np.full((w.N, 1, 2), np.nan)
    for n in range(w.N):
        t = n // macro_slots
        if not np.allclose(path[t + 1], path[t]):
            targets[n, 0] = path[t + 1]
    accel = M.track_targets(w, targets)
    a1, a2, R = associate(w, accel)
    return _solution("lattice-dp", Status.FEASIBLE, decisions_of(w, a1, a2, accel), start,
                     objective=_ee(w, accel, R), dp_value_mbit=value / 1e6, stay_value_mbit=stay / 1e6,
                     waypoints_km=path.tolist())
