"""P-Q (§5.4): UAV trajectories by successive convex approximation for fixed α, x and UGV routes.

Each subproblem is rebuilt from NumPy constants (D37: no cp.Parameter) in km / Mbit/s units, with the
Wu–Zeng–Zhang lower bound on SE (η frozen at the iterate, D20), the first-order correction of E29 (D36) carried
per user (⟨G_ℓ, q − q^r⟩ in every rate and QoS row; weighted by the merit's derivatives it sums to ⟨g_c, q − q^r⟩),
T-lin, linearized C5 with a slack, the C1 ball, speed limits, box and a trust region. A step is accepted
only when the true merit J − (w_c/N) V5 rises (D32); a solver failure is a rejected step, never a raise.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from optkit.formulations.uav_ugv import channel
from optkit.formulations.uav_ugv.channel import LN2, LN10_10

KM = 1000.0
LAMBDA_C5 = 1e6            # Mbit/s per km² of separation shortfall (D32)
C1_MARGIN_DB = 0.5         # dB above γ_min for the frozen C1 ball
T_FLOOR = 1e-6             # km²


@dataclass
class Fixed:
    """The fixed blocks of P-Q: serve (N, K) serving UAV per slot (−1 unserved), partner (N, U) serving UGV per
    UAV (−1 none), ugv_xy (N, M, 2) m, outage (N, U) bool (held at the iterate)."""

    serve: np.ndarray
    partner: np.ndarray
    ugv_xy: np.ndarray
    outage: np.ndarray


def fixed_from_plan(inst, q: np.ndarray, ugv_wp: np.ndarray, alpha: np.ndarray, x: np.ndarray) -> Fixed:
    """Fixed blocks from a plan's α (N, U, K), x (N, M, U); outages from x and the true SNR at q."""
    from optkit.formulations.uav_ugv import association as assoc
    from optkit.formulations.uav_ugv.evaluator import slot_channels

    _, _, snr = slot_channels(inst, q, ugv_wp)
    N, U = alpha.shape[0], alpha.shape[1]
    outage = np.array([assoc.outages(inst, snr[n], x[n]) for n in range(N)]).reshape(N, U)
    serve = np.where(alpha.any(axis=1), np.argmax(alpha, axis=1), -1)
    serve = np.where((serve >= 0) & ~np.take_along_axis(outage, np.maximum(serve, 0), axis=1), serve, -1)
    partner = np.where(x.any(axis=1), np.argmax(x, axis=1), -1)
    ugv_xy = np.asarray(inst.waypoints)[ugv_wp[:, 1:].T]
    return Fixed(serve=serve, partner=partner, ugv_xy=ugv_xy, outage=outage)


# ---------------------------------------------------------------------------------------------- smooth merit
def _served(fixed: Fixed, N_inner: int):
    """(slot index n−1, user k, serving u) of every served user-slot among slots 1..N−1."""
    n_idx, k_idx = np.nonzero(fixed.serve[:N_inner] >= 0)
    return n_idx, k_idx, fixed.serve[n_idx, k_idx]


def _bands(inst, fixed: Fixed, n_idx, u_idx) -> np.ndarray:
    """b_{k,n} = B / n_u[n] (equal) or B (full), Hz, per served user-slot."""
    if inst.bandwidth_sharing == "full":
        return np.full(n_idx.shape, inst.bandwidth_hz)
    U = fixed.partner.shape[1]
    sizes = np.stack([np.bincount(row[row >= 0], minlength=U) for row in fixed.serve])
    return inst.bandwidth_hz / sizes[n_idx, u_idx]


def smooth_merit(inst, fixed: Fixed, q: np.ndarray, freeze: np.ndarray | None = None) -> float:
    """M_s over slots 1..N−1 (E29): (1/N) Σ_served [10⁻⁶ b SE − w 10⁻⁶ max(0, R_min − b SE)], Mbit/s.
    freeze: positions (U, N+1, 3) at which η is evaluated (None: the true η at q)."""
    N = inst.n_slots
    n_idx, k_idx, u_idx = _served(fixed, N - 1)
    if n_idx.size == 0:
        return 0.0
    b = _bands(inst, fixed, n_idx, u_idx)
    S = _powers(inst, q, n_idx, k_idx, freeze)                              # (L, U) W
    se = _se(inst, S, u_idx)
    rate = b * se
    return float((1e-6 * rate - inst.qos_weight * 1e-6 * np.maximum(0.0, inst.rate_min_bps - rate)).sum() / N)


