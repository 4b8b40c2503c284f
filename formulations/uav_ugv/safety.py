"""Safety layer (§4 E25–E26, D16, D34) and the lattice action mode (§8.1): every method's intended moves pass
through it, so C3, C4, C6–C8, C12 and C13 hold by construction."""
from __future__ import annotations

import numpy as np

from optkit.formulations.uav_ugv.instance import LATTICE_LEVELS

LATTICE_MOVES = ("stay", "+x", "-x", "+y", "-y", "+z", "-z")


def lattice_steps(inst) -> tuple[float, float]:
    """(horizontal spacing V_u^max Δ, vertical spacing (z_max − z_min)/2) of the §8.1 lattice, m."""
    return inst.horizontal_step, (inst.uav_zmax - inst.uav_zmin) / (LATTICE_LEVELS - 1)


def lattice_move_vectors(inst) -> np.ndarray:
    """(7, 3) displacement of each lattice move in LATTICE_MOVES order."""
    s, dz = lattice_steps(inst)
    return np.array([[0, 0, 0], [s, 0, 0], [-s, 0, 0], [0, s, 0], [0, -s, 0], [0, 0, dz], [0, 0, -dz]], dtype=float)


def _on_box(inst, p: np.ndarray) -> np.ndarray:
    tol = 1e-6
    return ((p[..., 0] >= -tol) & (p[..., 0] <= inst.area_x + tol) & (p[..., 1] >= -tol)
            & (p[..., 1] <= inst.area_y + tol) & (p[..., 2] >= inst.uav_zmin - tol) & (p[..., 2] <= inst.uav_zmax + tol))


def uav_step(inst, q: np.ndarray, delta: np.ndarray, n: int) -> np.ndarray:
    """(E25) positions of slot n+1 from those of slot n (U, 3) and intended displacements (U, 3), m."""
    home = np.asarray(inst.uav_home)
    if n + 1 >= inst.n_slots:
        return home.copy()
    if inst.action_mode == "lattice":
        return _lattice_step(inst, q, delta, n)
    step = inst.horizontal_step
    delta = np.asarray(delta, dtype=float)
    norm = np.linalg.norm(delta, axis=1, keepdims=True)
    delta = delta * np.minimum(1.0, step / np.maximum(norm, 1e-300))
    lo = np.array([0.0, 0.0, inst.uav_zmin])
    hi = np.array([inst.area_x, inst.area_y, inst.uav_zmax])
    nxt = np.clip(q + delta, lo, hi)
    budget = (inst.n_slots - n - 1) * step
    late = np.linalg.norm(nxt - home, axis=1) > budget
    if late.any():
        back = home[late] - q[late]
        dist = np.linalg.norm(back, axis=1, keepdims=True)
        unit = back / np.maximum(dist, 1e-300)
        nxt[late] = q[late] + np.minimum(step, dist) * unit
    return nxt


def _hops(inst, p: np.ndarray) -> np.ndarray:
    s, dz = lattice_steps(inst)
    home = np.asarray(inst.uav_home)
    d = np.abs(p - home)
    return np.rint(d[..., 0] / s + d[..., 1] / s + d[..., 2] / dz).astype(np.int64)


def _lattice_step(inst, q: np.ndarray, delta: np.ndarray, n: int) -> np.ndarray:
    """§8.1 lattice mode: snap δ to the nearest lattice move that stays on the lattice (ties in LATTICE_MOVES
    order), then the hop rule replaces a move that misses the return deadline."""
    moves = lattice_move_vectors(inst)
    home = np.asarray(inst.uav_home)
    out = np.empty_like(q)
    left = inst.n_slots - n - 1
    s, dz = lattice_steps(inst)
    for u in range(q.shape[0]):
        cand = q[u] + moves
        ok = _on_box(inst, cand)
        dist = np.where(ok, np.linalg.norm(np.asarray(delta[u], dtype=float) - moves, axis=1), np.inf)
        nxt = cand[int(np.argmin(dist))]
        if _hops(inst, nxt[None])[0] > left:
            nxt = q[u].copy()
            for axis, size in ((0, s), (1, s), (2, dz)):
                gap = home[u, axis] - q[u, axis]
                if abs(gap) > 1e-6:
                    nxt[axis] += np.sign(gap) * size
                    break
        out[u] = nxt
    return out


def ugv_step(inst, w: np.ndarray, targets: np.ndarray, n: int) -> np.ndarray:
    """(E26) waypoints of slot n+1 from those of slot n (M,) and target points (M, 2) m: the reachable waypoint
    nearest the target (ties: shorter travel time, lower id), restricted to H_home ≤ N − n − 1 when needed."""
    pts = np.asarray(inst.waypoints)
    hops = inst.home_hops
    left = inst.n_slots - n - 1
    out = np.empty_like(w)
    for m, wm in enumerate(np.asarray(w)):
        a, b = inst.reach_ptr[wm], inst.reach_ptr[wm + 1]
        ids = inst.reach_idx[a:b]
        times = inst.reach_time[a:b]
        d = np.hypot(*(pts[ids] - targets[m]).T)
        order = np.lexsort((ids, times, d))
        choice = ids[order[0]]
        if hops[m, choice] > left:
            good = order[hops[m, ids[order]] <= left]
            choice = ids[good[0]]
        out[m] = choice
    return out
