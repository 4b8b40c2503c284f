"""Seeded generation of `uav-ugv` instances (§3.4, §3.5): road graph (networkx MST over a jittered grid),
waypoints and one-slot reachability, users and homes. All randomness from `optkit.seeds.stream(seed, id)`:
0 road graph, 1 users, 3 random start nodes."""
from __future__ import annotations

import math

import numpy as np

from optkit.errors import ValidationError
from optkit.formulations.uav_ugv.instance import (BOOL_PARAMS, FLOAT_PARAMS, INT_PARAMS, LATTICE_LEVELS, PAIR_PARAMS,
                                                   PARAMS, TABLES, TEXT_PARAMS, UavUgvInstance, validate_params)
from optkit.seeds import stream

STREAM_ROAD, STREAM_USERS, STREAM_STARTS = 0, 1, 3


def normalized_params(params: dict) -> dict:
    """Validated parameters in their declared types (TOML and JSON may mix 500 and 500.0)."""
    unknown = sorted(set(params) - set(PARAMS) - set(TABLES))
    if unknown:
        raise ValidationError(unknown[0], "unknown uav-ugv parameter")
    validate_params(params)
    out = {}
    for name in PARAMS:
        value = params[name]
        if name in FLOAT_PARAMS:
            out[name] = float(value)
        elif name in PAIR_PARAMS:
            out[name] = tuple(float(v) for v in value)
        elif name in INT_PARAMS or name in TEXT_PARAMS or name in BOOL_PARAMS:
            out[name] = value
    return out


def env_class_params(params: dict) -> dict:
    """(los_a, los_b, beta_los_db, beta_nlos_db) of the preset's environment class (§3.3 table in _defaults.toml)."""
    table = params.get("env_classes")
    cls = params["env_class"]
    if not isinstance(table, dict) or cls not in table:
        raise ValidationError("env_classes", f"the preset's env_classes table has no row '{cls}'")
    row = table[cls]
    if not isinstance(row, (list, tuple)) or len(row) != 4:
        raise ValidationError("env_classes", f"row '{cls}' must be [a, b, beta_los_db, beta_nlos_db]")
    a, b, bl, bn = (float(v) for v in row)
    return {"los_a": a, "los_b": b, "beta_los_db": bl, "beta_nlos_db": bn}


