"""The formulations of `sagin` (§5): P0, P1, P2 in words and as the per-UAV functions the evaluator uses,
and the lattice restriction P2-L (§5.4) as data built from an instance.

P0 (§5.1, continuous time; not solved directly). Variables q_u(t) ∈ ℝ³, b_u(t) ∈ {1..B_tot}, T_u > 0;
    maximise Σ_u { λ1 (1/T_u) ∫_0^{T_u} R_{b_u(t)}(q_u(t), t) dt − λ2 N_u − λ3 T_u }            (C0)
    s.t. (C1) b_u(t) ∈ B; (C2) mean rate ≥ R_req; (C3) q_u(0) = q_u^0, q_u(T_u) = q_f; (C4) q_L ≤ q_u(t) ≤ q_U;
    (C5) q̇_u(t)·(q_f − q_u(t)) > 0; (C6) ‖q̇_u(t)‖ ≤ V_max.
P1 (§5.2): P0 with (C6) replaced by q̇_u = V_max v_u, ‖v_u‖ = 1 (fixed speed; a continuous-time MINLP).
P2 (§5.3, the problem every method addresses): per UAV, positions q(0..L), unit directions v(0..L−1), serving BSs
    b(1..L), L ≤ N_max;  maximise λ1 R̄ − λ2 N − λ3 T  (E30), R̄ = Σ τ_n R_n / Σ τ_n, N (E27), T = Σ τ_n (E26),
    s.t. (P2-1) q(n+1) = q(n) + Δs v(n); (P2-2) ‖v(n)‖ = 1; (P2-3) v(n)·x̂(n) > 0; (P2-4) q_L ≤ q(n) ≤ q_U;
    (P2-5) q(0) = q^0, q(L) = q_f; (P2-6) R̄ ≥ R_req; (P2-7) b(n) ∈ B. UAVs are independent (separable sum).
    `step_lengths`, `direction_products`, `outside_box`, `time_weighted_rate`, `qos_slack` and `p2_objective`
    below are these objective/constraint terms on one recorded path; the evaluator (§6) is their only caller
    that produces metrics.
P2-L (§5.4): P2 restricted to lattice moves of L(h) at speed V with move durations quantised to ticks
    δ = h/(κ0 V). `build_lattice` gives the nodes, admissible moves and tick durations, `gain_table` the move
    gains g_b(q, m, t) (Mbit) in "segment" or "node" mode, `p2l_value` / `p2l_feasible` the objective and QoS
    rule of a lattice path. q_f is absorbing (no admissible move leaves it): a path arrives when it reaches q_f.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from optkit.errors import InputError, ValidationError
from optkit.formulations.sagin.radio import radio_model

POS_TOL = 1e-6                   # m, tolerance of the position checks of §6.2
MOVES = np.array([m for m in itertools.product((-1, 0, 1), repeat=3) if any(m)], dtype=np.int64)   # (26, 3)


# --------------------------------------------------------------------------------------------- P2 on one path
def step_lengths(positions: np.ndarray) -> np.ndarray:
    """‖q(n) − q(n−1)‖ (L,) m of a path (L+1, 3) m (P2-1 with the shorter final segment of E25)."""
    return np.linalg.norm(np.diff(np.asarray(positions, dtype=float), axis=0), axis=1)


def direction_products(positions: np.ndarray, q_f) -> np.ndarray:
    """(q(n+1) − q(n))·(q_f − q(n)) (L,) m² of a path (L+1, 3); P2-3 / §6.2-3 require every entry > 0."""
    p = np.asarray(positions, dtype=float)
    return (np.diff(p, axis=0) * (np.asarray(q_f, dtype=float) - p[:-1])).sum(axis=1)


def outside_box(positions: np.ndarray, box: np.ndarray, tol: float = POS_TOL) -> np.ndarray:
    """(L+1,) bool: position outside [q_L − tol, q_U + tol] (P2-4); box (2, 3) rows q_L, q_U (m)."""
    p = np.asarray(positions, dtype=float)
    return np.any((p < box[0] - tol) | (p > box[1] + tol), axis=1)


def time_weighted_rate(rates: np.ndarray, tau: np.ndarray) -> float:
    """R̄ = Σ τ_n R_n / Σ τ_n (Mbit/s) for rates (L,) Mbit/s and durations (L,) s (E30, P2 objective); 0 when
    Σ τ = 0 (no step flown)."""
    tau = np.asarray(tau, dtype=float)
    total = float(tau.sum())
    return float((tau * np.asarray(rates, dtype=float)).sum() / total) if total > 0 else 0.0


def qos_slack(r_bar: float, r_req: float) -> float:
    """R̄ − R_req (Mbit/s); P2-6 holds iff ≥ 0."""
    return float(r_bar) - float(r_req)


def p2_objective(r_bar: float, n_switches: float, flight_time: float, lam) -> float:
    """E30 / P2 objective of one UAV: J = λ1 R̄ − λ2 N − λ3 T (λ in 1/(Mbit/s), 1/switch, 1/s)."""
    return float(lam[0] * r_bar - lam[1] * n_switches - lam[2] * flight_time)


# --------------------------------------------------------------------------------------------------- P2-L (§5.4)
@dataclass(frozen=True)
class Lattice:
    """L(h) = {q_f + h(i, j, k)} ∩ [q_L, q_U] restricted to the altitude levels `ref_z_levels` (§5.4).

    nodes (V, 3) m; offsets (V, 3) int p = (q − q_f)/h; dest: index of q_f; succ (V, 26) int: node reached by
    move MOVES[m], −1 where m is not admissible (end outside the lattice, or −p·m < ‖m‖², §5.4 / check 30);
    pred (V, 26) int: node q − h·MOVES[m] (−1 outside); kappa (26,) int ticks κ(m) = round(κ0 ‖m‖);
    n_sub (26,) int sub-steps n_m = round(h‖m‖/Δs) of the segment gains; delta = h/(κ0 V) s; K = ⌊N_max Δt/δ⌋.
    """

    h: float
    kappa0: int
    delta: float
    K: int
    q_f: np.ndarray
    nodes: np.ndarray
    offsets: np.ndarray
    dest: int
    succ: np.ndarray
    pred: np.ndarray
    kappa: np.ndarray
    n_sub: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.nodes.shape[0])

    def node_index(self, q) -> int:
        """Index of the node nearest to q (3,) m (the start snapping of §5.4)."""
        d = np.linalg.norm(self.nodes - np.asarray(q, dtype=float), axis=1)
        return int(np.argmin(d))


def build_lattice(inst) -> Lattice:
    """The P2-L lattice of an instance (§5.4). Raises ValidationError (field `ref_z_levels`) when a level is not
    on L(h) or q_f's altitude is not a level."""
    h, k0 = float(inst.ref_h), int(inst.ref_kappa0)
    q_f = np.asarray(inst.uav_destination, dtype=float)
    box = inst.airspace_box
    levels = np.asarray(inst.ref_z_levels, dtype=float)
    kz = (levels - q_f[2]) / h
    if np.any(np.abs(kz - np.round(kz)) > 1e-9):
        raise ValidationError("ref_z_levels", f"every level must be q_f.z + k·h (h = {h} m)")
    if not np.any(np.abs(levels - q_f[2]) < 1e-9):
        raise ValidationError("ref_z_levels", "must contain the destination altitude")
    lo = np.ceil((box[0] - q_f) / h - 1e-9).astype(np.int64)
    hi = np.floor((box[1] - q_f) / h + 1e-9).astype(np.int64)
    kz = np.unique(np.round(kz).astype(np.int64))
    kz = kz[(kz >= lo[2]) & (kz <= hi[2])]
    ax = [np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), kz]
    offsets = np.stack(np.meshgrid(*ax, indexing="ij"), axis=-1).reshape(-1, 3)
    nodes = q_f + h * offsets
    index = {tuple(p): i for i, p in enumerate(offsets.tolist())}
    n = offsets.shape[0]
    succ = np.full((n, len(MOVES)), -1, dtype=np.int64)
    pred = np.full((n, len(MOVES)), -1, dtype=np.int64)
    norm2 = (MOVES ** 2).sum(axis=1)
    for i, p in enumerate(offsets.tolist()):
        for m, mv in enumerate(MOVES.tolist()):
            end = index.get((p[0] + mv[0], p[1] + mv[1], p[2] + mv[2]))
            start = index.get((p[0] - mv[0], p[1] - mv[1], p[2] - mv[2]))
            if end is not None and -(p[0] * mv[0] + p[1] * mv[1] + p[2] * mv[2]) >= norm2[m]:   # −p·m ≥ ‖m‖²
                succ[i, m] = end
            if start is not None:
                pred[i, m] = start
    length = np.sqrt(norm2)
    delta = h / (k0 * inst.uav_speed)                                                  # δ = h/(κ0 V)
    K = int(math.floor(inst.uav_max_steps * inst.step_duration / delta + 1e-9))        # K = ⌊N_max Δt/δ⌋
    return Lattice(h=h, kappa0=k0, delta=delta, K=K, q_f=q_f, nodes=nodes, offsets=offsets,
                   dest=index[(0, 0, 0)], succ=succ, pred=pred,
                   kappa=np.round(k0 * length).astype(np.int64),                        # κ(m) = round(κ0‖m‖)
                   n_sub=np.maximum(np.round(h * length / inst.uav_step_length), 1).astype(np.int64))


