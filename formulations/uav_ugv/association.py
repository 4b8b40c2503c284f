"""Per-slot association rules (§4 E27–E28, §7.4 `hungarian-sizes`) and the slot value they optimize.

An association of one slot is `serve` (K,) int: the serving UAV of each user, −1 when unserved. Arrays per slot:
S (U, K) received access power W, SE (U, K) bit/s/Hz, SNR (M, U) linear.
"""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

GAIN_TOL = 1e-9
MARGIN_CLIP_DB = 30.0
FEASIBLE_BONUS = 1000.0


# ---------------------------------------------------------------------------------------------- values
def band_per_user(inst, n) -> np.ndarray:
    """b = B / n (equal sharing) or B (full), Hz; n ≥ 1 (array or scalar)."""
    n = np.asarray(n, dtype=float)
    if inst.bandwidth_sharing == "full":
        return np.full(n.shape, inst.bandwidth_hz)
    return inst.bandwidth_hz / np.maximum(n, 1.0)


def user_value(inst, SE, n) -> np.ndarray:
    """(E28 step 3) f_u(k; n) = 10⁻⁶ b SE − w 10⁻⁶ max(0, R_min − b SE), Mbit/s, b = B/n (equal) or B (full)."""
    rate = band_per_user(inst, n) * SE
    return 1e-6 * rate - inst.qos_weight * 1e-6 * np.maximum(0.0, inst.rate_min_bps - rate)


def unserved_value(inst) -> float:
    """Slot value of one unserved user: −w R̃_min (Mbit/s)."""
    return -inst.qos_weight * 1e-6 * inst.rate_min_bps


def slot_value(inst, SE: np.ndarray, serve: np.ndarray) -> float:
    """r[n] (E22 without collisions) of an association: Σ_k f_{u(k)}(k; n_{u(k)}) − w R̃_min per unserved user."""
    U = SE.shape[0]
    served = serve >= 0
    sizes = np.bincount(serve[served], minlength=U)
    k = np.nonzero(served)[0]
    u = serve[served]
    return float(user_value(inst, SE[u, k], sizes[u]).sum() + unserved_value(inst) * (~served).sum())


# ---------------------------------------------------------------------------------------------- E27
def hungarian_x(inst, snr: np.ndarray) -> np.ndarray:
    """(E27) backhaul association x (M, U) bool: Hungarian on −(1000·1[SNR ≥ γ] + clip(SNR_dB − γ_dB, ±30));
    matched pairs below γ are discarded (that UAV is in outage)."""
    M, U = snr.shape
    x = np.zeros((M, U), dtype=bool)
    if M == 0 or U == 0:
        return x
    margin = 10.0 * np.log10(np.maximum(snr, 1e-300)) - inst.snr_min_backhaul_db
    feasible = snr >= inst.snr_min_linear
    cost = -(FEASIBLE_BONUS * feasible + np.clip(margin, -MARGIN_CLIP_DB, MARGIN_CLIP_DB))
    rows, cols = linear_sum_assignment(cost)
    keep = feasible[rows, cols]
    x[rows[keep], cols[keep]] = True
    return x