def _powers(inst, q, n_idx, k_idx, freeze=None) -> np.ndarray:
    """Received powers S_{j,k,n} (L, U) W of every UAV at the served user-slots (η at `freeze` if given)."""
    users = np.asarray(inst.users)
    pos = np.transpose(q[:, 1 + n_idx, :], (1, 0, 2))                       # (L, U, 3)
    d = np.linalg.norm(pos - np.concatenate([users[k_idx], np.zeros((k_idx.size, 1))], axis=1)[:, None, :], axis=-1)
    if freeze is None:
        eta = channel.excess_db(inst, channel.elevation_deg(pos[..., 2], d))
    else:
        fpos = np.transpose(freeze[:, 1 + n_idx, :], (1, 0, 2))
        fd = np.linalg.norm(fpos - np.concatenate([users[k_idx], np.zeros((k_idx.size, 1))], axis=1)[:, None, :],
                            axis=-1)
        eta = channel.excess_db(inst, channel.elevation_deg(fpos[..., 2], fd))
    return inst.uav_power_w * channel.g0(inst) * 10.0 ** (-eta / 10.0) / (d * d)


def _se(inst, S, u_idx) -> np.ndarray:
    own = S[np.arange(S.shape[0]), u_idx]
    return np.log2(1.0 + own / (S.sum(axis=1) - own + inst.noise_w))


def eta_gradient(inst, dx: np.ndarray, dy: np.ndarray, z: np.ndarray) -> np.ndarray:
    """∇_q η (E29): (β^LoS − β^NLoS) P^LoS′(ψ) ∇ψ of a link from a ground node to a UAV offset (dx, dy, z) m from
    it, (..., 3) dB per m (horizontal part 0 straight above)."""
    h = np.hypot(dx, dy)
    psi = channel.elevation_deg(z, np.sqrt(h * h + z * z))
    scale = (180.0 / np.pi) / (h * h + z * z)
    safe_h = np.where(h < 1e-9, 1.0, h)
    grad_psi = np.stack([np.where(h < 1e-9, 0.0, -z * dx / safe_h), np.where(h < 1e-9, 0.0, -z * dy / safe_h), h],
                        axis=-1) * scale[..., None]
    return ((inst.beta_los_db - inst.beta_nlos_db) * channel.p_los_slope(inst, psi))[..., None] * grad_psi


def eta_gradients(inst, fixed: Fixed, q: np.ndarray) -> np.ndarray:
    """The η path of ∇SE per served user-slot (E29 without the merit weights): ∂SE_{k,n}/∂q_j[n] through
    η_{j,k,n} only, (L, U, 3) bit/s/Hz per m, rows in the order of `_served`."""
    N, U = inst.n_slots, inst.n_uavs
    n_idx, k_idx, u_idx = _served(fixed, N - 1)
    if n_idx.size == 0:
        return np.zeros((0, U, 3))
    S = _powers(inst, q, n_idx, k_idx)
    L = S.shape[0]
    own = S[np.arange(L), u_idx]
    total = S.sum(axis=1) + inst.noise_w
    is_int = np.ones((L, U), dtype=bool)
    is_int[np.arange(L), u_idx] = False
    dse_dS = (1.0 / total[:, None] - is_int / (total - own)[:, None]) / LN2              # (L, U)
    users = np.asarray(inst.users)[k_idx]
    pos = np.transpose(q[:, 1 + n_idx, :], (1, 0, 2))                                      # (L, U, 3)
    grad_eta = eta_gradient(inst, pos[..., 0] - users[:, 0:1], pos[..., 1] - users[:, 1:2], pos[..., 2])
    return (dse_dS * (-LN10_10) * S)[..., None] * grad_eta


