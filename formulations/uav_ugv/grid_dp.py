"""`ref-grid-dp` (§8.1): exact optimum of the lattice-restricted problem for U = 2 with C1 relaxed.

Lattice: horizontal points {0, s, 2s, …} (s = V_u^max Δ) at three altitudes {z_min, z_min + Δz, z_max}; moves per
slot: stay, ±s in x or y, ±Δz in z. Joint states exclude co-located UAVs (C5). The per-state slot value J_slot
uses the exactly optimal serving association for U = 2 (enumerate n_1, sort users by f_1 − f_2)."""
from __future__ import annotations

import numpy as np

from optkit.errors import InputError
from optkit.formulations.uav_ugv import association as assoc
from optkit.formulations.uav_ugv import channel
from optkit.formulations.uav_ugv.instance import LATTICE_LEVELS
from optkit.formulations.uav_ugv.safety import lattice_steps

NEG = -np.inf


def lattice(inst) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Lattice points (P, 3) in C order over (ix, iy, iz), and the shape (nx, ny, nz)."""
    s, dz = lattice_steps(inst)
    nx, ny = int(round(inst.area_x / s)) + 1, int(round(inst.area_y / s)) + 1
    xs, ys = np.arange(nx) * s, np.arange(ny) * s
    zs = inst.uav_zmin + np.arange(LATTICE_LEVELS) * dz
    gx, gy, gz = np.meshgrid(xs, ys, zs, indexing="ij")
    return np.stack([gx.ravel(), gy.ravel(), gz.ravel()], axis=1), (nx, ny, LATTICE_LEVELS)


def check_lattice_instance(inst) -> None:
    """ref-grid-dp needs U = 2 and the tiny-exact lattice geometry (homes on lattice points)."""
    if inst.n_uavs != 2:
        raise InputError(f"ref-grid-dp: needs n_uavs = 2 (U = 3 has 4.8e7 joint states), got {inst.n_uavs}")
    if inst.uav_home_mode != "lattice_column":
        raise InputError("ref-grid-dp: needs the tiny-exact lattice geometry (uav_home_mode = 'lattice_column')")


def slot_values(inst, points: np.ndarray, chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """J_slot (P, P) Mbit/s of every joint state (−inf on the diagonal) and the best n_1 (P, P)."""
    P = points.shape[0]
    S = channel.access_power(inst, points, np.asarray(inst.users))              # (P, K)
    K = S.shape[1]
    J = np.full((P, P), NEG)
    best_n1 = np.zeros((P, P), dtype=np.int64)
    for a in range(0, P, chunk):
        S1 = S[a:a + chunk, None, :]                                            # (c, 1, K)
        S2 = S[None, :, :]                                                      # (1, P, K)
        se1 = np.log2(1.0 + S1 / (S2 + inst.noise_w))
        se2 = np.log2(1.0 + S2 / (S1 + inst.noise_w))
        best = np.full(se1.shape[:2], NEG)
        arg = np.zeros(se1.shape[:2], dtype=np.int64)
        for n1 in range(K + 1):
            n2 = K - n1
            f1 = assoc.user_value(inst, se1, max(n1, 1))
            f2 = assoc.user_value(inst, se2, max(n2, 1))
            d = np.sort(f1 - f2, axis=-1)[..., ::-1]
            val = f2.sum(axis=-1) + (d[..., :n1].sum(axis=-1) if n1 else 0.0)
            better = val > best + 1e-12
            best = np.where(better, val, best)
            arg = np.where(better, n1, arg)
        J[a:a + chunk] = best
        best_n1[a:a + chunk] = arg
    np.fill_diagonal(J, NEG)
    return J, best_n1


def best_association(inst, q1: np.ndarray, q2: np.ndarray, n1: int) -> np.ndarray:
    """The optimal serve vector (K,) of a joint state with n_1 users in cell 1 (ties: lower user id to cell 1)."""
    S = channel.access_power(inst, np.stack([q1, q2]), np.asarray(inst.users))
    SE = channel.spectral_efficiency(inst, S)
    K = SE.shape[1]
    f1 = assoc.user_value(inst, SE[0], max(n1, 1))
    f2 = assoc.user_value(inst, SE[1], max(K - n1, 1))
    order = np.lexsort((np.arange(K), -(f1 - f2)))
    serve = np.ones(K, dtype=np.int64)
    serve[order[:n1]] = 0
    return serve


def _moves(inst):
    """The 7 single-UAV lattice moves as index offsets (dix, diy, diz)."""
    return [(0, 0, 0), (1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]


def _shift(V6: np.ndarray, m1, m2) -> np.ndarray:
    """W(s) = V(s − (m1, m2)) with −inf where the predecessor leaves the lattice; V6 (nx,ny,nz,nx,ny,nz)."""
    out = np.full_like(V6, NEG)
    src, dst = [], []
    for d in (*m1, *m2):
        src.append(slice(None))
        dst.append(slice(None))
    shape = V6.shape
    for axis, d in enumerate((*m1, *m2)):
        if d > 0:
            dst[axis], src[axis] = slice(d, shape[axis]), slice(0, shape[axis] - d)
        elif d < 0:
            dst[axis], src[axis] = slice(0, shape[axis] + d), slice(-d, shape[axis])
    out[tuple(dst)] = V6[tuple(src)]
    return out


def solve_grid(inst) -> dict:
    """Run the DP. Returns {"value": V_N(home)/N, "q": (2, N+1, 3), "alpha": (N, 2, K) bool}."""
    check_lattice_instance(inst)
    points, shape = lattice(inst)
    P = points.shape[0]
    N, K = inst.n_slots, inst.n_users
    home = np.asarray(inst.uav_home)
    hid = [int(np.argmin(np.linalg.norm(points - home[u], axis=1))) for u in range(2)]
    if any(np.linalg.norm(points[hid[u]] - home[u]) > 1e-6 for u in range(2)):
        raise InputError("ref-grid-dp: the UAV homes are not lattice points")
    J, best_n1 = slot_values(inst, points)
    moves = _moves(inst)
    pairs = [(a, b) for a in range(7) for b in range(7)]
    V = np.full((P, P), NEG)
    V[hid[0], hid[1]] = 0.0
    back = np.zeros((N, P, P), dtype=np.int16)
    full = (*shape, *shape)
    for n in range(N):
        V6 = V.reshape(full)
        best = np.full(full, NEG)
        arg = np.zeros(full, dtype=np.int16)
        for i, (a, b) in enumerate(pairs):
            cand = _shift(V6, moves[a], moves[b])
            better = cand > best
            best = np.where(better, cand, best)
            arg = np.where(better, i, arg)
        V = best.reshape(P, P) + J
        back[n] = arg.reshape(P, P)
    value = V[hid[0], hid[1]]
    idx = np.array(shape)
    state = [hid[0], hid[1]]
    traj = [tuple(state)]
    for n in range(N - 1, -1, -1):
        a, b = pairs[int(back[n, state[0], state[1]])]
        prev = []
        for u, mv in ((0, moves[a]), (1, moves[b])):
            ijk = np.array(np.unravel_index(state[u], shape)) - np.array(mv)
            prev.append(int(np.ravel_multi_index(tuple(ijk), tuple(idx))))
        state = prev
        traj.append(tuple(state))
    traj = traj[::-1]                                  # slots 0..N
    q = np.stack([points[[s[0] for s in traj]], points[[s[1] for s in traj]]])
    alpha = np.zeros((N, 2, K), dtype=bool)
    for n in range(1, N + 1):
        i, j = traj[n]
        serve = best_association(inst, points[i], points[j], int(best_n1[i, j]))
        alpha[n - 1] = assoc.serve_to_alpha(serve, 2)
    return {"value": float(value / N) if N else 0.0, "q": q, "alpha": alpha, "states": traj, "J": J,
            "points": points}
