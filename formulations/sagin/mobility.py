"""Mobility, arrival, time and switches (§4.7, E24-E27) and learner rewards/costs (§4.8, E28-E30).

Pure functions, vectorized over UAVs: positions (N, 3) m, directions (N, 3), rates in Mbit/s.
"""
from __future__ import annotations

import numpy as np

ZERO_ACTION = 1e-6          # E24 step 2: ‖a‖ below it means "fly toward q_f"
MIN_FINAL_SEGMENT = 1e-9    # E25: final segments shorter than this (m) are omitted


def toward(q: np.ndarray, q_f) -> np.ndarray:
    """x̂ (N, 3): unit vectors from q (N, 3) toward q_f (zero where q == q_f)."""
    d = np.asarray(q_f, dtype=float) - np.asarray(q, dtype=float)
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    return np.divide(d, n, out=np.zeros_like(d), where=n > 0)


def project_direction(a: np.ndarray, q: np.ndarray, q_f, eps_dir: float):
    """E24 steps 2-3: unit directions v (N, 3) and the projection events (N,) bool for proposals a (N, 3)."""
    a = np.asarray(a, dtype=float)
    xh = toward(q, q_f)
    na = np.linalg.norm(a, axis=-1, keepdims=True)
    v = np.where(na < ZERO_ACTION, xh, a / np.maximum(na, ZERO_ACTION))
    dot = (v * xh).sum(-1)
    proj = dot < eps_dir
    w = v + (eps_dir - dot)[:, None] * xh
    w = w / np.linalg.norm(w, axis=-1, keepdims=True)
    return np.where(proj[:, None], w, v), proj


def move(q: np.ndarray, v: np.ndarray, step_length: float, box: np.ndarray):
    """E24 step 4 (D47): candidate p = q + Δs v; a p_z below the floor z_min is projected onto it (a floor
    projection, not a boundary event); out = 1[projected p ∉ box] (x, y or the ceiling); q(n+1) = clip(p, q_L, q_U).
    box (2, 3). Returns (q(n+1) (N, 3), out (N,) bool, floor (N,) bool)."""
    p = np.asarray(q, dtype=float) + step_length * np.asarray(v, dtype=float)
    floor = p[..., 2] < box[0, 2]
    p[..., 2] = np.maximum(p[..., 2], box[0, 2])
    out = np.any((p < box[0]) | (p > box[1]), axis=-1)
    return np.clip(p, box[0], box[1]), out, floor


def arrived(q: np.ndarray, q_f, radius: float) -> np.ndarray:
    """E25: (N,) bool, ‖q − q_f‖ <= arrival radius (triggers the final straight segment to q_f)."""
    return np.linalg.norm(np.asarray(q, dtype=float) - np.asarray(q_f, dtype=float), axis=-1) <= radius


def final_segment_needed(q: np.ndarray, q_f) -> np.ndarray:
    """E25: (N,) bool, the final segment q -> q_f is recorded (length >= 1e-9 m)."""
    return np.linalg.norm(np.asarray(q, dtype=float) - np.asarray(q_f, dtype=float), axis=-1) >= MIN_FINAL_SEGMENT


def step_durations(path: np.ndarray, speed: float):
    """E26: durations τ_n (..., L) s and mission times t_n (..., L) s of a path (..., L+1, 3) (q(0) first)."""
    tau = np.linalg.norm(np.diff(np.asarray(path, dtype=float), axis=-2), axis=-1) / speed
    return tau, np.cumsum(tau, axis=-1)


def count_switches(serving: np.ndarray) -> np.ndarray:
    """E27: N_u = Σ_{n>=2} 1[b(n) != b(n-1)] for serving BSs (..., L) -> (...,) int."""
    b = np.asarray(serving)
    return (b[..., 1:] != b[..., :-1]).sum(axis=-1)


# --- rewards and costs (E28-E30) -------------------------------------------------------------------------------
def rate_reward(rate, r_min: float, r_max: float):
    """E28: r^R = clip((R − R_min^E)/(R_max^E − R_min^E), 0, 1)."""
    return np.clip((np.asarray(rate, dtype=float) - r_min) / (r_max - r_min), 0.0, 1.0)


def top_reward(r_rate, switched, w_r: float, w_m: float):
    """E28: r^top = w_R r^R + w_M r^M with r^M = −1[b(n+1) != b(n)]."""
    return w_r * np.asarray(r_rate, dtype=float) - w_m * np.asarray(switched, dtype=float)


def lower_reward(r_rate, d_next, d0, w_r: float, w_g: float, shift: bool, arrived=False, w_a: float = 0.0):
    """E28: r^low = w_R r^R + w_G (d_0 − d_{n+1})/d_0, minus (w_R + w_G) when `shift` (then <= 0 off arrival),
    plus the arrival bonus w_A at the step that triggers arrival (`arrived` (N,) bool, D49)."""
    r = w_r * np.asarray(r_rate, dtype=float) + w_g * (np.asarray(d0, dtype=float) - d_next) / d0
    r = r - (w_r + w_g) if shift else r
    return r + w_a * np.asarray(arrived, dtype=float)


def costs(rate, out, r_req: float, eta_bnd: float):
    """E29: (g^qos, g^bnd): (R_req − R)/R_req (0 when R_req = 0) and η_bnd · 1[out]; positive = violation."""
    rate = np.asarray(rate, dtype=float)
    g_qos = (r_req - rate) / r_req if r_req > 0 else np.zeros_like(rate)
    return g_qos, eta_bnd * np.asarray(out, dtype=float)


def fail_penalty(fail_rule, lam, r_max: float) -> float:
    """λ_fail of E30 (D49): λ1·R_max^E for the rule "rate_max", else the given number (0 = the paper's J)."""
    return float(lam[0]) * float(r_max) if isinstance(fail_rule, str) else float(fail_rule)


def objective(rates, tau, n_switches, flight_time, lam):
    """E30 without the failure penalty (J_paper): J = λ1 R̄ − λ2 N − λ3 T with R̄ = Σ τ_n R_n / Σ τ_n; rates, tau
    (..., L); returns (J, R̄)."""
    tau = np.asarray(tau, dtype=float)
    r_bar = (tau * rates).sum(-1) / tau.sum(-1)
    return lam[0] * r_bar - lam[1] * np.asarray(n_switches) - lam[2] * np.asarray(flight_time), r_bar