def correction(inst, fixed: Fixed, q: np.ndarray) -> np.ndarray:
    """(E29) g_c = ∇M_s^true(q^r) − ∇M_s^frozen(q^r): the η path of the gradient, (U, N+1, 3) Mbit/s per m
    (zero at the fixed slots 0 and N). The subproblem carries the same correction per user (`eta_gradients`)."""
    N, U = inst.n_slots, inst.n_uavs
    g = np.zeros((U, N + 1, 3))
    n_idx, k_idx, u_idx = _served(fixed, N - 1)
    if n_idx.size == 0:
        return g
    b = _bands(inst, fixed, n_idx, u_idx)
    se = _se(inst, _powers(inst, q, n_idx, k_idx), u_idx)
    dM_dse = 1e-6 * b / N * (1.0 + inst.qos_weight * (b * se < inst.rate_min_bps))
    term = dM_dse[:, None, None] * eta_gradients(inst, fixed, q)                            # (L, U, 3)
    np.add.at(g, (slice(None), 1 + n_idx), np.transpose(term, (1, 0, 2)))
    return g


# ---------------------------------------------------------------------------------------------- subproblem
@dataclass
class Subproblem:
    """Constants of one SCA subproblem (km, Mbit/s): see `build`. `solve` returns the new q (U, N+1, 3) m or None."""

    inst: object
    q_ref: np.ndarray
    data: dict


def surrogate_constants(inst, fixed: Fixed, q_ref: np.ndarray) -> dict:
    """Every constant of the subproblem at iterate q_ref (U, N+1, 3) m, as flat vectors per served user-slot ℓ
    and interferer pair (ℓ, j ≠ u)."""
    N, U = inst.n_slots, inst.n_uavs
    n_idx, k_idx, u_idx = _served(fixed, N - 1)
    L = n_idx.size
    users = np.asarray(inst.users)[k_idx] / KM                                              # (L, 2) km
    pk = np.concatenate([users, np.zeros((L, 1))], axis=1)                                   # (L, 3)
    pos = np.transpose(q_ref[:, 1 + n_idx, :], (1, 0, 2)) / KM                              # (L, U, 3) km
    Sr = ((pos - pk[:, None, :]) ** 2).sum(axis=-1)                                          # S^r (L, U) km²
    d_m = np.sqrt(Sr) * KM
    eta = channel.excess_db(inst, channel.elevation_deg(pos[..., 2] * KM, d_m))
    c = inst.uav_power_w * channel.g0(inst) * 10.0 ** (-eta / 10.0) / inst.noise_w / KM ** 2  # (L, U) km²
    ratio = c / Sr
    Itot = 1.0 + ratio.sum(axis=1)
    own = ratio[np.arange(L), u_idx]
    Iint = Itot - own
    A = (c / Sr ** 2) / (Itot[:, None] * LN2)
    b = _bands(inst, fixed, n_idx, u_idx) if L else np.zeros(0)
    is_int = np.ones((L, U), dtype=bool)
    is_int[np.arange(L), u_idx] = False
    G = eta_gradients(inst, fixed, q_ref) * KM                                              # (L, U, 3) per km
    return {"n_idx": n_idx, "k_idx": k_idx, "u_idx": u_idx, "pk": pk, "Sr": Sr, "c": c, "Itot": Itot,
            "Iint": Iint, "A": A, "b": b, "is_int": is_int, "pos": pos, "G": G}


def surrogate_se(consts: dict, Q: np.ndarray) -> np.ndarray:
    """SE^lb (L,) at inner positions Q (U, N+1, 3) km with T at its T-lin optimum (NumPy twin of the CVXPY
    objective; the minorant of the frozen-η SE, check 17)."""
    pk, Sr, c, A = consts["pk"], consts["Sr"], consts["c"], consts["A"]
    n_idx = consts["n_idx"]
    pos = np.transpose(Q[:, 1 + n_idx, :], (1, 0, 2))
    D = ((pos - pk[:, None, :]) ** 2).sum(axis=-1)
    tlin = Sr + 2.0 * ((consts["pos"] - pk[:, None, :]) * (pos - consts["pos"])).sum(axis=-1)
    T = np.maximum(tlin, T_FLOOR)
    inv = np.where(consts["is_int"], c / T, 0.0).sum(axis=1)
    Iint = consts["Iint"]
    return (np.log2(consts["Itot"]) - (A * (D - Sr)).sum(axis=1) - np.log2(Iint)
            - (inv + 1.0 - Iint) / (Iint * LN2))


