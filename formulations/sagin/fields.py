"""Optional random fields of `sagin` (§4.3 E10, E11), frozen per instance from the "field" stream (§3.2 step 5).

Both live on a raster of FIELD_SPACING (10 m) over the `area` box (x, y) and its altitude range (z), with
nx × ny × nz = 201 × 201 × 21 points on the default area.
* E10 probabilistic LoS (`channel.los_mode = "probabilistic"`): per GN/AN sector b a uniform field U_b; the link is LoS
  iff U_b(cell(q)) < P_LoS(d_2D, h_UT), cell(q) the 10 m cell containing q (nearest raster point at or below q).
* E11 correlated shadowing (`channel.shadowing = true`): per BS (GN, AN and satellites, in BS-index order) a
  zero-mean, unit-variance Gaussian field: white noise filtered along x, y and z by the stationary first-order
  autoregression y_k = a y_{k−1} + √(1 − a²) e_k, y_0 = e_0, a = exp(−spacing / shadow_corr) (each pass keeps unit
  variance exactly), trilinearly interpolated at q and scaled by σ_SF (E8: 4.64 exp(−0.0066 h_UT) dB on LoS GN/AN
  links, E9: 6 dB on NLoS ones, 4 dB for satellites, TR 38.811 urban S band LoS). It adds to the path loss in dB.
Draw order from the "field" generator: the LoS fields first (only when the probabilistic mode is on), then the
shadowing fields (only when shadowing is on), so the default instance draws nothing. Fields are float32.
"""
from __future__ import annotations

import numpy as np

from optkit.formulations.sagin import pathloss

FIELD_SPACING = 10.0          # m, raster of both fields (E10, E11)
SIGMA_SF_SN_DB = 4.0          # TR 38.811 Table 6.6.2-2, urban, S band, LoS


class Raster:
    """The 10 m raster over the area box: origin lo (3,) m and shape (nx, ny, nz)."""

    def __init__(self, inst):
        self.lo = np.array([inst.area_x_min, inst.area_y_min, inst.area_z_min], dtype=float)
        hi = np.array([inst.area_x_max, inst.area_y_max, inst.area_z_max], dtype=float)
        self.shape = tuple(int(n) for n in np.floor((hi - self.lo) / FIELD_SPACING + 1e-9).astype(int) + 1)

    def cell(self, q: np.ndarray) -> tuple[np.ndarray, ...]:
        """Index tuple of the cell containing each point q (P, 3) (clipped to the raster)."""
        k = np.floor((np.asarray(q, dtype=float) - self.lo) / FIELD_SPACING + 1e-9).astype(np.int64)
        k = np.clip(k, 0, np.array(self.shape) - 1)
        return k[:, 0], k[:, 1], k[:, 2]

    def trilinear(self, fields: np.ndarray, q: np.ndarray) -> np.ndarray:
        """Trilinear interpolation of fields (F, nx, ny, nz) at points q (P, 3) -> (P, F)."""
        x = np.clip((np.asarray(q, dtype=float) - self.lo) / FIELD_SPACING, 0.0, np.array(self.shape) - 1.0)
        i0 = np.minimum(np.floor(x).astype(np.int64), np.array(self.shape) - 2).clip(min=0)
        w = x - i0
        out = np.zeros((x.shape[0], fields.shape[0]))
        for dx in (0, 1):
            for dy in (0, 1):
                for dz in (0, 1):
                    ix = np.minimum(i0[:, 0] + dx, self.shape[0] - 1)
                    iy = np.minimum(i0[:, 1] + dy, self.shape[1] - 1)
                    iz = np.minimum(i0[:, 2] + dz, self.shape[2] - 1)
                    weight = ((w[:, 0] if dx else 1 - w[:, 0]) * (w[:, 1] if dy else 1 - w[:, 1])
                              * (w[:, 2] if dz else 1 - w[:, 2]))
                    out += weight[:, None] * fields[:, ix, iy, iz].T
        return out


def ar1_filter(noise: np.ndarray, a: float, axis: int) -> np.ndarray:
    """Stationary AR(1) along `axis`, in place: y_0 = e_0, y_k = a y_{k−1} + √(1 − a²) e_k (unit variance kept)."""
    y = np.moveaxis(noise, axis, 0)
    scale = np.float32(np.sqrt(1.0 - a * a))
    for k in range(1, y.shape[0]):
        y[k] = a * y[k - 1] + scale * y[k]
    return noise


def sigma_sf_db(los: np.ndarray, h_ut: np.ndarray) -> np.ndarray:
    """σ_SF (P, n_t) dB of GN/AN links: E8 for LoS, E9's 6 dB for NLoS; h_ut (P, 1) m."""
    return np.where(los, pathloss.sigma_sf_los(h_ut), pathloss.SIGMA_SF_NLOS_DB)


class RandomFields:
    """The frozen E10/E11 fields of one instance (None when the option is off): los_u (n_t, nx, ny, nz) uniform,
    shadow (B, nx, ny, nz) standard normal."""

    def __init__(self, inst, n_terrestrial: int, n_bs: int, rng: np.random.Generator):
        self.raster = Raster(inst)
        shape = self.raster.shape
        self.los_u = None
        self.shadow = None
        if inst.channel_los_mode == "probabilistic":
            self.los_u = rng.random((n_terrestrial, *shape), dtype=np.float32)
        if inst.channel_shadowing:
            a = float(np.exp(-FIELD_SPACING / float(inst.channel_shadow_corr)))
            field = rng.standard_normal((n_bs, *shape), dtype=np.float32)
            for axis in (1, 2, 3):
                ar1_filter(field, a, axis)
            self.shadow = field

    def los(self, q: np.ndarray, d2d: np.ndarray) -> np.ndarray:
        """E10 LoS state (P, n_t) bool: U_b(cell(q)) < P_LoS(d_2D (P, n_t), h_UT = q_z)."""
        p_los = pathloss.p_los_uma_av(d2d, np.asarray(q, dtype=float)[:, 2:3])
        u = self.los_u[(slice(None), *self.raster.cell(q))].T                  # (P, n_t)
        return u < p_los

    def shadowing_db(self, q: np.ndarray, columns: slice) -> np.ndarray:
        """Unit-variance shadowing values (P, len(columns)) of the BSs `columns` at points q."""
        return self.raster.trilinear(self.shadow[columns], q)
