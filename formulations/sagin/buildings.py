"""Building map and line of sight (§4.1, E2-E3).

Buildings are axis-aligned square prisms: centres (N, 2) m, common side `width` m, heights (N,) m.
`segment_los` is the literal E3 test for arbitrary segments; `SiteLos` is an exact equivalent for links from a
fixed antenna to points above it, used by the rate oracle: it pre-filters buildings by the azimuth sector they
cover as seen from the site, and reduces E3 to one *critical height* per (point, site).
"""
from __future__ import annotations

import math

import numpy as np


# --- layout (E2) ---------------------------------------------------------------------------------------------
def layout(x_min: float, x_max: float, y_min: float, y_max: float, alpha: float, beta: float,
           clusters_per_side: int, road_width: float) -> tuple[np.ndarray, float]:
    """Building centres (N_b, 2) m in building order and the side W_bld (m) of the E2 Manhattan grid.

    N_b = round(beta * A / 1e6) with A in m^2 and beta in 1/km^2; W_bld = sqrt(alpha * A / N_b); C x C clusters.
    """
    area = (x_max - x_min) * (y_max - y_min)
    n_b = int(round(beta * area / 1e6))                                   # E2
    if n_b == 0:
        return np.zeros((0, 2)), 0.0
    width = math.sqrt(alpha * area / n_b)                                 # E2
    c = int(clusters_per_side)
    lc_x = ((x_max - x_min) - (c - 1) * road_width) / c                   # E2 cluster side (per axis)
    lc_y = ((y_max - y_min) - (c - 1) * road_width) / c
    centres = []
    for i in range(c):
        for j in range(c):
            k = i * c + j
            n_k = n_b // (c * c) + (1 if k < n_b % (c * c) else 0)
            if n_k == 0:
                continue
            cx = x_min + i * (lc_x + road_width) + lc_x / 2
            cy = y_min + j * (lc_y + road_width) + lc_y / 2
            g = int(math.ceil(math.sqrt(n_k)))
            ox = _offsets(lc_x, width, g)
            oy = _offsets(lc_y, width, g)
            cand = [(cx + ox[a], cy + oy[b]) for b in range(g) for a in range(g)]   # b outer, a inner
            centres.extend(cand[:n_k])
    return np.asarray(centres, dtype=float).reshape(-1, 2), width


def _offsets(lc: float, width: float, g: int) -> np.ndarray:
    """o_l = -(L_c - 2W)/2 + l (L_c - 2W)/(g - 1), l = 0..g-1 (a single building sits at the cluster centre)."""
    if g == 1:
        return np.zeros(1)
    span = lc - 2 * width
    return -span / 2 + np.arange(g) * span / (g - 1)


def draw_heights(rng: np.random.Generator, n: int, gamma: float, h_cap: float) -> np.ndarray:
    """h_i = min(H_i, h_cap), H_i ~ Rayleigh(scale gamma) i.i.d. in building order (E2). Shape (n,), m."""
    return np.minimum(rng.rayleigh(scale=gamma, size=n), h_cap)


def on_site_mask(centres: np.ndarray, width: float, sites_xy: np.ndarray, clearance: float) -> np.ndarray:
    """(N_b,) bool: footprint enlarged by `clearance` on every side contains a site's (x, y) (closed test, E2)."""
    sites = np.asarray(sites_xy, dtype=float).reshape(-1, 2)
    if sites.shape[0] == 0 or centres.shape[0] == 0:
        return np.zeros(centres.shape[0], dtype=bool)
    half = width / 2 + clearance
    dx = np.abs(centres[:, None, 0] - sites[None, :, 0])
    dy = np.abs(centres[:, None, 1] - sites[None, :, 1])
    return np.any((dx <= half) & (dy <= half), axis=1)


# --- literal E3 ----------------------------------------------------------------------------------------------
def _slab(p0, d, c, half):
    """Open interval {s : |p0 + s d - c| < half} as (lo, hi); all s when d == 0 and inside, else empty."""
    with np.errstate(divide="ignore", invalid="ignore"):
        a = (c - half - p0) / d
        b = (c + half - p0) / d
    lo = np.minimum(a, b)
    hi = np.maximum(a, b)
    flat = d == 0
    inside = np.abs(p0 - c) < half
    lo = np.where(flat, np.where(inside, -np.inf, np.inf), lo)
    hi = np.where(flat, np.where(inside, np.inf, -np.inf), hi)
    return lo, hi