def surrogate_value(inst, consts: dict, q_ref: np.ndarray, q: np.ndarray) -> float:
    """The subproblem objective (slacks at zero) at q (U, N+1, 3) m, Mbit/s: every served user's rate
    b (SE^lb + ⟨G, q − q^r⟩) with its own η correction (E29 per user), in the rate sum and in its QoS shortfall."""
    N = inst.n_slots
    n_idx = consts["n_idx"]
    delta = np.transpose((q - q_ref)[:, 1 + n_idx, :], (1, 0, 2)) / KM                     # (L, U, 3) km
    se = surrogate_se(consts, q / KM) + (consts["G"] * delta).sum(axis=(1, 2))
    rate = consts["b"] * se
    val = (1e-6 * rate - inst.qos_weight * 1e-6 * np.maximum(0.0, inst.rate_min_bps - rate)).sum() / N
    return float(val)


def build_and_solve(inst, fixed: Fixed, q_ref: np.ndarray, radius_m: float, *,
                    solver_options: dict | None = None):
    """Build the subproblem from constants and solve it (CLARABEL, then SCS). Returns (q (U, N+1, 3) m or None,
    info dict)."""
    import cvxpy as cp
    import scipy.sparse as sp

    N, U = inst.n_slots, inst.n_uavs
    R = U * (N - 1)
    if R == 0:
        return None, {"error": "no free slot"}
    cs = surrogate_constants(inst, fixed, q_ref)
    n_idx, k_idx, u_idx = cs["n_idx"], cs["k_idx"], cs["u_idx"]
    L = n_idx.size
    row_of = lambda j, n: j * (N - 1) + n                                     # noqa: E731  (row of q_j[n+1])
    Qr = q_ref[:, 1:N, :].reshape(R, 3) / KM
    Q = cp.Variable((R, 3))
    sq = cp.Variable(R)
    cons = [cp.sum(cp.square(Q), axis=1) <= sq]
    objective = 0
    if L:
        # affine part of SE^lb: const − Σ_j A (sq_j − 2 p_kᵀ q_j)
        ll = np.repeat(np.arange(L), U)
        jj = np.tile(np.arange(U), L)
        rows = row_of(jj, np.repeat(n_idx, U))
        Aflat = cs["A"].ravel()
        Msq = sp.csr_matrix((Aflat, (ll, rows)), shape=(L, R))
        pk = cs["pk"]
        Mq = [sp.csr_matrix((2.0 * Aflat * np.repeat(pk[:, a], U), (ll, rows)), shape=(L, R)) for a in range(3)]
        const = (np.log2(cs["Itot"]) - np.log2(cs["Iint"]) + (cs["A"] * (cs["Sr"] - (pk ** 2).sum(1)[:, None])).sum(1)
                 - (1.0 - cs["Iint"]) / (cs["Iint"] * LN2))
        # E29 per user: + ⟨G_ℓ, q − q^r⟩ (the η path of each user's SE, so its QoS row is first-order exact too)
        Gflat = cs["G"].reshape(L * U, 3)
        Mq = [Mq[a] + sp.csr_matrix((Gflat[:, a], (ll, rows)), shape=(L, R)) for a in range(3)]
        const = const - (cs["G"] * cs["pos"]).sum(axis=(1, 2))
        se_aff = const - _mm(Msq, sq) + sum(_mm(Mq[a], Q[:, a]) for a in range(3))
        # interference part: − Σ_{j≠u} c/(I^int ln2) inv_pos(T), T-lin
        li, ji = np.nonzero(cs["is_int"])
        P = li.size
        if P:
            T = cp.Variable(P)
            coef = cs["c"][li, ji] / (cs["Iint"][li] * LN2)
            Agg = sp.csr_matrix((coef, (li, np.arange(P))), shape=(L, P))
            se = se_aff - _mm(Agg, cp.inv_pos(T))
            pos = cs["pos"][li, ji]                                          # (P, 3) q^r_j km
            grad = 2.0 * (pos - pk[li])                                      # (P, 3)
            off = cs["Sr"][li, ji] - (grad * pos).sum(1)
            trow = row_of(ji, n_idx[li])
            Mt = [sp.csr_matrix((grad[:, a], (np.arange(P), trow)), shape=(P, R)) for a in range(3)]
            cons += [T <= off + sum(_mm(Mt[a], Q[:, a]) for a in range(3)), T >= T_FLOOR]
        else:
            se = se_aff
        rate = cp.multiply(1e-6 * cs["b"], se)                              # Mbit/s
        xi = cp.Variable(L, nonneg=True)
        cons.append(rate + xi >= 1e-6 * inst.rate_min_bps)
        objective = (cp.sum(rate) - inst.qos_weight * cp.sum(xi)) / N
    # C3 speed limits, slots 1..N, with the fixed homes at 0 and N
    home = np.asarray(inst.uav_home) / KM
    step = inst.horizontal_step / KM
    for u in range(U):
        block = Q[u * (N - 1):(u + 1) * (N - 1), :]
        cons.append(cp.norm(block[0, :] - home[u], 2) <= step)
        cons.append(cp.norm(block[N - 2, :] - home[u], 2) <= step)
        if N > 2:
            cons.append(cp.norm(block[1:, :] - block[:-1, :], 2, axis=1) <= step)
    cons += [Q[:, 0] >= 0, Q[:, 0] <= inst.area_x / KM, Q[:, 1] >= 0, Q[:, 1] <= inst.area_y / KM,
             Q[:, 2] >= inst.uav_zmin / KM, Q[:, 2] <= inst.uav_zmax / KM]
    cons.append(cp.norm(Q - Qr, 2, axis=1) <= radius_m / KM)                # trust region
    # C5 linearized (u < u'), slack s5
    pairs = [(a, b2, n) for n in range(N - 1) for a in range(U) for b2 in range(a + 1, U)]
    if pairs:
        pa = np.array(pairs)
        ra, rb = row_of(pa[:, 0], pa[:, 2]), row_of(pa[:, 1], pa[:, 2])
        dr = Qr[ra] - Qr[rb]
        s5 = cp.Variable(len(pairs), nonneg=True)
        lhs = (dr ** 2).sum(1) + 2 * cp.sum(cp.multiply(dr, Q[ra, :] - Q[rb, :]), axis=1) - 2 * (dr ** 2).sum(1)
        cons.append(lhs + s5 >= (inst.d_safe / KM) ** 2)
        objective = objective - LAMBDA_C5 * cp.sum(s5)
    # C1 ball for UAVs with a partner (hard, D32 deviation): ‖q − p_m‖² ≤ r²·(1 − (ln10/10)⟨∇η, q − q^r⟩) with
    # r² = max(P_m ρ / (σ² γ'), ‖q^r − p_m‖²), ρ at q^r, γ' = γ_min + C1_MARGIN_DB, and the η path of ρ to first
    # order (as E29 does for the access links), so a move that lowers the elevation angle shrinks the ball.
    nn, uu = np.nonzero(fixed.partner[:N - 1] >= 0)
    if nn.size:
        mm = fixed.partner[nn, uu]
        pm = fixed.ugv_xy[nn, mm] / KM                                       # (C, 2)
        qr = q_ref[uu, 1 + nn, :]
        d = np.linalg.norm(qr - np.concatenate([pm * KM, np.zeros((nn.size, 1))], axis=1), axis=1)
        rho = channel.g0(inst) * 10.0 ** (-channel.excess_db(inst, channel.elevation_deg(qr[:, 2], d)) / 10.0)
        gamma = 10.0 ** ((inst.snr_min_backhaul_db + C1_MARGIN_DB) / 10.0)
        r2 = np.maximum(inst.ugv_power_w * rho / (inst.noise_w * gamma) / KM ** 2, (d / KM) ** 2)
        geta = eta_gradient(inst, qr[:, 0] - pm[:, 0] * KM, qr[:, 1] - pm[:, 1] * KM, qr[:, 2]) * KM   # dB per km
        slope = r2[:, None] * LN10_10 * geta                                 # (C, 3) km² per km
        rr = row_of(uu, nn)
        rhs = r2 + (slope * qr / KM).sum(1) - sum(cp.multiply(slope[:, a], Q[rr, a]) for a in range(3))
        cons.append(sq[rr] - 2 * (cp.multiply(pm[:, 0], Q[rr, 0]) + cp.multiply(pm[:, 1], Q[rr, 1])) + (pm ** 2).sum(1)
                    <= rhs)
    problem = cp.Problem(cp.Maximize(objective), cons)
    info = {"dcp": problem.is_dcp(), "solver": None, "status": None}
    for name, opts in (("CLARABEL", {}), ("SCS", {"eps": 1e-6, "max_iters": 20000})):
        opts = dict(opts, **(solver_options or {}).get(name, {}))
        try:
            problem.solve(solver=name, **opts)
        except Exception as exc:                # a solver failure is an outcome: try the next solver
            info[f"{name}_error"] = f"{type(exc).__name__}: {exc}"[:200]
            continue
        info.update(solver=name, status=problem.status, value=problem.value)
        if problem.status in ("optimal", "optimal_inaccurate") and Q.value is not None:
            q_new = q_ref.copy()
            q_new[:, 1:N, :] = np.asarray(Q.value).reshape(U, N - 1, 3) * KM
            lo = np.array([0.0, 0.0, inst.uav_zmin])
            hi = np.array([inst.area_x, inst.area_y, inst.uav_zmax])
            q_new = np.clip(q_new, lo, hi)
            return _project_speed(inst, q_new), info
    return None, info


