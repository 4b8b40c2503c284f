"""`bcd-sca` (§7.4): block-coordinate descent over association (E27 + `hungarian-sizes`), backhaul recovery,
UAV trajectories (SCA, §5.4) and UGV routes (time-expanded DP), each block accepted only when the merit
J − (w_c/N) V5 does not fall (D33), so the merit is nondecreasing over the whole run."""
from __future__ import annotations

import time

import numpy as np

from optkit.formulations.uav_ugv import association as assoc
from optkit.formulations.uav_ugv import channel, routing, sca
from optkit.formulations.uav_ugv.evaluator import Plan, score, slot_channels
from optkit.solution import Solution, Status


def association_block(inst, q, w, alpha) -> tuple[np.ndarray, np.ndarray]:
    """(§7.4 step 2.1) per slot: x by E27, α by `hungarian-sizes` from the better of E28 and the incumbent α
    (when every incumbent user sits on a UAV that is still eligible). Returns (α (N, U, K), x (N, M, U))."""
    S, SE, snr = slot_channels(inst, q, w)
    N, U, K = S.shape
    A = np.zeros((N, U, K), dtype=bool)
    X = np.zeros((N, snr.shape[1], U), dtype=bool)
    for n in range(N):
        x = assoc.hungarian_x(inst, snr[n])
        eligible = ~assoc.outages(inst, snr[n], x)
        start = assoc.greedy_ls(inst, S[n], SE[n], eligible)
        if eligible.any() and K:
            inc = np.where(alpha[n].any(axis=0), np.argmax(alpha[n], axis=0), -1)
            if np.all(inc >= 0) and eligible[inc].all() and \
                    assoc.slot_value(inst, SE[n], inc) > assoc.slot_value(inst, SE[n], start):
                start = inc
            start, _ = assoc.hungarian_sizes(inst, SE[n], eligible, start)
        A[n], X[n] = assoc.serve_to_alpha(start, U), x
    return A, X


def backhaul_recovery(inst, q, w, x) -> np.ndarray | None:
    """Backhaul-recovery proposal (toolkit addition to §7.4): every UAV in outage in an inner slot n (1 ≤ n ≤ N−1)
    under x (N, M, U) moves horizontally toward the nearest UGV that x leaves free in that slot, just far enough
    that its SNR reaches γ_min + C1_MARGIN_DB, when the moved point keeps C3 with slots n−1 and n+1. The SCA cannot
    do this: an outage UAV has no partner under the fixed x and no users under the fixed α. Slots in order, each
    seeing the moves of the previous ones. Returns the new q (U, N+1, 3) m, or None when no UAV-slot moved."""
    N = inst.n_slots
    _, _, snr = slot_channels(inst, q, w)
    ugv_xy = np.asarray(inst.waypoints)[w[:, 1:].T]                    # (N, M, 2)
    step = inst.horizontal_step
    out = q.copy()
    moved = False
    for n in range(N - 1):                                              # slot n+1; slot N is the home
        free = ~x[n].any(axis=1)
        lost = assoc.outages(inst, snr[n], x[n])
        for u in np.nonzero(lost)[0]:
            if not free.any():
                break
            p = out[u, n + 1]
            reach = channel.backhaul_radius_m(inst, float(p[2]), inst.snr_min_backhaul_db + sca.C1_MARGIN_DB)
            ms = np.nonzero(free)[0]
            h = np.linalg.norm(ugv_xy[n, ms] - p[:2], axis=1)
            for i in np.argsort(h, kind="stable"):
                if reach <= 0.0:
                    break
                m = ms[i]
                new = p.copy()
                if h[i] > reach:
                    new[:2] = ugv_xy[n, m] + (p[:2] - ugv_xy[n, m]) * (reach * (1.0 - 1e-9) / h[i])
                if np.linalg.norm(new - out[u, n]) <= step and np.linalg.norm(out[u, n + 2] - new) <= step:
                    out[u, n + 1] = new
                    free[m] = False
                    moved = moved or h[i] > reach
                    break
    return out if moved else None


def routes_block(inst, q, w_old) -> tuple[np.ndarray, np.ndarray]:
    """(§7.4 step 2.3) DP routes for the trajectory and x by E27 on them."""
    w = routing.dp_routes(inst, q)
    _, _, snr = slot_channels(inst, q, w)
    X = np.stack([assoc.hungarian_x(inst, snr[n]) for n in range(inst.n_slots)]) if inst.n_slots else \
        np.zeros((0, inst.n_ugvs, inst.n_uavs), dtype=bool)
    return w, X


def solve_bcd_sca(inst, *, seed: int = 0, time_limit: float | None = 60.0, outer_iters: int = 5,
                  sca_solves: int = 15) -> Solution:
    """Run BCD from the `static-kmeans` plan (method seed `seed`). time_limit: wall clock per instance, checked
    between blocks and between SCA solves (60 s = the `reduced` budget's limit, D41). Status `time_limit` when the
    limit stopped it, else `feasible`."""
    start = time.perf_counter()
    deadline = None if time_limit is None else start + time_limit
    q = routing.kmeans_plan(inst, seed)
    w = routing.dp_routes(inst, q)
    init = score(inst, q, w)
    alpha, x = init.alpha, init.x
    merit = sca.merit_of(inst, q, w, alpha, x)
    history = [merit]
    blocks = {"association": 0, "recovery": 0, "sca": 0, "routes": 0}
    stopped = False
    iters = 0

    def out_of_time() -> bool:
        return deadline is not None and time.perf_counter() >= deadline

    for _ in range(outer_iters):
        iters += 1
        before = merit
        if out_of_time():
            stopped = True
            break
        a2, x2 = association_block(inst, q, w, alpha)
        m2 = sca.merit_of(inst, q, w, a2, x2)
        if m2 >= merit:
            alpha, x, merit = a2, x2, m2
            blocks["association"] += 1
        q2 = backhaul_recovery(inst, q, w, x)
        if q2 is not None:
            a2, x2 = association_block(inst, q2, w, alpha)
            m2 = sca.merit_of(inst, q2, w, a2, x2)
            if m2 >= merit:
                q, alpha, x, merit = q2, a2, x2, m2
                blocks["recovery"] += 1
        if out_of_time():
            stopped = True
            break
        res = sca.sca(inst, q, w, alpha, x, max_solves=sca_solves, deadline=deadline)
        if res["accepted"] and res["merit"] >= merit:
            q, merit = res["q"], res["merit"]
            blocks["sca"] += 1
        if out_of_time():
            stopped = True
            break
        w2, x2 = routes_block(inst, q, w)
        m2 = sca.merit_of(inst, q, w2, alpha, x2)
        if m2 >= merit:
            w, x, merit = w2, x2, m2
            blocks["routes"] += 1
        history.append(merit)
        if merit - before < 1e-3 * abs(before):
            break
    status = Status.TIME_LIMIT if stopped or out_of_time() else Status.FEASIBLE
    return Solution(inst.family, "bcd-sca", status, Plan(q=q, ugv_wp=w, alpha=alpha, x=x),
                    runtime_s=time.perf_counter() - start,
                    info={"merit_history": history, "outer_iterations": iters, "accepted_blocks": blocks})