@dataclass(frozen=True)
class GainTable:
    """Move gains g_b(q, m, t) (Mbit) of §5.4 for one lattice and gain mode.

    terr (V, 26, n_t): GN/AN gains (time-independent), sat (V, 26, K+1, S): SN gains of a move started at tick t
    (0 where t + κ(m) > K or m is inadmissible). `at(t)` gives the full table (V, 26, B) of tick t in BS order.
    """

    mode: str
    terr: np.ndarray
    sat: np.ndarray

    @property
    def n_bs(self) -> int:
        return self.terr.shape[2] + self.sat.shape[3]

    def at(self, t: int) -> np.ndarray:
        return np.concatenate([self.terr, self.sat[:, :, t, :]], axis=2)

    def arc(self, v: int, m: int, t: int) -> np.ndarray:
        """g_b(q_v, m, t) for every BS (B,) Mbit."""
        return np.concatenate([self.terr[v, m], self.sat[v, m, t]])


def gain_table(inst, lattice: Lattice, mode: str | None = None) -> GainTable:
    """The move gains of §5.4 with the exact rate backend; mode "segment" (default of the instance's
    `ref_gain_mode`) or "node". Segment: GN/AN rates at the n_m sub-step end points q + (k/n_m) h m, SN rates of the
    head node linearly interpolated in time between ticks; node: head-node rate at the arrival tick held κ(m)δ."""
    mode = inst.ref_gain_mode if mode is None else mode
    if mode not in ("segment", "node"):
        raise InputError(f"mode: must be 'segment' or 'node' (got {mode!r})")
    model = radio_model(inst)
    lat = lattice
    V, M, K, dt = lat.n_nodes, len(MOVES), lat.K, lat.delta
    adm = lat.succ >= 0
    terr = np.zeros((V, M, model.n_t))
    if model.n_t:
        if mode == "node":
            node_rates = model.terrestrial_rates(lat.nodes)                          # (V, n_t)
            for m in range(M):
                v = np.flatnonzero(adm[:, m])
                terr[v, m] = node_rates[lat.succ[v, m]] * lat.kappa[m] * dt
        else:
            for m in range(M):
                v = np.flatnonzero(adm[:, m])
                if v.size == 0:
                    continue
                n = int(lat.n_sub[m])
                frac = np.arange(1, n + 1) / n
                pts = lat.nodes[v, None, :] + frac[None, :, None] * (lat.h * MOVES[m])[None, None, :]
                r = model.terrestrial_rates(pts.reshape(-1, 3)).reshape(v.size, n, model.n_t)
                terr[v, m] = r.mean(axis=1) * lat.kappa[m] * dt                     # (κδ/n_m) Σ_k R_b
    sat = np.zeros((V, M, K + 1, model.n_s))
    if model.n_s:
        ticks = np.arange(K + 2)
        pts = np.repeat(lat.nodes, K + 2, axis=0)
        s_rate = model.satellite_rates(pts, np.tile(ticks * dt, V)).reshape(V, K + 2, model.n_s)   # ρ_b(q, t)
        for m in range(M):
            v = np.flatnonzero(adm[:, m])
            kap = int(lat.kappa[m])
            if v.size == 0 or kap > K:
                continue
            head = s_rate[lat.succ[v, m]]                                             # (n, K+2, S)
            n_t0 = K + 1 - kap                                                        # start ticks 0..K−κ
            if mode == "node":
                sat[v, m, :n_t0] = head[:, kap:kap + n_t0] * kap * dt
                continue
            n = int(lat.n_sub[m])
            pos = np.arange(1, n + 1) * kap / n                                       # tick offsets k κ / n_m
            fl = np.floor(pos + 1e-12).astype(np.int64)
            w = pos - fl
            coef = np.zeros(kap + 2)
            np.add.at(coef, fl, 1.0 - w)
            np.add.at(coef, fl + 1, w)
            acc = np.zeros((v.size, n_t0, model.n_s))
            for o in np.flatnonzero(coef):
                acc += coef[o] * head[:, o:o + n_t0]
            sat[v, m, :n_t0] = acc * kap * dt / n
    return GainTable(mode=mode, terr=terr, sat=sat)


