"""Classical baselines of the `uav-ugv` family (§7.5–§7.8): `static-kmeans`, `ugv-static`, `greedy-myopic`,
`hover-home`, `random`. Each returns a Plan; α and x are left to the evaluator's rules E27–E28."""
from __future__ import annotations

import time

import numpy as np

from optkit.formulations.uav_ugv import association as assoc
from optkit.formulations.uav_ugv import channel, routing, safety
from optkit.formulations.uav_ugv.env import UavUgvEnv
from optkit.formulations.uav_ugv.evaluator import Plan
from optkit.seeds import method_stream
from optkit.solution import Solution, Status


def _solution(inst, method: str, plan: Plan, start: float, **info) -> Solution:
    return Solution(inst.family, method, Status.FEASIBLE, plan, runtime_s=time.perf_counter() - start, info=info)


def solve_static_kmeans(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """(§7.5) k-means hover targets at z_max, straight-line flights, UGVs by the DP of §7.4 step 2.3."""
    start = time.perf_counter()
    q = routing.kmeans_plan(inst, seed)
    return _solution(inst, "static-kmeans", Plan(q=q, ugv_wp=routing.dp_routes(inst, q)), start)


def solve_ugv_static(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """(§7.8) the `static-kmeans` UAV plan with every UGV parked at home."""
    start = time.perf_counter()
    q = routing.kmeans_plan(inst, seed)
    _, w = routing.hover_home(inst)
    return _solution(inst, "ugv-static", Plan(q=q, ugv_wp=w), start)


def solve_hover_home(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """(§7.7) all-zero actions: every vehicle stays at home."""
    start = time.perf_counter()
    q, w = routing.hover_home(inst)
    return _solution(inst, "hover-home", Plan(q=q, ugv_wp=w), start)


def solve_random(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """(§7.7) actions uniform in [−1, 1]^(3U+2M) from method_stream(instance seed, "random", seed), through the
    environment (safety layer, E27–E28)."""
    start = time.perf_counter()
    rng = method_stream(inst.seed, "random", seed)
    env = UavUgvEnv(inst)
    for _ in range(inst.n_slots):
        env.step(rng.uniform(-1.0, 1.0, size=env.action_dim))
    plan = env.plan()
    return _solution(inst, "random", Plan(q=plan.q, ugv_wp=plan.ugv_wp), start)


def candidate_moves(inst) -> np.ndarray:
    """(§7.6) the 53 candidate displacements: zero and V_u^max Δ s d for s ∈ {0.5, 1}, d the 26 unit directions."""
    dirs = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) != (0, 0, 0)],
                    dtype=float)
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    step = inst.horizontal_step
    return np.concatenate([np.zeros((1, 3)), 0.5 * step * dirs, step * dirs])


def _slot_objective(inst, q: np.ndarray, ugv_xy: np.ndarray) -> float:
    """R_sum − w ΣΞ − w_c V5 of one slot with E27 and E28 (Mbit/s)."""
    S = channel.access_power(inst, q, np.asarray(inst.users))
    SE = channel.spectral_efficiency(inst, S)
    snr = channel.backhaul_snr(inst, q, ugv_xy)
    x = assoc.hungarian_x(inst, snr)
    eligible = ~assoc.outages(inst, snr, x)
    serve = assoc.greedy_ls(inst, S, SE, eligible)
    value = assoc.slot_value(inst, SE, serve)
    U = q.shape[0]
    if U > 1:
        d = np.linalg.norm(q[:, None] - q[None], axis=-1)
        value -= inst.collision_weight * int((d[np.triu_indices(U, 1)] < inst.d_safe).sum())
    return value


def solve_greedy_myopic(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """(§7.6) per slot, each UAV in turn takes the best of 53 candidate moves (through E25) for the next-slot
    objective; each UGV paired by E27 moves to the reachable waypoint with the best SNR to its UAV (E26 rule)."""
    start = time.perf_counter()
    N, U, M = inst.n_slots, inst.n_uavs, inst.n_ugvs
    cands = candidate_moves(inst)
    pts = np.asarray(inst.waypoints)
    q = np.asarray(inst.uav_home, dtype=float).copy()
    w = np.asarray(inst.ugv_home, dtype=np.int64).copy()
    qs, ws = [q.copy()], [w.copy()]
    hops = inst.home_hops
    for n in range(N):
        new = q.copy()
        for u in range(U):
            best, best_v = None, -np.inf
            for delta in cands:
                moves = np.zeros_like(q)
                moves[u] = delta
                trial = new.copy()
                trial[u] = safety.uav_step(inst, q, moves, n)[u]
                v = _slot_objective(inst, trial, pts[w])
                if v > best_v + 1e-12:
                    best, best_v = trial[u], v
            new[u] = best
        snr = channel.backhaul_snr(inst, new, pts[w])
        x = assoc.hungarian_x(inst, snr)
        nxt = w.copy()
        for m in range(M):
            partners = np.nonzero(x[m])[0]
            if n + 1 >= N:
                nxt[m] = inst.ugv_home[m]
                continue
            if partners.size == 0:
                continue
            ids = inst.reach(int(w[m]))
            ids = ids[hops[m, ids] <= N - n - 1]
            s = channel.backhaul_snr(inst, new[partners[0]][None], pts[ids])[:, 0]
            nxt[m] = ids[int(np.argmax(s))]
        q, w = new, nxt
        qs.append(q.copy())
        ws.append(w.copy())
    plan = Plan(q=np.stack(qs, axis=1), ugv_wp=np.stack(ws, axis=1))
    return _solution(inst, "greedy-myopic", plan, start)
