"""`sca-dinkelbach` and `sca-dinkelbach-discrete` (§5.3, §5.5, §7.11): Dinkelbach's method around block coordinate
descent — (a) exact per-slot association, (b) trajectory by successive convex approximation in CVXPY (Clarabel).

Per SCA iteration the convex subproblem of §5.5 is rebuilt from numeric constants (no DPP parameters, D42) around
the current iterate, in centred position variables ΔQ, with the objective scaled by the SAT-Ground episode volume
(D41). A step is accepted only if the exact objective R_tot − η E_tot of the re-simulated trajectory, with the
association re-optimized exactly, does not decrease; otherwise (and on any solver failure or status other than
optimal) the trust region is halved. Caps (D41): Dinkelbach 5 × BCD 2 × SCA 6; 900 s only as a safety net.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from optkit.formulations.ntn_relay import model as M
from optkit.formulations.ntn_relay.evaluator import decisions_of
from optkit.formulations.ntn_relay.links import LN2
from optkit.solution import Solution, Status

FAMILY = "ntn-relay"
# Iteration caps (Dinkelbach, BCD rounds, SCA iterations) per budget; quick and paper use the spec's D41 caps.
CAPS = {"check": (1, 1, 2), "smoke": (2, 1, 3), "quick": (5, 2, 6), "fast": (5, 2, 6), "reduced": (5, 2, 6),
        "paper": (5, 2, 6)}


# --------------------------------------------------------------------------------------------- exact objective
@dataclass
class Iterate:
    """A trajectory with its exact association and totals."""

    accel: np.ndarray        # (N, K, 2) commanded (= realized after clipping) accelerations
    traj: M.Trajectory
    assoc1: np.ndarray
    assoc2: np.ndarray
    r_tot: float             # delivered bits
    e_tot: float             # J
    n_dist: int              # D_max violations

    @property
    def ee(self) -> float:
        return self.r_tot / self.e_tot                               # bit/J

    def value(self, omega_r: float, eta: float) -> float:
        """ω_R R_tot − η E_tot (P1*)."""
        return omega_r * self.r_tot - eta * self.e_tot


def make_iterate(w: M.World, accel) -> Iterate:
    """Scale every acceleration into the a_max disk, re-simulate (E5) and re-optimize the association exactly."""
    accel = M.clip_norm(accel, w.inst.a_max_mps2)
    traj = M.simulate(w, accel)
    a1, a2, R = M.exact_association(w, w.relay_points(traj.q[:-1]))
    E, _ = M.slot_energy(w, traj)
    n_dist = int(np.count_nonzero(M.inter_relay_distance(w, traj.q[:-1]) > w.d_max)) if w.K > 1 else 0
    return Iterate(accel, traj, a1, a2, w.inst.dt_s * float(R.sum()), float(E.sum()), n_dist)


# --------------------------------------------------------------------------------------------- surrogates (§5.5)
def rf_surrogate(w: M.World, b, d_r_xy, dh: float):
    """Constants of the RF tangent bound at the iterate: (R_RF(b, d^r) in Mbit/s, S in Mbit/s per km²), so that
    LB = R − S (2 D^rᵀΔq + ‖Δq‖²); d_r_xy (…, 2) horizontal offsets q^r − p in km."""
    g0 = w.link.gamma0
    x_r = 1e6 * (np.sum(d_r_xy ** 2, axis=-1) + dh ** 2)            # m²
    rate = b * np.log1p(g0 / x_r) / LN2 / 1e6
    slope = b * g0 / (LN2 * x_r * (x_r + g0))
    return rate, slope


def fso_surrogate(w: M.World, b, d_r: np.ndarray):
    """Constants of the FSO tangent bound in d: (g(d^r), g'(d^r)) in Mbit/s and Mbit/s per km, with the family's
    FSO prefactor (D48)."""
    link = w.link
    u = link.kappa * link.eps ** 2 * np.exp(-2.0 * link.sigma * d_r)
    g = link.prefactor * b * np.log1p(u) / LN2 / 1e6
    dg = -link.prefactor * b * 2.0 * link.sigma * u / ((1.0 + u) * LN2) / 1e6
    return g, dg


def rf_lower_bound(w, b, p_xy, q_r, q, dh):
    """The RF surrogate evaluated at positions q (numpy; for tests), Mbit/s."""
    rate, slope = rf_surrogate(w, b, q_r - p_xy, dh)
    dq = q - q_r
    return rate - slope * (2 * np.sum((q_r - p_xy) * dq, axis=-1) + np.sum(dq ** 2, axis=-1))


def fso_lower_bound(w, b, p_xy, q_r, q, dh):
    """The FSO surrogate evaluated at positions q (numpy; for tests), Mbit/s."""
    d_r = np.sqrt(np.sum((q_r - p_xy) ** 2, axis=-1) + dh ** 2)
    g, dg = fso_surrogate(w, b, d_r)
    return g + dg * (np.sqrt(np.sum((q - p_xy) ** 2, axis=-1) + dh ** 2) - d_r)


def energy_upper_bound(w: M.World, v, a, t, wv):
    """Ē_k of §5.5 for one UAV: v (N+1, 2), a (N, 2), speed slack t (N,), epigraph w (N,), J."""
    inst = w.inst
    speed = np.linalg.norm(v[:-1], axis=1)
    return float(np.sum(inst.dt_s * (inst.c1 * speed ** 3 + inst.c2 / t + inst.c2 / inst.gravity ** 2 * wv))
                 + 0.5 * inst.uav_mass_kg * (np.sum(v[-1] ** 2) - np.sum(v[0] ** 2)))


@dataclass
class Subproblem:
    problem: object
    dq: list
    vel: list
    acc: list
    info: dict = field(default_factory=dict)


def build_subproblem(w: M.World, it: Iterate, eta: float, omega_r: float, trust_km: float) -> Subproblem:
    """The convex trajectory subproblem of §5.5 around `it` with its association and link types fixed."""
    import cvxpy as cp

    inst = w.inst
    N, K, dt = w.N, w.K, inst.dt_s
    q_r, v_r = it.traj.q, it.traj.v                                   # (N+1, K, 2)
    B = inst.bandwidth_hz
    dh = inst.sat_altitude_km - inst.uav_altitude_km
    n_idx = np.arange(N)
    pr = M.path_rates(w, w.relay_points(q_r[:-1]), it.assoc1, it.assoc2)
    b1 = B / np.maximum(pr.m1, 1)
    b2 = B / np.maximum(pr.m2, 1)
    scale = N * dt * w.mu_r() / 1e6                                  # SAT-Ground episode volume, Mbit (D41)
    (x_lo, x_hi), (y_lo, y_hi) = inst.area_xy_km
    lo, hi = np.array([x_lo, y_lo]), np.array([x_hi, y_hi])
    cons, dqs, vels, accs = [], [], [], []
    throughput, energy = 0, 0
    for k in range(K):
        dq = cp.Variable((N + 1, 2))
        vel = cp.Variable((N + 1, 2))
        acc = cp.Variable((N, 2))
        t = cp.Variable(N)
        wv = cp.Variable(N, nonneg=True)
        rho = cp.Variable(N, nonneg=True)
        dqs.append(dq)
        vels.append(vel)
        accs.append(acc)
        qk, vk = q_r[:, k], v_r[:, k]
        cons += [dq[0] == 0, vel[0] == vk[0],
                 vel[1:] == vel[:-1] + acc * dt,
                 dq[1:] + qk[1:] == dq[:-1] + qk[:-1] + 1e-3 * (vel[:-1] * dt + 0.5 * dt * dt * acc),
                 cp.norm(acc, 2, axis=1) <= inst.a_max_mps2,
                 cp.norm(vel[1:], 2, axis=1) <= inst.v_max_mps,
                 t >= inst.v_min_mps,
                 t[0] == float(np.linalg.norm(vk[0])),
                 cp.square(t[1:]) <= -np.sum(vk[1:N] ** 2, axis=1) + 2 * cp.sum(cp.multiply(vk[1:N], vel[1:N]), axis=1),
                 cp.SOC(wv + t, cp.vstack([2 * acc[:, 0], 2 * acc[:, 1], wv - t]), axis=0),
                 dq + qk >= lo, dq + qk <= hi,
                 cp.norm(dq, 2, axis=1) <= trust_km]
        # rates: ground hops are constants, UAV hops their surrogates of the selected link type (Mbit/s)
        hops = w.hops
        for h, hop in enumerate(hops):
            cap = pr.caps[:, k, h] / 1e6
            if hop in ("S1", "2D"):
                cons.append(rho <= cap)
                continue
            if hop == "1U":
                sat = w.sat_xyz[0][n_idx, it.assoc1[:, k]]
                bb = b1[:, k]
            else:                                                      # "U2"
                sat = w.sat_xyz[1][n_idx, it.assoc2[:, k]]
                bb = b2[:, k]
            cons.append(rho <= _hop_bound(cp, w, bb, sat[:, :2], qk[:-1], dq[:-1], dh, pr.fso[:, k, h]))
        throughput = throughput + cp.sum(rho) * dt
        energy = energy + dt * (inst.c1 * cp.sum(cp.power(cp.norm(vel[:-1], 2, axis=1), 3))
                                + inst.c2 * cp.sum(cp.inv_pos(t)) + inst.c2 / inst.gravity ** 2 * cp.sum(wv)) \
            + 0.5 * inst.uav_mass_kg * (cp.sum_squares(vel[N]) - float(np.sum(vk[0] ** 2)))
    for k in range(K):
        for kk in range(k + 1, K):
            cons.append(cp.norm(dqs[k] + q_r[:, k] - dqs[kk] - q_r[:, kk], 2, axis=1) <= w.d_max)
    eta_mbit_per_kj = 1e-3 * eta
    objective = (omega_r * throughput - eta_mbit_per_kj * energy / 1000.0) / scale
    problem = cp.Problem(cp.Maximize(objective), cons)
    return Subproblem(problem, dqs, vels, accs, info={"scale_mbit": scale})


def _hop_bound(cp, w, b, p_xy, q_r, dq, dh, is_fso):
    """Concave lower bound (Mbit/s, (N,)) of one UAV hop: the RF or FSO tangent per slot (types fixed)."""
    d_r_xy = q_r - p_xy
    rf_rate, slope = rf_surrogate(w, b, d_r_xy, dh)
    rf = rf_rate - cp.multiply(slope, 2 * cp.sum(cp.multiply(d_r_xy, dq), axis=1) + cp.sum(cp.square(dq), axis=1))
    if not np.any(is_fso):
        return rf
    d_r = np.sqrt(np.sum(d_r_xy ** 2, axis=1) + dh ** 2)
    g, dg = fso_surrogate(w, b, d_r)
    dist = cp.norm(cp.hstack([d_r_xy + dq, np.full((len(b), 1), dh)]), 2, axis=1)
    fso = g + cp.multiply(dg, dist - d_r)
    if np.all(is_fso):
        return fso
    mask = is_fso.astype(float)
    # per slot exactly one of the two surrogates (a constant 0/1 mask keeps the expression concave)
    return cp.multiply(mask, fso) + cp.multiply(1.0 - mask, rf)


# --------------------------------------------------------------------------------------------- the method
def _omega_eta(objective: str, eta: float) -> tuple[float, float]:
    if objective == "rate":
        return 1.0, 0.0
    if objective == "energy":
        return 0.0, 1.0
    return 1.0, eta


def sca_dinkelbach(inst, *, objective: str = "ee", caps=(5, 2, 6), trust_region_km: float = 50.0,
                   time_limit: float | None = 900.0):
    """Run the method; returns (best Iterate, info dict)."""
    import cvxpy as cp

    w = M.world(inst)
    started = time.perf_counter()
    n_dink, n_bcd, n_sca = caps
    best = make_iterate(w, M.loiter_accels(w))                        # static-loiter start (§7.11)
    start_ee = best.ee
    eta = best.ee if objective == "ee" else 0.0
    history = {"eta": [], "F": [], "accepted_ee": [start_ee], "solve_status": []}
    counts = {"dinkelbach": 0, "bcd": 0, "sca": 0, "solves": 0, "rejected": 0, "solver_failures": 0}
    timed_out = False

    def out_of_time() -> bool:
        return time_limit is not None and time.perf_counter() - started > time_limit

    for outer in range(n_dink):
        counts["dinkelbach"] += 1
        omega_r, eta_t = _omega_eta(objective, eta)
        history["eta"].append(eta_t)
        x = best                                                       # warm start (D41)
        current = x.value(omega_r, eta_t)
        for _ in range(n_bcd):
            counts["bcd"] += 1
            before = current
            # (a) the association is exact for x's trajectory already (make_iterate); (b) the trajectory by SCA
            radius = trust_region_km
            for _ in range(n_sca):
                if out_of_time():
                    timed_out = True
                    break
                counts["sca"] += 1
                sub = build_subproblem(w, x, eta_t, omega_r, radius)
                counts["solves"] += 1
                status = "error"
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)     # backend choice, inaccurate notes
                        sub.problem.solve(solver=cp.CLARABEL)
                    status = str(sub.problem.status)
                except (cp.error.SolverError, ValueError, ArithmeticError) as exc:
                    status = f"solver_error: {type(exc).__name__}"
                    counts["solver_failures"] += 1
                history["solve_status"].append(status)
                candidate = None
                if sub.acc[0].value is not None and all(a.value is not None for a in sub.acc):
                    accel = np.stack([a.value for a in sub.acc], axis=1)
                    if np.all(np.isfinite(accel)):
                        candidate = make_iterate(w, accel)
                value = candidate.value(omega_r, eta_t) if candidate is not None else -math.inf
                ok = candidate is not None and value >= current and candidate.n_dist <= x.n_dist
                if not ok:
                    counts["rejected"] += 1
                    radius /= 2.0
                    if radius < 0.5:
                        break
                    continue
                gain = (value - current) / max(abs(current), 1e-12 * max(1.0, abs(x.r_tot)))
                x, current = candidate, value
                if gain < 1e-4:
                    break
            if timed_out or abs(current - before) <= 1e-4 * max(abs(before), 1.0):
                break
        F = x.value(omega_r, eta_t)
        history["F"].append(F)
        if objective == "ee":
            if x.ee >= best.ee:
                best = x
                history["accepted_ee"].append(best.ee)
            eta = best.ee
            if F <= 1e-3 * x.r_tot or timed_out:
                break
        else:
            if x.value(omega_r, eta_t) >= best.value(omega_r, eta_t):
                best = x
            break                                                      # η fixed: one weighted problem
        if timed_out:
            break
    info = {"iterations": counts, "eta_history": history["eta"], "F_history": history["F"],
            "accepted_ee_kbit_per_j": [e / 1000.0 for e in history["accepted_ee"]],
            "solve_status": history["solve_status"], "timed_out": timed_out, "objective_mode": objective,
            "start_ee_kbit_per_j": start_ee / 1000.0, "caps": list(caps)}
    return best, info


def _caps(budget: str, dinkelbach_iters, bcd_rounds, sca_iters):
    d, b, s = CAPS[budget]
    return (dinkelbach_iters or d, bcd_rounds or b, sca_iters or s)


def solve_sca_dinkelbach(inst, *, seed: int = 0, time_limit: float | None = 900.0, objective: str = "ee",
                         budget: str = "paper", dinkelbach_iters: int | None = None, bcd_rounds: int | None = None,
                         sca_iters: int | None = None, trust_region_km: float = 50.0) -> Solution:
    """Dinkelbach + BCD + SCA (§7.11) with continuous accelerations. objective: ee (Dinkelbach on EE), rate (η = 0)
    or energy (throughput dropped). budget sizes the caps (check 1×1×2, smoke 2×1×3, else 5×2×6) unless given."""
    return _solve(inst, "sca-dinkelbach", False, time_limit, objective, _caps(budget, dinkelbach_iters, bcd_rounds,
                                                                           sca_iters), trust_region_km)


def solve_sca_dinkelbach_discrete(inst, *, seed: int = 0, time_limit: float | None = 900.0, objective: str = "ee",
                                  budget: str = "paper", dinkelbach_iters: int | None = None,
                                  bcd_rounds: int | None = None, sca_iters: int | None = None,
                                  trust_region_km: float = 50.0) -> Solution:
    """sca-dinkelbach, then the closed-loop projection of its motion onto the discrete set 𝒜 (§5.5) and exact
    association on the realized trajectory."""
    return _solve(inst, "sca-dinkelbach-discrete", True, time_limit, objective,
                  _caps(budget, dinkelbach_iters, bcd_rounds, sca_iters), trust_region_km)


def project_discrete(w: M.World, ref: M.Trajectory) -> np.ndarray:
    """a[n] = argmin_{a ∈ 𝒜} ‖(q[n+1](a) − q*[n+1])·1000/δt‖² + ‖v[n+1](a) − v*[n+1]‖² in closed loop (ties: lowest
    index); returns (N, K, 2)."""
    N, K, dt = w.N, w.K, w.inst.dt_s
    A = w.accels
    q, v = w.q0.copy(), w.v0.copy()
    accel = np.zeros((N, K, 2))
    for n in range(N):
        a = np.broadcast_to(A[:, None, :], (len(A), K, 2))
        r = w.step(np.broadcast_to(q, a.shape), np.broadcast_to(v, a.shape), a)
        cost = np.sum(((r.q - ref.q[n + 1]) * 1000.0 / dt) ** 2, axis=-1) + np.sum((r.v - ref.v[n + 1]) ** 2, axis=-1)
        pick = np.argmin(cost, axis=0)                                  # (K,)
        accel[n] = A[pick]
        step = w.step(q, v, accel[n])
        q, v = step.q, step.v
    return accel


def _solve(inst, method, discrete, time_limit, objective, caps, trust_region_km) -> Solution:
    start = time.perf_counter()
    w = M.world(inst)
    if not inst.has_uav_between_lanes:
        empty = -np.ones((w.N, w.K))
        return Solution(FAMILY, method, Status.ERROR, decisions_of(w, empty, empty),
                        runtime_s=time.perf_counter() - start,
                        info={"message": "sca-dinkelbach needs UAV relays on template S-L1-R-L2-D"})
    best, info = sca_dinkelbach(inst, objective=objective, caps=caps, trust_region_km=trust_region_km,
                                time_limit=time_limit)
    accel = best.accel
    a1, a2 = best.assoc1, best.assoc2
    if discrete:
        accel = project_discrete(w, best.traj)
        final = make_iterate(w, accel)
        a1, a2 = final.assoc1, final.assoc2
        info["continuous_ee_kbit_per_j"] = best.ee / 1000.0
        best = final
    status = Status.TIME_LIMIT if info["timed_out"] else Status.FEASIBLE
    return Solution(FAMILY, method, status, decisions_of(w, a1, a2, accel), objective=best.ee / 1000.0,
                    runtime_s=time.perf_counter() - start, info=info)