def segment_los(pa: np.ndarray, pb: np.ndarray, centres: np.ndarray, width: float, heights: np.ndarray,
                chunk: int = 2_000_000) -> np.ndarray:
    """E3 literally: True where no building blocks the segment pa -> pb. pa, pb (S, 3) m -> (S,) bool.

    Building i blocks iff, with [s0, s1] = closure(I_x ∩ I_y) ∩ [0, 1], s0 < s1 and min(P_z(s0), P_z(s1)) < h_i.
    """
    pa = np.atleast_2d(np.asarray(pa, dtype=float))
    pb = np.atleast_2d(np.asarray(pb, dtype=float))
    pa, pb = np.broadcast_arrays(pa, pb)
    n_seg = pa.shape[0]
    los = np.ones(n_seg, dtype=bool)
    n_b = centres.shape[0]
    if n_b == 0 or n_seg == 0:
        return los
    half = width / 2
    d = pb - pa
    step = max(1, chunk // n_b)
    for start in range(0, n_seg, step):
        sl = slice(start, start + step)
        a, dd = pa[sl, None, :], d[sl, None, :]
        xlo, xhi = _slab(a[..., 0], dd[..., 0], centres[None, :, 0], half)
        ylo, yhi = _slab(a[..., 1], dd[..., 1], centres[None, :, 1], half)
        s0 = np.maximum(np.maximum(xlo, ylo), 0.0)
        s1 = np.minimum(np.minimum(xhi, yhi), 1.0)
        with np.errstate(invalid="ignore"):          # inf * 0 where the slabs are empty: masked by s0 < s1
            z0 = a[..., 2] + s0 * dd[..., 2]
            z1 = a[..., 2] + s1 * dd[..., 2]
        blocked = (s0 < s1) & (np.minimum(z0, z1) < heights[None, :])
        los[sl] = ~np.any(blocked, axis=1)
    return los


# --- fast exact LoS from a fixed site ------------------------------------------------------------------------
class SiteLos:
    """Exact E3 for segments from a site antenna (x, y, z_a) to points strictly above z_a.

    For such a segment the height rises with s, so building i blocks iff the ground ray from the site enters the
    open footprint at s0 < s1 with z_a + s0 (q_z - z_a) < h_i, i.e. iff q_z < z*_i = z_a + (h_i - z_a)/s0, where
    s0 depends only on the point's (x, y). The link is LoS iff q_z >= max_i z*_i (the critical height).
    Candidate buildings for a ray are those whose azimuth sector (seen from the site) overlaps the ray's azimuth
    bin; this pre-filter is exact because a ray can only cross the interior of a footprint strictly inside its
    sector. The site must lie outside every footprint (E2 removes buildings on sites).
    """

    def __init__(self, site: np.ndarray, centres: np.ndarray, width: float, heights: np.ndarray,
                 n_bins: int = 720):
        self.site = np.asarray(site, dtype=float)
        self.centres = np.asarray(centres, dtype=float)
        self.heights = np.asarray(heights, dtype=float)
        self.half = width / 2
        self.n_bins = int(n_bins)
        self.table = self._bin_table()

    def _bin_table(self) -> np.ndarray:
        """(n_bins, M) int: building ids per azimuth bin, padded with -1."""
        n = self.centres.shape[0]
        if n == 0:
            return -np.ones((self.n_bins, 1), dtype=np.int64)
        rel = self.centres - self.site[:2]
        phi_c = np.arctan2(rel[:, 1], rel[:, 0])
        corners = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=float) * self.half
        cx = rel[:, None, 0] + corners[None, :, 0]
        cy = rel[:, None, 1] + corners[None, :, 1]
        dphi = np.angle(np.exp(1j * (np.arctan2(cy, cx) - phi_c[:, None])))   # wrapped to (-pi, pi]
        eps = 1e-9
        lo = phi_c + dphi.min(axis=1) - eps
        hi = phi_c + dphi.max(axis=1) + eps
        db = 2 * np.pi / self.n_bins
        b_lo = np.floor((lo + np.pi) / db).astype(np.int64)
        b_hi = np.floor((hi + np.pi) / db).astype(np.int64)
        counts = b_hi - b_lo + 1
        ids = np.repeat(np.arange(n), counts)
        offs = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        bins = (np.repeat(b_lo, counts) + offs) % self.n_bins
        order = np.lexsort((ids, bins))
        bins, ids = bins[order], ids[order]
        per_bin = np.bincount(bins, minlength=self.n_bins)
        table = -np.ones((self.n_bins, max(1, per_bin.max())), dtype=np.int64)
        rank = np.arange(bins.size) - np.repeat(np.cumsum(per_bin) - per_bin, per_bin)
        table[bins, rank] = ids
        return table

    def critical_height(self, xy: np.ndarray) -> np.ndarray:
        """(P,) m: lowest q_z at which the segment site -> (x, y, q_z) is LoS (-inf when nothing is in the way)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if self.centres.shape[0] == 0:
            return np.full(xy.shape[0], -np.inf)
        d = xy - self.site[:2]
        phi = np.arctan2(d[:, 1], d[:, 0])
        b = np.floor((phi + np.pi) / (2 * np.pi / self.n_bins)).astype(np.int64) % self.n_bins
        cand = self.table[b]                                          # (P, M)
        valid = cand >= 0
        c = self.centres[np.where(valid, cand, 0)]                    # (P, M, 2)
        h = self.heights[np.where(valid, cand, 0)]
        xlo, xhi = _slab(self.site[0], d[:, None, 0], c[..., 0], self.half)
        ylo, yhi = _slab(self.site[1], d[:, None, 1], c[..., 1], self.half)
        s0 = np.maximum(np.maximum(xlo, ylo), 0.0)
        s1 = np.minimum(np.minimum(xhi, yhi), 1.0)
        hit = valid & (s0 < s1)
        za = self.site[2]
        with np.errstate(divide="ignore", invalid="ignore"):
            zc = np.where(s0 > 0, za + (h - za) / s0, np.where(h > za, np.inf, -np.inf))
        zc = np.where(hit, zc, -np.inf)
        return zc.max(axis=1)

    def los(self, q: np.ndarray) -> np.ndarray:
        """(P,) bool LoS from the site to points q (P, 3) m (all q_z above the antenna)."""
        q = np.asarray(q, dtype=float).reshape(-1, 3)
        return q[:, 2] >= self.critical_height(q[:, :2])
