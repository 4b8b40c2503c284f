"""The reachable-set upper bound `reachable-ub` (§8 item 2): per slot, every UAV may be anywhere within
1e-3·V·n·δt km of its start; the bound relaxes the dynamics and the D_max coupling, and evaluates the UAV hops on a
square lattice with the horizontal distance shortened by h/√2 so that the value bounds every point of the disk."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optkit.formulations.ntn_relay.model import World, joint_combos


@dataclass
class ReachableBound:
    rate: np.ndarray        # (N,) R^UB[n], bit/s
    ee_kbit_per_j: float    # EE_UB (NaN without UAVs)
    energy_lb_j: float      # Σ_k E_k^LB
    grid_km: float
    speed_mps: float


def _grid(center, radius: float, h: float, area) -> np.ndarray:
    """Lattice points (G, 2) of spacing h with origin `center` within radius + h/√2 of it, kept where they lie
    within h/√2 of the area."""
    reach = radius + h / math.sqrt(2.0)
    n = int(math.floor(reach / h))
    ax = np.arange(-n, n + 1) * h
    gx, gy = np.meshgrid(ax, ax, indexing="ij")
    pts = np.column_stack([gx.ravel(), gy.ravel()])
    pts = pts[np.hypot(pts[:, 0], pts[:, 1]) <= reach + 1e-9] + center
    (x_lo, x_hi), (y_lo, y_hi) = area
    slack = h / math.sqrt(2.0)
    keep = (pts[:, 0] >= x_lo - slack) & (pts[:, 0] <= x_hi + slack) & (pts[:, 1] >= y_lo - slack) & \
        (pts[:, 1] <= y_hi + slack)
    return pts[keep]


def _optimistic_rates(w: World, pts, sats, h: float) -> np.ndarray:
    """Rates (G, C) from lattice points to SATs (C, 3) on the full bandwidth B, with the horizontal distance
    reduced by h/√2 (≥ 0); a share B/m has rate R/m (E8, E12 are linear in b)."""
    dh = np.linalg.norm(pts[:, None, :] - sats[None, :, :2], axis=-1)
    dh = np.maximum(dh - h / math.sqrt(2.0), 0.0)
    dz = sats[None, :, 2] - w.relay_alt
    d = np.sqrt(dh ** 2 + dz ** 2)
    return w.link.rate(w.inst.bandwidth_hz, d)[0]


def reachable_upper_bound(w: World, grid_km: float = 5.0, speed_mps: float | None = None) -> ReachableBound:
    """R^UB[n] and EE_UB of §8 item 2 for a UAV instance of template S-L1-R-L2-D (speed: V_max unless given; a
    smaller speed gives the indicator 'reach at V', not a bound)."""
    inst = w.inst
    if not inst.has_uav_between_lanes:
        raise ValueError("reachable-ub needs UAV relays on template S-L1-R-L2-D")
    speed = inst.v_max_mps if speed_mps is None else float(speed_mps)
    N, K, h = w.N, w.K, float(grid_km)
    C1, C2 = w.cand.shape[2], w.cand.shape[2]
    cc1, cc2 = joint_combos(C1, C2, K)
    m1 = (cc1[:, :, None] == cc1[:, None, :]).sum(axis=-1) - 1                    # (G, K) 0-based m
    m2 = (cc2[:, :, None] == cc2[:, None, :]).sum(axis=-1) - 1
    k_idx = np.arange(K)[None, :]
    rate = np.empty(N)
    for n in range(N):
        radius = 1e-3 * speed * n * inst.dt_s
        c1, c2 = w.cand[0, n], w.cand[1, n]
        s1, s2 = w.sat_xyz[0, n, c1], w.sat_xyz[1, n, c2]
        g1 = w.ground1[n, c1]                                                     # (C1, K)
        g2 = w.ground2[n, c2]
        table = np.empty((K, C1, K, C2, K))                                       # path, i, m1, j, m2
        for k in range(K):
            pts = _grid(w.q0[k], radius, h, inst.area_xy_km)
            r1 = _optimistic_rates(w, pts, s1, h)                                # (G, C1)
            r2 = _optimistic_rates(w, pts, s2, h)                                # (G, C2)
            inner = np.empty((C1, K, C2, K))
            for a in range(K):
                for b in range(K):
                    inner[:, a, :, b] = np.minimum(r1[:, :, None] / (a + 1), r2[:, None, :] / (b + 1)).max(axis=0)
            table[k] = np.minimum(np.minimum(inner, g1[:, :, None, None]), g2[None, None, :, :])
        vals = table[k_idx, cc1, m1, cc2, m2].sum(axis=1)                        # (G,)
        rate[n] = vals.max()
    energy = K * N * inst.dt_s * w.p_min + 0.5 * inst.uav_mass_kg * float(
        np.sum(inst.v_min_mps ** 2 - np.sum(w.v0 ** 2, axis=1)))
    ee = inst.dt_s * rate.sum() / energy / 1000.0 if energy > 0 else float("nan")
    return ReachableBound(rate, ee, energy, h, speed)


def cached_bound(w: World, grid_km: float = 10.0) -> ReachableBound:
    """The bound at V_max on a `grid_km` lattice, computed once per instance (for ub_ratio and frac_of_ub)."""
    key = ("ub", float(grid_km))
    if key not in w._cache:
        w._cache[key] = reachable_upper_bound(w, grid_km)
    return w._cache[key]
