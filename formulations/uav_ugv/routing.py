"""UGV routes for a fixed UAV trajectory (§7.4 step 2.3): time-expanded DP per (UGV, UAV) pair with an SNR-margin
cost, Hungarian pairing of UGVs to UAVs, unmatched UGVs at home. Also the straight-line UAV plans shared by the
baselines and references (§7.5): k-means hover targets and `hover-home`."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from optkit.formulations.uav_ugv import channel
from optkit.seeds import method_stream

SHORTFALL_PRICE = 100.0
MARGIN_CAP_DB = 10.0


def waypoint_snr_db(inst, q: np.ndarray) -> np.ndarray:
    """SNR_dB of a UGV at every waypoint to every UAV in slots 1..N: (N, U, W)."""
    qs = np.transpose(q[:, 1:, :], (1, 0, 2))                             # (N, U, 3)
    snr = channel.backhaul_snr(inst, qs, np.asarray(inst.waypoints)[None])  # (N, W, U)
    return 10.0 * np.log10(np.maximum(np.swapaxes(snr, 1, 2), 1e-300))


def route_dp(inst, cost: np.ndarray, home: int) -> tuple[float, np.ndarray]:
    """Min-cost route over the time-expanded graph: V_0 = 0 at home, V_n(w) = c(w, n) + min_{Pred(w)} V_{n−1},
    ending at home at slot N. cost (N, W). Returns (V_N(home), waypoints (N+1,))."""
    N, W = cost.shape
    ptr, idx = np.asarray(inst.reach_ptr), np.asarray(inst.reach_idx)
    V = np.full(W, np.inf)
    V[home] = 0.0
    back = np.zeros((N, W), dtype=np.int64)
    for n in range(N):
        vals = V[idx]
        best = np.minimum.reduceat(vals, ptr[:-1])
        arg = _argmin_segments(vals, ptr)
        back[n] = idx[arg]
        V = cost[n] + best
    route = np.empty(N + 1, dtype=np.int64)
    route[N] = home
    for n in range(N - 1, -1, -1):
        route[n] = back[n, route[n + 1]]
    return float(V[home]), route


def _argmin_segments(vals: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Index (into vals) of the first minimum of every CSR segment."""
    seg = np.repeat(np.arange(ptr.size - 1), np.diff(ptr))
    order = np.lexsort((np.arange(vals.size), vals, seg))
    first = np.concatenate([[True], seg[order][1:] != seg[order][:-1]])
    return order[first]


def dp_routes(inst, q: np.ndarray) -> np.ndarray:
    """UGV waypoints (M, N+1) following the UAV trajectory q (U, N+1, 3) (§7.4 step 2.3)."""
    N, U, M = inst.n_slots, inst.n_uavs, inst.n_ugvs
    homes = np.asarray(inst.ugv_home, dtype=np.int64)
    routes = np.repeat(homes[:, None], N + 1, axis=1)
    if N == 0 or U == 0 or M == 0:
        return routes
    margin = waypoint_snr_db(inst, q) - inst.snr_min_backhaul_db         # (N, U, W)
    cost = SHORTFALL_PRICE * np.maximum(0.0, -margin) - np.minimum(np.maximum(margin, 0.0), MARGIN_CAP_DB)
    values = np.zeros((M, U))
    paths = {}
    cache = {}
    for m in range(M):
        for u in range(U):
            key = (int(homes[m]), u)
            if key not in cache:
                cache[key] = route_dp(inst, cost[:, u, :], int(homes[m]))
            values[m, u], paths[m, u] = cache[key]
    rows, cols = linear_sum_assignment(values)
    for m, u in zip(rows, cols):
        routes[m] = paths[m, u]
    return routes


# ---------------------------------------------------------------------------------------------- UAV plans
def hover_home(inst) -> tuple[np.ndarray, np.ndarray]:
    """`hover-home` (§7.7): every vehicle at home for the whole mission: (q (U, N+1, 3), ugv_wp (M, N+1))."""
    N = inst.n_slots
    q = np.repeat(np.asarray(inst.uav_home, dtype=float)[:, None, :], N + 1, axis=1)
    w = np.repeat(np.asarray(inst.ugv_home, dtype=np.int64)[:, None], N + 1, axis=1)
    return q, w


def kmeans(points: np.ndarray, k: int, rng: np.random.Generator, iters: int = 20) -> np.ndarray:
    """Lloyd's k-means with k-means++ initialization (rng), `iters` iterations: centroids (k, 2)."""
    n = points.shape[0]
    centers = [points[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min(((points[:, None, :] - np.array(centers)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        centers.append(points[rng.integers(n)] if total <= 0 else points[rng.choice(n, p=d2 / total)])
    c = np.array(centers, dtype=float)
    for _ in range(iters):
        label = np.argmin(((points[:, None, :] - c[None]) ** 2).sum(-1), axis=1)
        for j in range(k):
            if np.any(label == j):
                c[j] = points[label == j].mean(axis=0)
    return c


def straight_line(inst, targets: np.ndarray) -> np.ndarray:
    """(§7.5 steps 4–5) fly straight to each target (U, 3) at V_u^max Δ per slot, hover, return home by slot N;
    targets beyond ⌊N/2⌋ V_u^max Δ from home are projected onto that ball. q (U, N+1, 3)."""
    N = inst.n_slots
    step = inst.horizontal_step
    home = np.asarray(inst.uav_home, dtype=float)
    vec = targets - home
    dist = np.linalg.norm(vec, axis=1)
    reach = (N // 2) * step
    dist_c = np.minimum(dist, reach)
    unit = vec / np.maximum(dist, 1e-300)[:, None]
    n = np.arange(N + 1)
    travel = np.minimum(np.minimum(n, N - n)[None, :] * step, dist_c[:, None])     # (U, N+1) distance from home
    q = home[:, None, :] + travel[..., None] * unit[:, None, :]
    q[:, 0], q[:, N] = home, home
    return q


def kmeans_targets(inst, seed: int = 0) -> np.ndarray:
    """(§7.5 steps 1–3) k-means centroids of the users at z_max, paired to UAVs by Hungarian on the distance from
    home. k-means++ draws from method_stream(instance seed, "static-kmeans", seed). (U, 3) m."""
    U = inst.n_uavs
    rng = method_stream(inst.seed, "static-kmeans", seed)
    users = np.asarray(inst.users, dtype=float)
    if users.shape[0] == 0:
        return np.asarray(inst.uav_home, dtype=float).copy()
    k = min(U, users.shape[0])
    cents = kmeans(users, k, rng)
    if k < U:                                  # fewer users than UAVs: the extra UAVs keep their home spot
        extra = np.asarray(inst.uav_home, dtype=float)[k:, :2]
        cents = np.concatenate([cents, extra], axis=0)
    targets = np.concatenate([cents, np.full((U, 1), inst.uav_zmax)], axis=1)
    home = np.asarray(inst.uav_home, dtype=float)
    cost = np.linalg.norm(home[:, None, :] - targets[None], axis=-1)
    rows, cols = linear_sum_assignment(cost)
    out = np.empty_like(targets)
    out[rows] = targets[cols]
    return out


def kmeans_plan(inst, seed: int = 0) -> np.ndarray:
    """The `static-kmeans` UAV trajectory (U, N+1, 3)."""
    return straight_line(inst, kmeans_targets(inst, seed))

