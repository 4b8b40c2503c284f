"""`lattice_dp` (§8.1): the exact dynamic programme of P2-L, vectorised over (node, BS, switch count).

Labels A[t, v, b, H] (float64, Mbit) = maximum accumulated rate-time of partial paths from (q^0, tick 0) reaching
node v at tick t with BS b on the last move and H switches; −inf when none. Back-pointers: move index and previous
BS (int8; −1 marks the first move). Shapes: V nodes, B BSs, K+1 ticks, H_max+1 switch counts.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optkit.errors import InputError
from optkit.formulations.sagin import formulation as F


@dataclass(frozen=True)
class LatticePath:
    """Result of one start. status: "optimal" (best QoS-feasible path, value = J*_L), "infeasible" (no arriving
    path meets QoS; the fields then describe the best-J arriving path, QoS violated, or are empty if none arrives) or
    "time_limit" (the deadline passed before this start was solved: no move, value NaN).
    start: node index; nodes (n+1,) int node indices; moves (n,) int indices into MOVES; bs (n,) int BS per move;
    waypoints (n+1, 3) m; A Mbit; H switches; t_f arrival tick; value J (NaN when no path arrives);
    h_capped: H_max below ⌊K/κ0⌋ − 1 (optimal only among paths with H ≤ H_max)."""

    status: str
    start: int
    nodes: np.ndarray
    moves: np.ndarray
    bs: np.ndarray
    waypoints: np.ndarray
    A: float
    H: int
    t_f: int
    value: float
    h_capped: bool


def default_h_max(lattice: F.Lattice) -> int:
    """⌊K/κ0⌋ − 1: the most switches any path can make (§8.1 step 5)."""
    return max(lattice.K // lattice.kappa0 - 1, 0)


def _forward(lat: F.Lattice, gains: F.GainTable, start: int, h_max: int, deadline=None):
    """Forward sweep (§8.1 steps 2-3): labels A (K+1, V, B, H) and back-pointers pm, pb (int8). With a
    `optkit.limits.Deadline`, raises TimeLimitReached between ticks once it has passed."""
    K, V, B, Hn = lat.K, lat.n_nodes, gains.n_bs, h_max + 1
    A = np.full((K + 1, V, B, Hn), -np.inf)
    pm = np.full((K + 1, V, B, Hn), -1, dtype=np.int8)
    pb = np.full((K + 1, V, B, Hn), -1, dtype=np.int8)
    for m in np.flatnonzero(lat.succ[start] >= 0):                      # step 2: first moves, no switch
        t2 = int(lat.kappa[m])
        if t2 <= K:
            v2 = lat.succ[start, m]
            A[t2, v2, :, 0] = gains.arc(start, m, 0)
            pm[t2, v2, :, 0] = m
    b_idx = np.arange(B)[None, :, None]
    not_dest = np.arange(V) != lat.dest
    for t in range(1, K + 1):                                           # step 3: ticks in topological order
        if deadline is not None:
            deadline.check()
        At = A[t]
        active = not_dest & np.isfinite(At).any(axis=(1, 2))
        if not active.any():
            continue
        # best and second-best previous BS at H − 1 (the max over b ≠ b' of a switching move)
        i1 = np.argmax(At, axis=1)                                      # (V, Hn)
        v1 = np.take_along_axis(At, i1[:, None, :], axis=1)[:, 0]
        masked = At.copy()
        np.put_along_axis(masked, i1[:, None, :], -np.inf, axis=1)
        i2 = np.argmax(masked, axis=1)
        v2 = np.take_along_axis(masked, i2[:, None, :], axis=1)[:, 0]
        own_best = b_idx == i1[:, None, :]                              # (V, B, Hn)
        sw_val = np.where(own_best, v2[:, None, :], v1[:, None, :])
        sw_arg = np.where(own_best, i2[:, None, :], i1[:, None, :])
        sw_val = np.concatenate([np.full((V, B, 1), -np.inf), sw_val[:, :, :-1]], axis=2)   # shift H−1 -> H
        sw_arg = np.concatenate([np.zeros((V, B, 1), dtype=sw_arg.dtype), sw_arg[:, :, :-1]], axis=2)
        g_t = gains.at(t)                                               # (V, 26, B)
        for m in range(len(F.MOVES)):
            t2 = t + int(lat.kappa[m])
            if t2 > K:
                continue
            src = np.flatnonzero(active & (lat.succ[:, m] >= 0))
            if src.size == 0:
                continue
            dst = lat.succ[src, m]
            g = g_t[src, m][:, :, None]
            stay = At[src] + g
            switch = sw_val[src] + g
            use_sw = switch > stay                                      # ties keep the BS (fewer switches)
            new = np.where(use_sw, switch, stay)
            prev_b = np.where(use_sw, sw_arg[src], b_idx)
            cur = A[t2, dst]
            better = new > cur
            A[t2, dst] = np.where(better, new, cur)
            pm[t2, dst] = np.where(better, m, pm[t2, dst])
            pb[t2, dst] = np.where(better, prev_b, pb[t2, dst])
    return A, pm, pb


def _backtrack(lat: F.Lattice, pm, pb, start: int, t: int, b: int, H: int):
    v, nodes, moves, bs = lat.dest, [lat.dest], [], []
    while True:
        m, prev = int(pm[t, v, b, H]), int(pb[t, v, b, H])
        moves.append(m)
        bs.append(b)
        v = int(lat.pred[v, m])
        t -= int(lat.kappa[m])
        nodes.append(v)
        if prev < 0:
            break
        if prev != b:
            H -= 1
        b = prev
    if v != start or t != 0:
        raise RuntimeError("lattice_dp: back-tracking did not return to the start (internal error)")
    return np.array(nodes[::-1]), np.array(moves[::-1]), np.array(bs[::-1])


def solve_start(inst, lat: F.Lattice, gains: F.GainTable, start: int, h_max: int | None = None,
                deadline=None) -> LatticePath:
    """Exact P2-L optimum for one start node (§8.1 steps 2-5); h_max defaults to the instance's `ref_h_max`.
    deadline: an optkit.limits.Deadline checked between ticks (TimeLimitReached once passed)."""
    if not 0 <= start < lat.n_nodes:
        raise InputError(f"start: node index {start} outside 0..{lat.n_nodes - 1}")
    if start == lat.dest:
        raise InputError("start: coincides with the destination node; P2-L has no move to make")
    full = default_h_max(lat)
    h_max = int(inst.ref_h_max) if h_max is None else int(h_max)          # instance default: ⌊K/κ0⌋ − 1
    if h_max < 0:
        raise InputError("h_max: must be >= 0")
    if gains.n_bs > 127:
        raise InputError("gains: more than 127 BSs do not fit the int8 back-pointers")
    A, pm, pb = _forward(lat, gains, start, h_max, deadline)
    lam, delta = inst.objective_lambda, lat.delta
    Af = A[:, lat.dest]                                                   # (K+1, B, Hn), step 4
    ticks = np.arange(lat.K + 1)[:, None, None]
    Hs = np.arange(h_max + 1)[None, None, :]
    finite = np.isfinite(Af) & (ticks > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        J = np.where(finite, F.p2l_value(Af, Hs, ticks, delta, lam), -np.inf)
    feas = finite & F.p2l_feasible(Af, ticks, float(inst.qos_r_req), delta)
    capped = h_max < full
    empty = np.zeros(0, dtype=np.int64)
    if not finite.any():
        return LatticePath("infeasible", start, np.array([start]), empty, empty, lat.nodes[[start]],
                           float("nan"), 0, 0, float("nan"), capped)
    status = "optimal" if feas.any() else "infeasible"
    score = np.where(feas, J, -np.inf) if feas.any() else J
    t, b, H = np.unravel_index(int(np.argmax(score)), score.shape)
    nodes, moves, bs = _backtrack(lat, pm, pb, start, int(t), int(b), int(H))
    return LatticePath(status, start, nodes, moves, bs, lat.nodes[nodes], float(Af[t, b, H]), int(H), int(t),
                       float(J[t, b, H]), capped)


def solve(inst, starts=None, *, lattice: F.Lattice | None = None, gains: F.GainTable | None = None,
          h_max: int | None = None, deadline=None) -> list[LatticePath]:
    """Optimal P2-L paths for every start (default: the instance's test starts, snapped to the nearest node).
    starts: float positions (N, 3) m (snapped) or integer node indices (N,). The lattice and gain table are built once and shared.
    deadline: an optkit.limits.Deadline; once it has passed, the start being solved and every later one get a path
    with status "time_limit" that stays at its start node (no move)."""
    lat = F.build_lattice(inst) if lattice is None else lattice
    gains = F.gain_table(inst, lat) if gains is None else gains
    if starts is None:
        starts = inst.starts_test
    starts = np.asarray(starts)
    if starts.dtype.kind == "f":                                          # positions (N, 3) or (3,) m
        if starts.size % 3:
            raise InputError(f"starts: positions must have shape (N, 3), got {starts.shape}")
        idx = [lat.node_index(q) for q in starts.reshape(-1, 3)]
    elif starts.dtype.kind in "iu":                                       # node indices (N,)
        idx = [int(i) for i in starts.reshape(-1)]
    else:
        raise InputError("starts: expected float positions (N, 3) m or integer node indices (N,)")
    from optkit.limits import TimeLimitReached

    paths = []
    for i in idx:
        try:
            paths.append(solve_start(inst, lat, gains, i, h_max, deadline))
        except TimeLimitReached:
            break
    empty = np.zeros(0, dtype=np.int64)
    return paths + [LatticePath("time_limit", i, np.array([i]), empty, empty, lat.nodes[[i]], float("nan"), 0, 0,
                                float("nan"), False) for i in idx[len(paths):]]


def decisions(inst, paths):
    """The evaluator's Decisions of DP paths (one per test UAV, §6.1 conversion). A path whose start node differs
    from the UAV's start (a non-snapped start) is prefixed with the straight segment start -> node, served by the
    first move's BS."""
    from optkit.formulations.sagin.evaluator import Decisions, path_to_rollout

    pos, srv = [], []
    for u, path in enumerate(paths):
        w, bs = path.waypoints, path.bs
        start = np.asarray(inst.starts_test[u], dtype=float)
        if np.linalg.norm(w[0] - start) > F.POS_TOL and bs.size:
            w, bs = np.concatenate([start[None], w]), np.concatenate([bs[:1], bs])
        p, s = path_to_rollout(inst, w, bs)
        pos.append(p)
        srv.append(s)
    zeros = np.zeros(len(paths), dtype=np.int64)          # lattice paths stay in the box: no E24 event
    return Decisions(tuple(pos), tuple(srv), zeros, zeros.copy())