def _project_speed(inst, q: np.ndarray) -> np.ndarray:
    """Remove solver round-off above V_u^max Δ (interior-point solutions may exceed it by ~1e-7 m)."""
    step = inst.horizontal_step
    for _ in range(3):
        d = np.linalg.norm(np.diff(q, axis=1), axis=-1)
        if d.max(initial=0.0) <= step:
            break
        for u, n in zip(*np.nonzero(d > step)):
            if n + 1 < inst.n_slots:
                q[u, n + 1] = q[u, n] + (q[u, n + 1] - q[u, n]) * (step / d[u, n]) * (1 - 1e-12)
    return q


def _mm(matrix, expr):
    """Constant sparse matrix times a CVXPY expression (cp.Constant keeps scipy from dispatching the product)."""
    import cvxpy as cp

    return cp.Constant(matrix) @ expr


# ---------------------------------------------------------------------------------------------- loop
def merit_of(inst, q, ugv_wp, alpha, x) -> float:
    """M = J − (w_c/N) V5 with the plan's own α and x (evaluator scoring)."""
    from optkit.formulations.uav_ugv.evaluator import metrics_of, score

    return metrics_of(inst, score(inst, q, ugv_wp, alpha, x))["merit"]


def sca(inst, q: np.ndarray, ugv_wp: np.ndarray, alpha: np.ndarray, x: np.ndarray, *, max_solves: int = 15,
        radius_m: float = 200.0, min_radius_m: float = 5.0, rel_tol: float = 1e-3, deadline: float | None = None,
        solver_options: dict | None = None) -> dict:
    """The SCA loop of §5.4. Returns {"q", "merit", "history" (accepted merits), "solves", "accepted",
    "rejected", "infos"}; merits never decrease."""
    fixed = fixed_from_plan(inst, q, ugv_wp, alpha, x)
    merit = merit_of(inst, q, ugv_wp, alpha, x)
    history, infos = [merit], []
    solves = accepted = 0
    while solves < max_solves and radius_m >= min_radius_m:
        if deadline is not None and time.perf_counter() >= deadline:
            break
        t0 = time.perf_counter()
        q_new, info = build_and_solve(inst, fixed, q, radius_m, solver_options=solver_options)
        info["solve_s"] = time.perf_counter() - t0
        solves += 1
        new = merit_of(inst, q_new, ugv_wp, alpha, x) if q_new is not None else -np.inf
        info.update(radius_m=radius_m, merit=new)
        infos.append(info)
        if new > merit + 1e-9:
            gain = new - merit
            q, merit = q_new, new
            accepted += 1
            history.append(merit)
            if gain < rel_tol * abs(merit):
                break
        else:
            radius_m /= 2.0
    return {"q": q, "merit": merit, "history": history, "solves": solves, "accepted": accepted,
            "rejected": solves - accepted, "infos": infos}