# ---------------------------------------------------------------------------------------------- road graph
def road_graph(p: dict, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """§3.4 road graph, stream 0: nodes (Q, 2), edges (E, 4) rows (i, j, length, vmax), depot node id."""
    import networkx as nx

    rng = stream(seed, STREAM_ROAD)
    g = int(p["road_grid_n"])
    X, Y = p["area_x"], p["area_y"]
    sx, sy = X / (g - 1), Y / (g - 1)
    rho = p["road_jitter_frac"]
    ii, jj = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    nominal = np.stack([ii.ravel() * sx, jj.ravel() * sy], axis=1)
    Q = g * g
    jit = rng.uniform(low=[-rho * sx, -rho * sy], high=[rho * sx, rho * sy], size=(Q, 2))
    nodes = np.clip(nominal + jit, [0.0, 0.0], [X, Y])
    cand, line = [], []                     # candidate edges in canonical order, the grid line index of each
    for i in range(g):
        for j in range(g):
            if i + 1 < g:
                cand.append((i * g + j, (i + 1) * g + j))
                line.append(j)
            if j + 1 < g:
                cand.append((i * g + j, i * g + j + 1))
                line.append(i)
    weights = rng.uniform(size=len(cand))
    graph = nx.Graph()
    graph.add_nodes_from(range(Q))
    for e, (a, b) in enumerate(cand):
        graph.add_edge(a, b, weight=float(weights[e]))
    tree = nx.minimum_spanning_tree(graph, algorithm="kruskal")
    drop = rng.uniform(size=len(cand))
    keep = [e for e, (a, b) in enumerate(cand) if tree.has_edge(a, b) or drop[e] >= p["road_drop_prob"]]
    rows = []
    for e in keep:
        a, b = cand[e]
        length = float(np.hypot(*(nodes[a] - nodes[b])))
        if p["road_speed_mode"] == "uniform":
            vmax = p["road_speed_uniform"]
        else:
            vmax = p["road_speed_mixed"][0] if line[e] % 3 == 0 else p["road_speed_mixed"][1]
        rows.append((a, b, length, vmax))
    edges = np.array(rows, dtype=float).reshape(-1, 4)
    d = np.hypot(*(nodes - np.asarray(p["depot_xy"])).T)
    depot = int(np.argmin(d))               # argmin: ties to the lowest id
    return nodes, edges, depot


def waypoint_graph(nodes: np.ndarray, edges: np.ndarray, step_m: float, ugv_vmax: float, slot_s: float):
    """§3.5: waypoints (W, 2), arcs (A, 4) rows (w, w', length, time) and the CSR of Reach (ptr, idx, time)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    points = [nodes]
    arcs = []
    next_id = nodes.shape[0]
    for a, b, length, vmax in edges:
        a, b = int(a), int(b)
        n_e = max(1, int(math.ceil(length / step_m - 1e-12)))
        piece = length / n_e
        t = piece / min(vmax, ugv_vmax)
        ids = [a]
        if n_e > 1:
            frac = np.arange(1, n_e)[:, None] / n_e
            points.append(nodes[a] + frac * (nodes[b] - nodes[a]))
            ids += list(range(next_id, next_id + n_e - 1))
            next_id += n_e - 1
        ids.append(b)
        arcs += [(ids[s], ids[s + 1], piece, t) for s in range(n_e)]
    waypoints = np.concatenate(points, axis=0)
    arcs = np.array(arcs, dtype=float).reshape(-1, 4)
    W = waypoints.shape[0]
    src, dst = arcs[:, 0].astype(int), arcs[:, 1].astype(int)
    graph = csr_matrix((np.concatenate([arcs[:, 3], arcs[:, 3]]), (np.concatenate([src, dst]),
                                                                   np.concatenate([dst, src]))), shape=(W, W))
    times = dijkstra(graph, directed=False, limit=slot_s + 1e-9)
    ok = np.isfinite(times)
    ptr = np.concatenate([[0], np.cumsum(ok.sum(axis=1))]).astype(np.int64)
    rows, cols = np.nonzero(ok)
    return waypoints, arcs, ptr, cols.astype(np.int64), times[rows, cols]


# ---------------------------------------------------------------------------------------------- users, homes
def draw_users(p: dict, seed: int) -> np.ndarray:
    """§3.4 users, stream 1: (K, 2) m."""
    rng = stream(seed, STREAM_USERS)
    X, Y, K = p["area_x"], p["area_y"], int(p["n_users"])
    if p["user_layout"] == "uniform":
        return rng.uniform([0, 0], [X, Y], size=(K, 2))
    C = int(p["n_clusters"])
    centers = rng.uniform([300, 300], [X - 300, Y - 300], size=(C, 2))
    which = rng.integers(0, C, size=K)
    offsets = rng.normal(0, p["cluster_sigma_m"], size=(K, 2))
    return np.clip(centers[which] + offsets, [0, 0], [X, Y])


def ring_radius(p: dict) -> float:
    U = int(p["n_uavs"])
    if U == 1:
        return p["uav_home_ring_m"]
    return max(p["uav_home_ring_m"], p["d_safe"] / (2 * math.sin(math.pi / U)) + 5.0)


def lattice_point_nearest(p: dict, xy) -> np.ndarray:
    """The lattice point {0, s, 2s, ...}^2 (s = V_u^max Δ) nearest xy (ties: lower coordinate)."""
    s = p["uav_vmax"] * p["slot_s"]
    gx = np.arange(0, round(p["area_x"] / s) + 1) * s
    gy = np.arange(0, round(p["area_y"] / s) + 1) * s
    return np.array([gx[np.argmin(np.abs(gx - xy[0]))], gy[np.argmin(np.abs(gy - xy[1]))]])


def homes(p: dict, seed: int, nodes: np.ndarray, depot: int) -> tuple[np.ndarray, np.ndarray]:
    """§3.4 homes: UAV homes (U, 3) m and UGV home waypoint ids (M,) (intersections keep their node id)."""
    U, M = int(p["n_uavs"]), int(p["n_ugvs"])
    r0 = ring_radius(p)
    ang = 2 * np.pi * np.arange(U) / U
    box = ([0, 0, p["uav_zmin"]], [p["area_x"], p["area_y"], p["uav_zmax"]])
    if p["start_mode"] == "random_nodes":
        rng = stream(seed, STREAM_STARTS)
        ugv = rng.choice(nodes.shape[0], M, replace=False).astype(np.int64)
        centers = nodes[ugv[np.arange(U) % M]]
        z = p["uav_z0"] + 20.0 * (np.arange(U) // M)
    else:
        ugv = np.full(M, depot, dtype=np.int64)
        centers = np.repeat(nodes[depot][None, :], U, axis=0)
        z = np.full(U, p["uav_z0"])
    if p["uav_home_mode"] == "lattice_column":
        xy = lattice_point_nearest(p, nodes[depot])
        dz = (p["uav_zmax"] - p["uav_zmin"]) / (LATTICE_LEVELS - 1)
        uav = np.array([[xy[0], xy[1], p["uav_zmin"] + (1 + u) * dz] for u in range(U)])
    else:
        uav = np.stack([centers[:, 0] + r0 * np.cos(ang), centers[:, 1] + r0 * np.sin(ang), z], axis=1)
        uav = np.clip(uav, *box)
    return uav, ugv


def generate(params: dict, seed: int, preset: str = "custom") -> UavUgvInstance:
    """The instance of (preset parameters, seed) (§3.4)."""
    p = normalized_params(params)
    env = env_class_params(params)
    nodes, edges, depot = road_graph(p, seed)
    waypoints, arcs, ptr, idx, times = waypoint_graph(nodes, edges, p["waypoint_step_m"], p["ugv_vmax"], p["slot_s"])
    users = draw_users(p, seed)
    uav_home, ugv_home = homes(p, seed, nodes, depot)
    inst = UavUgvInstance(name=preset, seed=int(seed), **p, **env, road_nodes=nodes, road_edges=edges,
                          depot_node=depot, waypoints=waypoints, arcs=arcs, reach_ptr=ptr, reach_idx=idx,
                          reach_time=times, users=users, uav_home=uav_home, ugv_home=ugv_home)
    return inst.validate()
