"""Classical baselines of `ntn-relay` (§7.8, §7.10): sat-ground-noncoop, greedy-onestep, straight-line,
hungarian-assoc. Each returns the decision record of the family's evaluator; the evaluator scores it."""
from __future__ import annotations

import itertools
import time

import numpy as np

from optkit.formulations.ntn_relay import model as M
from optkit.formulations.ntn_relay.evaluator import decisions_of
from optkit.formulations.ntn_relay.reference import associate
from optkit.solution import Solution, Status

FAMILY = "ntn-relay"


def _solution(method, dec, start, status=Status.FEASIBLE, **info) -> Solution:
    return Solution(FAMILY, method, status, dec, runtime_s=time.perf_counter() - start, info=info)


def _no_relay(method, w, start, what="a relay") -> Solution:
    empty = -np.ones((w.N, w.K))
    return _solution(method, decisions_of(w, empty, empty), start, Status.ERROR,
                     message=f"{method} needs {what} (template {w.inst.path_template}, relay_kind {w.inst.relay_kind})")


# --------------------------------------------------------------------------------------------- §7.8
def solve_sat_ground_noncoop(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """Each relay, fixed at (relay_init_xy_km, 0), picks the SAT pair that maximizes its own path rate on the full
    bandwidth B, ignoring the others (ties: lowest (c1, c2)); the evaluator applies the overlap split."""
    start = time.perf_counter()
    w = M.world(inst)
    if not inst.has_relay:
        return _no_relay("sat-ground-noncoop", w, start)
    q = np.broadcast_to(w.q0, (w.N, w.K, 2))
    pts = np.concatenate([q, np.zeros((w.N, w.K, 1))], axis=-1)
    alpha, beta = M.hop_tables(w, np.arange(w.N), pts)                 # (N, K, C, K)
    own = np.minimum(alpha[..., 0][:, :, :, None], beta[..., 0][:, :, None, :])   # full B: m = 1
    C2 = own.shape[3]
    best = own.reshape(w.N, w.K, -1).argmax(axis=2)
    a1 = np.take_along_axis(w.cand[0], best // C2, axis=1)
    a2 = np.take_along_axis(w.cand[1], best % C2, axis=1) if inst.path_template == "S-L1-R-L2-D" else \
        -np.ones((w.N, w.K), dtype=np.int64)
    return _solution("sat-ground-noncoop", decisions_of(w, a1, a2), start)


# --------------------------------------------------------------------------------------------- greedy (E27)
def _weights(inst):
    w_r = 0.0 if inst.reward_mode == "energy" else inst.w_R
    w_e = 0.0 if inst.reward_mode == "rate" else inst.w_E
    return w_r, w_e, inst.w_D


def solve_greedy_onestep(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """Per slot: exact association at q[n]; joint discrete accelerations (L^{2K}) scored by E27 — the next slot's
    best-association rate, this slot's aerodynamic energy plus one slot of cruise at the new velocity, the distance
    penalty at q[n+1] (D35); ties: lowest joint index. K ≥ 4: two passes of agent-wise coordinate ascent from zero
    acceleration."""
    start = time.perf_counter()
    w = M.world(inst)
    if not inst.has_uav:
        return _no_relay("greedy-onestep", w, start, "UAV relays")
    N, K, dt = w.N, w.K, inst.dt_s
    A = w.accels
    w_r, w_e, w_d = _weights(inst)
    mu_r, mu_e = w.mu_r(), w.mu_e()
    joint = len(A) ** K <= 729
    combos = np.array(list(itertools.product(range(len(A)), repeat=K))) if joint else None
    q, v = w.q0.copy(), w.v0.copy()
    accel = np.zeros((N, K, 2))

    def score(cands):                                                  # cands (P, K) action indices
        a = A[cands]
        r = w.step(np.broadcast_to(q, a.shape), np.broadcast_to(v, a.shape), a)
        e_now = dt * w.power(np.broadcast_to(v, a.shape), r.a_eff).sum(axis=1)
        e_next = dt * w.power(r.v, np.zeros_like(r.v)).sum(axis=1)
        value = -w_e * (e_now + e_next - 2 * mu_e) / mu_e
        if n + 1 < N and w_r != 0:
            best = _best_rates(w, n + 1, r.q)
            value = value + w_r * (best - mu_r) / mu_r
        if K >= 2 and w_d != 0:
            value = value - w_d * np.minimum(1.0, np.maximum(0.0, (M.inter_relay_distance(w, r.q) - w.d_max)
                                                             / w.d_max))
        return value

    for n in range(N):
        if joint:
            pick = combos[int(np.argmax(score(combos)))]
        else:
            pick = np.full(K, int(np.argmin(np.linalg.norm(A, axis=1))))
            for _ in range(2):
                for k in range(K):
                    trial = np.repeat(pick[None], len(A), axis=0)
                    trial[:, k] = np.arange(len(A))
                    pick = trial[int(np.argmax(score(trial)))]
        accel[n] = A[pick]
        r = w.step(q, v, accel[n])
        q, v = r.q, r.v
    a1, a2, _ = associate(w, accel)
    return _solution("greedy-onestep", decisions_of(w, a1, a2, accel), start)


def _best_rates(w: M.World, n: int, q) -> np.ndarray:
    """Best-association sum rate at slot n for P relay placements q (P, K, 2), bit/s."""
    P = q.shape[0]
    alpha, beta = M.hop_tables(w, np.full(P, n), w.relay_points(q))
    return M.best_joint(alpha, beta)[0]


# --------------------------------------------------------------------------------------------- straight-line
def mean_static_rate(w: M.World, q) -> np.ndarray:
    """Time-averaged best-association sum rate of relays parked at q (P, K, 2) km (altitude of the instance's
    relays), bit/s (P,)."""
    P, K = q.shape[0], q.shape[1]
    total = np.zeros(P)
    pts = w.relay_points(q)
    chunk = max(1, 200000 // max(1, P))
    for lo in range(0, w.N, chunk):
        slots = np.arange(lo, min(w.N, lo + chunk))
        n_idx = np.repeat(slots, P)
        alpha, beta = M.hop_tables(w, n_idx, np.tile(pts, (len(slots), 1, 1)))
        total += M.best_joint(alpha, beta)[0].reshape(len(slots), P).sum(axis=0)
    return total / w.N


def straight_line_targets(w: M.World, grid_km: float = 10.0) -> np.ndarray:
    """Targets q*_k (K, 2) of §7.10 / D47: path k's target maximizes the time-averaged joint sum rate of paths 0..k
    (exact association, overlap included) over a grid_km lattice inside the reachable disk ‖q − q_k[0]‖ ≤ V* N δt,
    keeping D_max to the targets already placed; ties: lowest grid index (row-major from the lowest x, then y)."""
    inst = w.inst
    reach = 1e-3 * w.v_star * w.N * inst.dt_s
    placed = np.zeros((0, 2))
    n = int(np.floor(reach / grid_km))
    offs = np.arange(-n, n + 1) * grid_km
    gx, gy = np.meshgrid(offs, offs, indexing="ij")
    base = np.column_stack([gx.ravel(), gy.ravel()])
    base = base[np.hypot(base[:, 0], base[:, 1]) <= reach + 1e-9]
    (x_lo, x_hi), (y_lo, y_hi) = inst.area_xy_km
    for k in range(w.K):
        grid = w.q0[k] + base
        keep = (grid[:, 0] >= x_lo) & (grid[:, 0] <= x_hi) & (grid[:, 1] >= y_lo) & (grid[:, 1] <= y_hi)
        if len(placed):
            keep &= np.all(np.linalg.norm(grid[:, None] - placed[None], axis=-1) <= w.d_max, axis=1)
        grid = grid[keep]
        if len(grid) == 0:
            placed = np.vstack([placed, w.q0[k]])
            continue
        q = np.concatenate([np.broadcast_to(placed, (len(grid),) + placed.shape), grid[:, None]], axis=1)
        values = mean_static_rate(_first_paths(w, k + 1), q)
        placed = np.vstack([placed, grid[int(np.argmax(values))]])
    return placed


def _first_paths(w: M.World, k: int) -> M.World:
    """The world of the same instance restricted to its first k paths (ground tables with k overlap levels)."""
    import dataclasses

    if k == w.K:
        return w
    return M.world(dataclasses.replace(w.inst, K=k, relay_init_xy_km=w.inst.relay_init_xy_km[:k],
                                       uav_init_vel_mps=w.inst.uav_init_vel_mps[:k]))


def solve_straight_line(inst, *, seed: int = 0, time_limit: float | None = None, grid_km: float = 10.0) -> Solution:
    """Fly at V* to the best static point (straight_line_targets), turning with the heading controller
    a = Π(k_p (V* ê − v)), k_p = 0.1 1/s, then circle within 2 km; exact association per slot (§7.10)."""
    start = time.perf_counter()
    w = M.world(inst)
    if not inst.has_uav:
        return _no_relay("straight-line", w, start, "UAV relays")
    targets = straight_line_targets(w, grid_km)
    accel = M.track_targets(w, np.broadcast_to(targets, (w.N, w.K, 2)))
    a1, a2, _ = associate(w, accel)
    return _solution("straight-line", decisions_of(w, a1, a2, accel), start, targets_km=targets.tolist())


# --------------------------------------------------------------------------------------------- hungarian-assoc
def solve_hungarian_assoc(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """static-loiter motion; per slot and lane one assignment problem (scipy's Hungarian linear_sum_assignment):
    lane 1 weights min(C_S1, C_1U), lane 2 min(C_U2, C_2D) on the full bandwidth; with K > I' the candidate
    columns are replicated ⌈K/I'⌉ times with the split-bandwidth weights (B/⌈K/I'⌉)."""
    from scipy.optimize import linear_sum_assignment

    start = time.perf_counter()
    w = M.world(inst)
    if not inst.has_relay:
        return _no_relay("hungarian-assoc", w, start)
    accel = M.loiter_accels(w)
    traj = M.simulate(w, accel)
    alpha, beta = M.hop_tables(w, np.arange(w.N), w.relay_points(traj.q[:-1]))
    K = w.K
    a1 = np.full((w.N, K), -1, dtype=np.int64)
    a2 = np.full((w.N, K), -1, dtype=np.int64)
    lanes = [(alpha, a1, 0)] + ([(beta, a2, 1)] if inst.path_template == "S-L1-R-L2-D" else [])
    for table, out, lane in lanes:
        C = table.shape[2]
        reps = -(-K // C)
        m = reps - 1 if reps > 1 else 0
        for n in range(w.N):
            weights = np.tile(table[n, :, :, m], (1, reps))            # (K, C·reps)
            rows, cols = linear_sum_assignment(weights, maximize=True)
            out[n, rows] = w.cand[lane, n][cols % C]
    return _solution("hungarian-assoc", decisions_of(w, a1, a2, accel), start)