def outages(inst, snr: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(E16) o_u = 1 unless exactly one UGV with x = 1 meets C1 for u: (U,) bool."""
    good = (x & (snr >= inst.snr_min_linear)).sum(axis=0)
    return good != 1


# ---------------------------------------------------------------------------------------------- E28
def max_power(S: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """(E28 step 2) each user on the eligible UAV with the largest received power (ties: lowest u); −1 if none."""
    K = S.shape[1]
    if not eligible.any():
        return np.full(K, -1, dtype=np.int64)
    masked = np.where(eligible[:, None], S, -np.inf)
    return np.argmax(masked, axis=0).astype(np.int64)


def move_gains(inst, SE: np.ndarray, serve: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """(E28 step 4) gain Δ(k, v) of moving user k to UAV v, (K, U); −inf where not allowed (v = u(k), v not
    eligible). Every user must be served (serve ≥ 0)."""
    U, K = SE.shape
    n = np.bincount(serve, minlength=U)
    member = serve[None, :] == np.arange(U)[:, None]                       # (U, K)
    f_cur = user_value(inst, SE, n[:, None])
    f_minus = user_value(inst, SE, np.maximum(n - 1, 1)[:, None])
    f_plus = user_value(inst, SE, (n + 1)[:, None])
    G_cur = np.where(member, f_cur, 0.0).sum(axis=1)
    G_minus = np.where(member, f_minus, 0.0).sum(axis=1)
    G_plus = np.where(member, f_plus, 0.0).sum(axis=1)
    ks = np.arange(K)
    leave = np.where(n[serve] == 1, -G_cur[serve], G_minus[serve] - f_minus[serve, ks] - G_cur[serve])   # (K,)
    join = G_plus[:, None] + f_plus - G_cur[:, None]                                                    # (U, K)
    gains = leave[:, None] + join.T                                                                     # (K, U)
    allowed = eligible[None, :] & (np.arange(U)[None, :] != serve[:, None])
    return np.where(allowed, gains, -np.inf)


def greedy_ls(inst, S: np.ndarray, SE: np.ndarray, eligible: np.ndarray, max_moves: int | None = None) -> np.ndarray:
    """(E28) `greedy-ls`: max-power start, then best-improvement single-user moves (≤ K moves; ties lowest k,
    then lowest v). SE of outage UAVs is not used (they are ineligible). The gains of `move_gains` are updated
    incrementally: a move changes the sizes of two cells only, so only their rows are recomputed (§4)."""
    serve = max_power(S, eligible)
    U, K = SE.shape
    if K == 0 or serve[0] < 0:
        return serve
    full = inst.bandwidth_sharing == "full"
    B, w, rmin = inst.bandwidth_hz, inst.qos_weight * 1e-6, inst.rate_min_bps

    def value(se, size):                       # f_u(k; size) of E28 step 3, se (..., K), size broadcastable
        rate = se * (B if full else B / np.maximum(size, 1))
        return 1e-6 * rate - w * np.maximum(0.0, rmin - rate)

    ks = np.arange(K)
    n = np.bincount(serve, minlength=U)
    member = serve[None, :] == np.arange(U)[:, None]                       # (U, K)
    offsets = np.array([0, -1, 1])[None, :, None]                           # sizes n, n − 1, n + 1

    def rows_values(rows):
        """f at sizes (n, n − 1, n + 1) for the given cells, (len(rows), 3, K), and their cell sums (…, 3)."""
        F = value(SE[rows][:, None, :], n[rows][:, None, None] + offsets)
        return F, np.where(member[rows][:, None, :], F, 0.0).sum(axis=-1)

    F, G = rows_values(np.arange(U))
    fm = F[:, 1].copy()                                                      # f_u(k; n_u − 1)
    Gc, Gm, Gp = G[:, 0].copy(), G[:, 1].copy(), G[:, 2].copy()
    joinT = (Gp[:, None] + F[:, 2] - Gc[:, None]).T.copy()                  # (K, U) second bracket of Δ(k, v)
    penT = np.where(eligible[None, :], 0.0, -np.inf) * np.ones((K, 1))      # −inf where the move is not allowed
    penT[ks, serve] = -np.inf
    leave = np.where(n[serve] == 1, -Gc[serve], Gm[serve] - fm[serve, ks] - Gc[serve])     # (K,) first bracket
    for _ in range(K if max_moves is None else max_moves):
        gains = joinT + leave[:, None]
        gains += penT
        flat = int(np.argmax(gains))           # row-major over (k, v): ties lowest k, then lowest v
        k, v = divmod(flat, U)
        if not gains[k, v] > GAIN_TOL:
            break
        u = serve[k]
        serve[k] = v
        n[u] -= 1
        n[v] += 1
        member[u, k], member[v, k] = False, True
        penT[k, u], penT[k, v] = 0.0, -np.inf
        rows = np.array([u, v])
        F, G = rows_values(rows)
        fm[rows] = F[:, 1]
        Gc[rows], Gm[rows], Gp[rows] = G[:, 0], G[:, 1], G[:, 2]
        joinT[:, rows] = (G[:, 2][:, None] + F[:, 2] - G[:, 0][:, None]).T
        users = np.nonzero(member[u] | member[v])[0]
        own = serve[users]
        leave[users] = np.where(n[own] == 1, -Gc[own], Gm[own] - fm[own, users] - Gc[own])
    return serve


# ---------------------------------------------------------------------------------------------- hungarian-sizes
def assign_for_sizes(inst, SE: np.ndarray, sizes: np.ndarray) -> tuple[np.ndarray, float]:
    """Exact association for fixed cell sizes (Σ sizes = K): Hungarian on the K×K matrix whose columns are
    n_u copies of UAV u with cost −f_u(k; n_u) (§7.4 step 2.1.2.1). Returns (serve, slot value)."""
    U, K = SE.shape
    cols = np.repeat(np.arange(U), sizes)
    value = user_value(inst, SE[cols, :], sizes[cols][:, None]).T              # (K, K): user × slot column
    rows, c = linear_sum_assignment(-value)
    serve = np.empty(K, dtype=np.int64)
    serve[rows] = cols[c]
    return serve, float(value[rows, c].sum())


def hungarian_sizes(inst, SE: np.ndarray, eligible: np.ndarray, start: np.ndarray, max_moves: int = 50
                    ) -> tuple[np.ndarray, float]:
    """`hungarian-sizes` (§7.4 step 2.1.2): exact Hungarian for the sizes of `start`, then best-improving
    one-unit size transfers between eligible UAVs (≤ max_moves). Returns (serve, slot value) with a value ≥ that
    of `start` (a serving association with every user on an eligible UAV)."""
    U, K = SE.shape
    if not eligible.any() or K == 0:
        return start.copy(), slot_value(inst, SE, start)
    sizes = np.bincount(start, minlength=U)
    serve, value = assign_for_sizes(inst, SE, sizes)
    tried = {tuple(sizes)}
    for _ in range(max_moves):
        best = None
        for u in range(U):
            if sizes[u] < 1:
                continue
            for v in np.nonzero(eligible)[0]:
                if v == u:
                    continue
                cand = sizes.copy()
                cand[u] -= 1
                cand[v] += 1
                key = tuple(cand)
                if key in tried:
                    continue
                tried.add(key)
                s, val = assign_for_sizes(inst, SE, cand)
                if val > value + GAIN_TOL and (best is None or val > best[2] + GAIN_TOL):
                    best = (cand, s, val)
        if best is None:
            break
        sizes, serve, value = best
    return serve, value


# ---------------------------------------------------------------------------------------------- repair (D29)
def repair(S: np.ndarray, serve: np.ndarray, eligible: np.ndarray) -> tuple[np.ndarray, int]:
    """(§6.1, D29) users unserved or on an outage UAV go to the eligible UAV with the largest S (ties lowest u),
    when some UAV is eligible. Returns (serve, number of repaired users)."""
    if not eligible.any():
        return np.full_like(serve, -1), 0
    bad = (serve < 0) | ~eligible[np.maximum(serve, 0)]
    if not bad.any():
        return serve, 0
    out = serve.copy()
    out[bad] = max_power(S[:, bad], eligible)
    return out, int(bad.sum())


def serve_to_alpha(serve: np.ndarray, U: int) -> np.ndarray:
    """(U, K) bool association matrix of a serve vector."""
    return (serve[None, :] == np.arange(U)[:, None]) & (serve[None, :] >= 0)