def p2l_value(A, H, t_f, delta: float, lam):
    """P2-L objective J = λ1 A/(t_f δ) − λ2 H − λ3 t_f δ for accumulated rate-time A (Mbit), switches H and
    arrival tick t_f ≥ 1 (§5.4). Broadcasts over arrays."""
    T = np.asarray(t_f, dtype=float) * delta
    return lam[0] * np.asarray(A, dtype=float) / T - lam[1] * np.asarray(H, dtype=float) - lam[2] * T


def p2l_feasible(A, t_f, r_req: float, delta: float, rtol: float = 1e-12):
    """QoS rule of P2-L: A ≥ R_req t_f δ (with a relative tolerance against rounding). Broadcasts."""
    need = r_req * np.asarray(t_f, dtype=float) * delta
    return np.asarray(A, dtype=float) >= need - rtol * np.maximum(np.abs(need), 1.0)


def path_value(gains: GainTable, lattice: Lattice, start: int, moves, bs):
    """(A Mbit, H, t_f ticks, end node) of the lattice path from node `start` flying MOVES[moves[i]] with BS bs[i]
    (raises InputError on an inadmissible move or a move past the horizon K)."""
    v, t, A = int(start), 0, 0.0
    for m, b in zip(moves, bs):
        m, b = int(m), int(b)
        if lattice.succ[v, m] < 0:
            raise InputError(f"moves: move {m} is not admissible at node {v}")
        if t + lattice.kappa[m] > lattice.K:
            raise InputError("moves: the path exceeds the horizon K")
        A += float(gains.arc(v, m, t)[b])
        t += int(lattice.kappa[m])
        v = int(lattice.succ[v, m])
    bs = np.asarray(bs)
    H = int(np.count_nonzero(bs[1:] != bs[:-1])) if bs.size else 0
    return A, H, t, v
