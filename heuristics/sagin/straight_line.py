"""`sl` baseline of `sagin` (§7.3): straight-line flight with max-RSRP association.

Section (§), equation (E) and decision (D) numbers refer to docs/families/sagin.md.

Every step flies the direction v(n) = x̂(n) toward q_f at speed V through the common simulator (E24-E25: step Δs,
arrival check after every step including q(0), final straight segment to q_f served by the BS of the step that
triggered arrival). Association for step n+1: b(n+1) = argmax_b RSRP_b(q(n), t_n) (E22, exact backend) over the
BSs available at t_n (unavailable satellites have RSRP −∞), re-chosen every step, no hysteresis; b(1) is decided at
q^0. Ties go to the lower BS index. Needs RSRP measurements only (knowledge "online"); no training, no randomness.
"""
from __future__ import annotations

import time

import numpy as np

from optkit.formulations.sagin.evaluator import Decisions
from optkit.formulations.sagin.mobility import arrived, final_segment_needed, move, project_direction, toward
from optkit.formulations.sagin.radio import radio_model
from optkit.solution import Solution, Status

FAMILY = "sagin"
METHOD = "sl"


def straight_line_paths(inst, starts: np.ndarray) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Simulate the straight-line policy (E24-E25) for starts (N, 3) m, all UAVs synchronously.

    Returns positions: list of N arrays (L_u+1, 3) m (q(0) first; q(L_u) = q_f when arrived), the direction
    projection counts and the boundary-event counts (N,) int (both always 0 for v = x̂ in a box that holds q^0 and
    q_f, kept as the simulator's record)."""
    q_f = np.asarray(inst.uav_destination, dtype=float)
    box = inst.airspace_box
    ds, radius, eps = float(inst.uav_step_length), float(inst.uav_arrival_radius), float(inst.uav_direction_margin)
    q = np.array(starts, dtype=float).reshape(-1, 3)
    n = q.shape[0]
    tracks = [[q[u].copy()] for u in range(n)]
    proj_count = np.zeros(n, dtype=np.int64)
    out_count = np.zeros(n, dtype=np.int64)
    active = np.ones(n, dtype=bool)

    def finish(mask):
        for u in np.flatnonzero(mask):
            if final_segment_needed(q[u][None], q_f)[0]:              # E25: final straight segment to q_f
                tracks[u].append(q_f.copy())
        active[mask] = False

    finish(active & arrived(q, q_f, radius))                          # start inside the arrival radius
    for _ in range(int(inst.uav_max_steps)):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        v, proj = project_direction(toward(q[idx], q_f), q[idx], q_f, eps)   # E24 steps 2-3 with a = x̂
        q[idx], out, _ = move(q[idx], v, ds, box)                             # E24 step 4 (D47)
        proj_count[idx] += proj
        out_count[idx] += out
        for u in idx:
            tracks[u].append(q[u].copy())
        hit = np.zeros(n, dtype=bool)
        hit[idx] = arrived(q[idx], q_f, radius)
        finish(hit)
    return [np.asarray(t) for t in tracks], proj_count, out_count


def max_rsrp_serving(inst, positions: np.ndarray) -> np.ndarray:
    """§7.3 association of one rollout: serving (L,) int64 with serving[n] = b(n+1) = argmax_b RSRP_b(q(n), t_n)
    for n = 0..L−1, except that the final arrival segment (E25, shorter than Δs after a step) keeps the BS of the
    step that triggered arrival. positions (L+1, 3) m; t_n = Σ_{k≤n} τ_k (E26)."""
    p = np.asarray(positions, dtype=float)
    L = p.shape[0] - 1
    if L == 0:
        return np.zeros(0, dtype=np.int64)
    tau = np.linalg.norm(np.diff(p, axis=0), axis=1) / float(inst.uav_speed)
    t = np.concatenate([[0.0], np.cumsum(tau)])[:-1]                          # t_n of the step start q(n)
    rsrp = radio_model(inst).links(p[:-1], t).rsrp_dbm                        # (L, B) dBm, −inf unavailable (E22)
    serving = np.argmax(rsrp, axis=1).astype(np.int64)
    q_f = np.asarray(inst.uav_destination, dtype=float)
    if L >= 2 and np.linalg.norm(p[-1] - q_f) <= 1e-9 \
            and np.linalg.norm(p[-2] - q_f) <= float(inst.uav_arrival_radius):
        serving[-1] = serving[-2]                                             # E25: final segment, no decision
    return serving


def solve_sl(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """`sl` on every test UAV (starts_test order). Deterministic: `seed` is recorded only; `time_limit` is accepted
    for the common interface and unused (one RSRP evaluation per step). Decisions: evaluator `Decisions`."""
    t0 = time.perf_counter()
    paths, proj, out = straight_line_paths(inst, np.asarray(inst.starts_test, dtype=float))
    serving = tuple(max_rsrp_serving(inst, p) for p in paths)
    runtime = time.perf_counter() - t0
    return Solution(family=FAMILY, method=METHOD, status=Status.FEASIBLE,
                    decisions=Decisions(tuple(paths), serving, proj, out), runtime_s=runtime,
                    info={"method_seed": seed, "knowledge": "online", "association": "max-rsrp",
                          "steps": [int(p.shape[0] - 1) for p in paths]})
