"""`graph` baseline of `sagin` (§7.4, §5.6, D25): GN/AN connectivity-graph planner.

Section (§), equation (E) and decision (D) numbers refer to docs/families/sagin.md.

1. Grid G: 2-D lattice q_f + h_G (i, j) (h_G = 50 m) inside the airspace box at altitude z_G = q_f.z (100 m);
   node v is connected iff max_{b ∈ GN∪AN} R_b(v) ≥ R_req (exact backend). Satellites are ignored.
2. Augmented networkx DiGraph on (v, k), k = consecutive disconnected nodes just visited, 0 ≤ k ≤ K_out =
   ⌊T_out V / h_G⌋ (T_out = 10 s); king moves v → v' that strictly decrease ‖· − q_f‖; (v, k) → (v', 0) if
   v' is connected, else (v', k+1) if k+1 ≤ K_out; weight w = (ℓ/V)(1 + ν_out (1 − c(v'))), ν_out = 1. The
   start q^0 joins its 4 surrounding grid nodes with edges of the same form (start state k = 0); a super-sink
   joins every (q_f, k) with weight 0.
3. Dijkstra (`networkx.shortest_path`); no path -> K_out + 1 and repeat.
4-5. Waypoints w_0 = q^0, …, w_L = q_f; CVXPY SOCP (§5.6) minimise Σ ‖p_{i+1} − p_i‖₂ over p_1..p_{L−1} ∈ ℝ²
   with ‖p_i − w_i‖_∞ ≤ h_G/4 for connected and p_i = w_i for disconnected waypoints.
6. Rollout: the refined polyline resampled at Δs (§6.1 `path_to_rollout`), sticky GN/AN association.

Choices where §7.4 is silent (documented in the report and in `info`): the grid is anchored at q_f and
clipped to the airspace box (so q_f is a node and every node is flyable; the SOCP boxes are intersected with the
airspace too); a start lying on a grid node is that node; the start edges also require the distance to q_f to fall
along the whole edge ((v' − q^0)·(q_f − v') ≥ 0, the same as "strictly closer" for the grid's king moves);
if a smoothed segment would break the direction rule of P2-3 ((p_{i+1} − p_i)·(q_f − p_{i+1}) < 0, i.e. its
last part moves away from q_f) both of its ends are pinned to their grid waypoints and the SOCP is re-solved
(terminates: the unsmoothed path satisfies the rule). Knowledge "oracle" (full GN/AN rate map on the grid).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from optkit.formulations.sagin.evaluator import Decisions, path_to_rollout
from optkit.formulations.sagin.radio import radio_model
from optkit.solution import Solution, Status

FAMILY = "sagin"
METHOD = "graph"
GRID_SPACING = 50.0          # h_G, m (§7.4 step 1)
OUTAGE_TIME = 10.0           # T_out, s (§7.4 step 2)
NU_OUT = 1.0                 # ν_out, outage weight of an edge entering a disconnected node
BOX_FRACTION = 0.25          # SOCP box half-width ‖p_i − w_i‖_∞ ≤ 0.25 h_G (§7.4 step 5)
NODE_TOL = 1e-9              # m: a start this close to a grid node is that node
KING = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)], dtype=np.int64)


class PlannerError(RuntimeError):
    """The planner could not produce a smoothed path (solver failure); the message says why."""


@dataclass(frozen=True)
class ConnectivityGrid:
    """The §7.4 grid: offsets (V, 2) int (i, j) with node = q_f.xy + h (i, j); nodes (V, 3) m at z_G;
    connected (V,) bool (max GN/AN rate ≥ R_req); best_rate (V,) Mbit/s; index {(i, j): node id}; dest: id of q_f;
    lo, hi (2,) int offset bounds; h m; z m."""

    offsets: np.ndarray
    nodes: np.ndarray
    connected: np.ndarray
    best_rate: np.ndarray
    index: dict
    dest: int
    lo: np.ndarray
    hi: np.ndarray
    h: float
    z: float


def connectivity_grid(inst, h: float = GRID_SPACING) -> ConnectivityGrid:
    """Step 1 of §7.4: the q_f-anchored grid of spacing h (m) inside the airspace box at z_G = q_f.z, with the
    connectivity indicator c(v) = 1[max_{GN∪AN} R_b(v) ≥ R_req] from the exact backend (time-independent)."""
    q_f = np.asarray(inst.uav_destination, dtype=float)
    box = inst.airspace_box
    lo = np.ceil((box[0, :2] - q_f[:2]) / h - 1e-9).astype(np.int64)
    hi = np.floor((box[1, :2] - q_f[:2]) / h + 1e-9).astype(np.int64)
    ii, jj = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1), indexing="ij")
    offsets = np.stack([ii.ravel(), jj.ravel()], axis=1)
    nodes = np.column_stack([q_f[:2] + h * offsets, np.full(offsets.shape[0], q_f[2])])
    model = radio_model(inst)
    best = model.terrestrial_rates(nodes).max(axis=1) if model.n_t else np.zeros(offsets.shape[0])
    index = {(int(a), int(b)): k for k, (a, b) in enumerate(offsets.tolist())}
    return ConnectivityGrid(offsets=offsets, nodes=nodes, connected=best >= float(inst.qos_r_req), best_rate=best,
                            index=index, dest=index[(0, 0)], lo=lo, hi=hi, h=float(h), z=float(q_f[2]))


def grid_edges(grid: ConnectivityGrid) -> tuple[np.ndarray, np.ndarray]:
    """King-move edges (E, 2) int (from, to) whose end is strictly closer to q_f (equivalently, in 2-D on integer
    offsets, −p·m ≥ ‖m‖²: the distance falls along the whole edge), and their lengths (E,) m."""
    p = grid.offsets
    src, dst, length = [], [], []
    for m in KING:
        end = p + m
        inside = np.all((end >= grid.lo) & (end <= grid.hi), axis=1)
        closer = (end ** 2).sum(axis=1) < (p ** 2).sum(axis=1)
        for k in np.flatnonzero(inside & closer):
            src.append(k)
            dst.append(grid.index[(int(end[k, 0]), int(end[k, 1]))])
            length.append(grid.h * math.hypot(m[0], m[1]))
    return np.column_stack([src, dst]).astype(np.int64), np.asarray(length)


def _edge_weight(length: float, connected: bool, speed: float) -> float:
    """§7.4 step 2: w = (ℓ/V)(1 + ν_out (1 − c(v'))) s."""
    return length / speed * (1.0 + NU_OUT * (1.0 - float(connected)))


def build_graph(grid: ConnectivityGrid, edges: np.ndarray, lengths: np.ndarray, k_out: int, speed: float):
    """The augmented DiGraph of §7.4 step 2 on nodes (v, k), 0 ≤ k ≤ k_out, plus the super-sink "sink" joined to
    every (q_f, k) with weight 0. Edge attribute "w" (s)."""
    import networkx as nx

    g = nx.DiGraph()
    for (a, b), ell in zip(edges.tolist(), lengths.tolist()):
        c = bool(grid.connected[b])
        w = _edge_weight(ell, c, speed)
        for k in range(k_out + 1):
            if c:
                g.add_edge((a, k), (b, 0), w=w)
            elif k + 1 <= k_out:
                g.add_edge((a, k), (b, k + 1), w=w)
    for k in range(k_out + 1):
        g.add_edge((grid.dest, k), "sink", w=0.0)
    return g


def start_links(grid: ConnectivityGrid, start: np.ndarray) -> tuple[int | None, list[tuple[int, float]]]:
    """(node, []) when the start lies on a grid node, else (None, [(node, length m), ...]) for the (up to) 4 nodes of
    the grid cell around the start that are reachable with the distance to q_f falling along the whole edge."""
    q_f = grid.nodes[grid.dest]
    rel = (np.asarray(start[:2], dtype=float) - q_f[:2]) / grid.h
    near = np.round(rel).astype(np.int64)
    key = (int(near[0]), int(near[1]))
    if key in grid.index and np.linalg.norm(grid.nodes[grid.index[key]] - start) <= NODE_TOL:
        return grid.index[key], []
    base = np.clip(np.floor(rel).astype(np.int64), grid.lo, np.maximum(grid.hi - 1, grid.lo))
    out = []
    for di in (0, 1):
        for dj in (0, 1):
            key = (int(base[0] + di), int(base[1] + dj))
            v = grid.index.get(key)
            if v is None or v in [o[0] for o in out]:
                continue
            node = grid.nodes[v]
            if np.dot(node - start, q_f - node) >= 0.0 and np.linalg.norm(node - start) > NODE_TOL:
                out.append((v, float(np.linalg.norm(node - start))))
    return None, out


def shortest_waypoints(grid: ConnectivityGrid, graph, start: np.ndarray, speed: float):
    """§7.4 step 3 on a built graph (the start node is added and removed again): grid node ids of the path
    (excluding the start unless it is a node) and the path cost (s), or None when no path exists."""
    import networkx as nx

    node, links = start_links(grid, start)
    if node is not None:
        if node == grid.dest:
            return [node], 0.0
        source, added = (node, 0), False
        if source not in graph:
            return None
    else:
        source, added = "start", True
        for v, ell in links:
            c = bool(grid.connected[v])
            graph.add_edge("start", (v, 0 if c else 1), w=_edge_weight(ell, c, speed))
    try:
        path = nx.shortest_path(graph, source, "sink", weight="w")
        cost = float(nx.path_weight(graph, path, weight="w"))
    except (nx.NetworkXNoPath, nx.NodeNotFound):
        return None
    finally:
        if added and "start" in graph:
            graph.remove_node("start")
    return [s[0] for s in path if s not in ("start", "sink")], cost


def _direction_ok(p: np.ndarray, q_f: np.ndarray) -> np.ndarray:
    """(L,) bool per polyline segment: (p_{i+1} − p_i)·(q_f − p_{i+1}) ≥ −1e-9 m² (the distance to q_f falls
    along the whole segment, so every Δs sample on it passes P2-3)."""
    return (np.diff(p, axis=0) * (q_f - p[1:])).sum(axis=1) >= -1e-9


def smooth_path(waypoints: np.ndarray, connected: np.ndarray, h: float, box: np.ndarray | None = None,
                q_f: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
    """§5.6 / §7.4 step 5 SOCP: minimise Σ_{i=0}^{L−1} ‖p_{i+1} − p_i‖₂ over p_1..p_{L−1} ∈ ℝ² (x, y) with p_0 = w_0,
    p_L = w_L, ‖p_i − w_i‖_∞ ≤ h/4 for connected[i] and p_i = w_i otherwise, boxes intersected with the airspace
    `box` (2, 3). waypoints (L+1, 3) m (z is kept), connected (L+1,) bool. With q_f given, segments breaking the
    direction rule get both ends pinned and the SOCP is re-solved (DPP parameters: no recompilation).
    Returns the refined waypoints (L+1, 3) m (clipped onto the boxes) and info (solver, solves, pinned, lengths).
    Raises PlannerError when the conic solver fails."""
    import cvxpy as cp

    w = np.asarray(waypoints, dtype=float)
    n_int = w.shape[0] - 2
    before = float(np.linalg.norm(np.diff(w, axis=0), axis=1).sum())
    info = {"socp_solves": 0, "pinned_for_direction": 0, "length_before_m": before}
    if n_int <= 0:
        info["length_after_m"] = info["length_before_m"]
        return w.copy(), info
    half = BOX_FRACTION * h * np.asarray(connected, dtype=float)[1:-1, None]         # 0 pins a disconnected p_i
    lo_v, hi_v = w[1:-1, :2] - half, w[1:-1, :2] + half
    if box is not None:
        lo_v = np.minimum(np.maximum(lo_v, box[0, :2]), w[1:-1, :2])
        hi_v = np.maximum(np.minimum(hi_v, box[1, :2]), w[1:-1, :2])
    pinned = np.zeros(n_int, dtype=bool)
    P = cp.Variable((n_int, 2))
    lo, hi = cp.Parameter((n_int, 2)), cp.Parameter((n_int, 2))
    pts = cp.vstack([w[None, 0, :2], P, w[None, -1, :2]])
    prob = cp.Problem(cp.Minimize(cp.sum(cp.norm(pts[1:] - pts[:-1], 2, axis=1))), [P >= lo, P <= hi])
    while True:
        lo.value = np.where(pinned[:, None], w[1:-1, :2], lo_v)
        hi.value = np.where(pinned[:, None], w[1:-1, :2], hi_v)
        try:
            prob.solve()                                   # CVXPY's default conic solver (Clarabel for an SOCP)
        except cp.error.SolverError as exc:
            raise PlannerError(f"SOCP smoothing: solver failure ({exc})") from exc
        info["socp_solves"] += 1
        info["solver"] = prob.solver_stats.solver_name if prob.solver_stats else None
        if prob.status not in (cp.OPTIMAL, cp.OPTIMAL_INACCURATE) or P.value is None:
            raise PlannerError(f"SOCP smoothing: solver status {prob.status}")
        out = w.copy()
        out[1:-1, :2] = np.clip(P.value, lo.value, hi.value)                       # onto the boxes exactly
        if q_f is None:
            break
        bad = np.flatnonzero(~_direction_ok(out, np.asarray(q_f, dtype=float)))
        if bad.size == 0:
            break
        before = int(pinned.sum())
        for s in bad:                                      # segment s joins waypoints s and s+1 (interior: 1..L−1)
            for i in (s - 1, s):
                if 0 <= i < n_int:
                    pinned[i] = True
        if int(pinned.sum()) == before:                    # nothing left to pin: unsmoothed ends already
            break
    info["pinned_for_direction"] = int(pinned.sum())
    info["length_after_m"] = float(np.linalg.norm(np.diff(out, axis=0), axis=1).sum())
    info["socp_objective_m"] = float(prob.value)
    return out, info


def sticky_serving(inst, positions: np.ndarray) -> np.ndarray:
    """§7.4 step 6 association over GN ∪ AN of a rollout positions (L+1, 3) m -> serving (L,) int64:
    b(1) = argmax R_b(q^0); b(n+1) = b(n) while R_{b(n)}(q(n)) ≥ R_req, else argmax_{GN∪AN} R_b(q(n)).
    Ties go to the lower BS index."""
    p = np.asarray(positions, dtype=float)
    L = p.shape[0] - 1
    if L == 0:
        return np.zeros(0, dtype=np.int64)
    rates = radio_model(inst).terrestrial_rates(p[:-1])                             # (L, n_t) Mbit/s
    best = np.argmax(rates, axis=1)
    r_req = float(inst.qos_r_req)
    serving = np.empty(L, dtype=np.int64)
    b = int(best[0])
    serving[0] = b
    for n in range(1, L):
        if rates[n, b] < r_req:
            b = int(best[n])
        serving[n] = b
    return serving


def plan(inst, start: np.ndarray, grid: ConnectivityGrid, edges, lengths, graphs: dict) -> tuple[np.ndarray, dict]:
    """Steps 3-5 for one start (3,) m: refined waypoints (W, 3) m and info (K_out used, cost, smoothing info).
    `graphs` caches the augmented graph per K_out. A smoothing failure keeps the unsmoothed grid path and puts the
    message in info["error"]; raises PlannerError when no grid path exists at any K_out."""
    V = float(inst.uav_speed)
    q_f = np.asarray(inst.uav_destination, dtype=float)
    start = np.asarray(start, dtype=float)
    k_out = int(math.floor(OUTAGE_TIME * V / grid.h + 1e-9))                        # K_out = ⌊T_out V / h_G⌋
    k_first = k_out
    found = None
    while found is None:
        if k_out not in graphs:
            graphs[k_out] = build_graph(grid, edges, lengths, k_out, V)
        found = shortest_waypoints(grid, graphs[k_out], start, V)
        if found is None:
            if k_out >= grid.offsets.shape[0]:                                       # no outage bound left to relax
                raise PlannerError(f"no grid path from {start.tolist()} to q_f")
            k_out += 1
    ids, cost = found
    nodes = grid.nodes[ids]
    conn = grid.connected[ids]
    if np.linalg.norm(nodes[0] - start) > NODE_TOL:                                  # start joined by a start edge
        nodes = np.vstack([start, nodes])
        conn = np.concatenate([[True], conn])
    nodes[-1] = q_f
    try:
        refined, info = smooth_path(nodes, conn, grid.h, inst.airspace_box, q_f)
    except PlannerError as exc:                                                     # keep the unsmoothed path
        refined, info = nodes, {"error": str(exc)}
    info.update(k_out=k_out, k_out_initial=k_first, path_cost_s=cost, waypoints=int(nodes.shape[0]),
                disconnected_waypoints=int(np.count_nonzero(~conn)))
    return refined, info


def solve_graph(inst, *, seed: int = 0, time_limit: float | None = None) -> Solution:
    """`graph` on every test UAV (starts_test order). Deterministic (`seed` recorded only); `time_limit` is accepted
    for the common interface and unused (one Dijkstra + one small SOCP per UAV). A planner/solver failure gives
    Status.ERROR with a message; that UAV then flies its unsmoothed grid path (or the straight line when no path
    was found) so the decisions stay evaluable."""
    t0 = time.perf_counter()
    grid = connectivity_grid(inst)
    edges, lengths = grid_edges(grid)
    graphs: dict = {}
    positions, serving, per_uav, errors = [], [], [], []
    q_f = np.asarray(inst.uav_destination, dtype=float)
    for u, start in enumerate(np.asarray(inst.starts_test, dtype=float)):
        try:
            waypoints, info = plan(inst, start, grid, edges, lengths, graphs)
        except PlannerError as exc:
            errors.append(f"UAV {u}: {exc}")
            waypoints, info = np.vstack([start, q_f]), {"fallback": "straight line"}
        if "error" in info:
            errors.append(f"UAV {u}: {info['error']}")
        pos, _ = path_to_rollout(inst, waypoints, np.zeros(waypoints.shape[0] - 1, dtype=np.int64))   # §6.1
        positions.append(pos)
        serving.append(sticky_serving(inst, pos))
        per_uav.append(info)
    runtime = time.perf_counter() - t0
    info = {"method_seed": seed, "knowledge": "oracle", "grid_nodes": int(grid.offsets.shape[0]),
            "grid_connected_share": float(grid.connected.mean()), "uavs": per_uav}
    status = Status.FEASIBLE
    if errors:
        status = Status.ERROR
        info["message"] = "; ".join(errors)
    return Solution(family=FAMILY, method=METHOD, status=status,
                    decisions=Decisions(tuple(positions), tuple(serving), np.zeros(len(positions), dtype=np.int64),
                                        np.zeros(len(positions), dtype=np.int64)),      # a planned path is never clipped
                    runtime_s=runtime, info=info)
