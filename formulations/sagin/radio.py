"""Received power, noise, fading, SINR and rate (§4.5, E17-E23) and the rate oracle backends (§4.6).

Shapes: P query points q (P, 3) m with times t (P,) s (or a scalar), B = B_tot BSs in the §3.1 order,
J frozen fading draws. Powers in mW (linear) or dBm, rates in Mbit/s. `RadioModel` precomputes the per-instance
static quantities once (BS geometry, per-site LoS tables, fading gains); `radio_model(instance)` caches it.
`exact` backend: `RadioModel.rates`; `cached` backend (training only): `CachedRadioMap`.
"""
from __future__ import annotations

import functools
import math
import weakref
from dataclasses import dataclass

import numpy as np

from optkit.formulations.sagin import antennas, pathloss
from optkit.formulations.sagin.buildings import SiteLos
from optkit.formulations.sagin.fields import SIGMA_SF_SN_DB, RandomFields, sigma_sf_db

THERMAL_DBM_PER_HZ = -174.0          # thermal noise density (E18, D9)
CHUNK = 200_000                      # elements P * J * B per vectorized block of the SINR computation


def noise_mw(bandwidth_hz, noise_figure_db):
    """E18: σ² = 10^((-174 + 10 log10 W + NF)/10) mW."""
    return 10.0 ** ((THERMAL_DBM_PER_HZ + 10.0 * np.log10(bandwidth_hz) + noise_figure_db) / 10.0)


def fading_gains(z: np.ndarray, k_db: float) -> tuple[np.ndarray, np.ndarray]:
    """E19: small-scale power gains (J, B) for LoS, |√(K/(K+1)) + √(1/(K+1)) Z|², and NLoS, |Z|²."""
    k = 10.0 ** (k_db / 10.0)
    h_los = np.abs(math.sqrt(k / (k + 1.0)) + math.sqrt(1.0 / (k + 1.0)) * z) ** 2
    return h_los, np.abs(z) ** 2


def link_rates(p_mw: np.ndarray, los: np.ndarray, h_los: np.ndarray, h_nlos: np.ndarray, groups,
               noise: np.ndarray, bandwidth: np.ndarray) -> np.ndarray:
    """E20-E21: expected rates (P, B) Mbit/s.

    p_mw (P, B) mean received powers (0 for an unavailable BS), los (P, B) bool, h_los / h_nlos (J, B) fading
    gains, groups: index arrays of the BSs of each network (co-channel inside a group only), noise (B,) mW,
    bandwidth (B,) Hz. SINR_b^(j) = p_b h_b^(j) / (Σ_{i in net(b), i != b} p_i h_i^(j) + σ²), the interference
    being the network total minus the own term.
    """
    p_mw = np.asarray(p_mw, dtype=float)
    n_p, n_b = p_mw.shape
    out = np.zeros((n_p, n_b))
    j = h_los.shape[0]
    for g in groups:
        g = np.asarray(g)
        if g.size == 0:
            continue
        step = max(1, CHUNK // (j * g.size))
        hl, hn = h_los[None, :, g], h_nlos[None, :, g]
        for s in range(0, n_p, step):
            sl = slice(s, s + step)
            sig = p_mw[sl, None, g] * np.where(los[sl, None, g], hl, hn)          # (p, J, |g|)
            tot = sig.sum(axis=-1, keepdims=True)
            sinr = sig / (tot - sig + noise[g])                                   # E20
            out[sl, g] = bandwidth[g] / 1e6 * np.log2(1.0 + sinr).mean(axis=1)    # E21
    return out


@dataclass(frozen=True)
class LinkState:
    """Large-scale state of every link at P points: rx power (P, B) mW (0 if unavailable), RSRP (P, B) dBm
    (-inf if unavailable, E22), LoS (P, B) bool, available (P, B) bool."""

    p_mw: np.ndarray
    rsrp_dbm: np.ndarray
    los: np.ndarray
    available: np.ndarray


class RadioModel:
    """The exact rate oracle of one instance (E3-E23)."""

    def __init__(self, inst):
        self.inst = inst
        pos, az, tilt, arr, fc, tx, net, site_of, sites = [], [], [], [], [], [], [], [], []
        for k, name in enumerate(("gn", "an")):
            h = getattr(inst, f"{name}_height")
            for sxy in np.asarray(getattr(inst, f"{name}_sites_xy")).reshape(-1, 2):
                sites.append((sxy[0], sxy[1], h))
                for a in getattr(inst, f"{name}_sector_azimuths"):
                    pos.append(sites[-1]); az.append(a); site_of.append(len(sites) - 1)
                    tilt.append(getattr(inst, f"{name}_tilt")); arr.append(getattr(inst, f"{name}_array"))
                    fc.append(getattr(inst, f"{name}_fc")); tx.append(getattr(inst, f"{name}_tx_power"))
                    net.append(k)
        self.n_t = len(pos)                                   # GN + AN sectors
        self.n_s = int(inst.sn_n_sats)
        self.n_bs = self.n_t + self.n_s
        self.bs_pos = np.asarray(pos, dtype=float).reshape(-1, 3)
        self.sector_az = np.asarray(az, dtype=float)
        self.tilt = np.asarray(tilt, dtype=float)
        self.arrays = [tuple(a) for a in arr]
        self.fc_t = np.asarray(fc, dtype=float)
        self.tx_t = np.asarray(tx, dtype=float)
        self.site_of = np.asarray(site_of, dtype=np.int64)
        self.network = np.asarray(net + [2] * self.n_s, dtype=np.int64)      # 0 GN, 1 AN, 2 SN per BS
        self.groups = [np.flatnonzero(self.network == k) for k in range(3)]
        bw = {0: inst.gn_bandwidth, 1: inst.an_bandwidth, 2: inst.sn_bandwidth}
        nf = {0: inst.gn_noise_figure, 1: inst.an_noise_figure, 2: inst.sn_noise_figure}
        self.bandwidth = np.array([bw[k] for k in self.network], dtype=float)
        self.noise = noise_mw(self.bandwidth, np.array([nf[k] for k in self.network], dtype=float))   # E18
        self.h_los, self.h_nlos = fading_gains(inst.fading_z, inst.channel_rician_k_db)           # E19
        centres = np.asarray(inst.building_centers)
        heights = np.asarray(inst.building_heights)
        self.site_los = [SiteLos(np.asarray(s), centres, inst.building_width, heights) for s in sites]
        self.fields = None                                    # optional E10 / E11 fields (§3.2 step 5)
        if inst.channel_los_mode == "probabilistic" or inst.channel_shadowing:
            from optkit.formulations.sagin.generator import streams

            self.fields = RandomFields(inst, self.n_t, self.n_bs, streams(inst.seed)["field"])

    # --- GN/AN ------------------------------------------------------------------------------------------
    def terrestrial(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """RSRP (P, n_t) dBm (E22 with E4-E9) and LoS (P, n_t) bool of the GN/AN sectors at points q (P, 3)."""
        inst = self.inst
        q = np.asarray(q, dtype=float).reshape(-1, 3)
        d2, d3, theta, phi = antennas.bs_angles(q, self.bs_pos, self.sector_az)                  # E4
        gain = np.empty_like(d3)
        for cols in _same_array(self.arrays):
            nv, nh = self.arrays[cols[0]]
            gain[:, cols] = antennas.bs_gain_db(theta[:, cols], phi[:, cols], self.tilt[cols], nv, nh,
                                                inst.element_g_max, inst.element_theta_3db, inst.element_phi_3db,
                                                inst.element_sla_v, inst.element_a_m)             # E5-E7
        if inst.channel_los_mode == "probabilistic":
            los = self.fields.los(q, d2)                                                         # E10
        else:
            los = np.empty(d3.shape, dtype=bool)
            for s, sl in enumerate(self.site_los):
                cols = np.flatnonzero(self.site_of == s)
                los[:, cols] = sl.los(q)[:, None]                                               # E3
        h_ut = q[:, 2:3]
        pl = np.where(los, pathloss.pl_uma_av_los(d3, self.fc_t),                                # E8
                      pathloss.pl_uma_av_nlos(d3, h_ut, self.fc_t))                              # E9
        if inst.channel_shadowing:                                                               # E11
            pl = pl + sigma_sf_db(los, h_ut) * self.fields.shadowing_db(q, slice(0, self.n_t))
        rsrp = self.tx_t + gain + inst.uav_antenna_gain - pl                                     # E17, E22
        return rsrp, los

    # --- SN -----------------------------------------------------------------------------------------------
    def satellite(self, q: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
        """RSRP (P, S) dBm (-inf when unavailable) and availability (P, S) bool of the satellites (E12-E16)."""
        inst = self.inst
        q = np.asarray(q, dtype=float).reshape(-1, 3)
        t = np.broadcast_to(np.asarray(t, dtype=float), (q.shape[0],))
        if self.n_s == 0:
            return np.zeros((q.shape[0], 0)), np.zeros((q.shape[0], 0), dtype=bool)
        p_sat, psi = pathloss.sat_positions(t, inst.sn_pass_times, inst.sn_pass_x, inst.sn_track_y,
                                            inst.sn_altitude, inst.sn_ground_speed, inst.sn_earth_radius)  # E12
        u, v, d = pathloss.direction_cosines(q[:, None, :], p_sat, psi)                           # E13
        if inst.sn_beam_mode == "area_fixed":
            c = np.array([(inst.area_x_min + inst.area_x_max) / 2, (inst.area_y_min + inst.area_y_max) / 2, 0.0])
            uc, vc, _ = pathloss.direction_cosines(c, p_sat, psi)
            u, v = u - uc, v - vc
        gain = antennas.upa_gain_db(u, v, *inst.sn_array)                                         # E14
        avail = pathloss.elevation_deg(q[:, None, :], p_sat) >= inst.sn_min_elevation             # E15
        pl = pathloss.pl_sat(d, inst.sn_fc, inst.channel_scintillation_db, inst.channel_polarization_loss_db)
        if inst.channel_shadowing:                                                               # E11, E16 (+ SF)
            pl = pl + SIGMA_SF_SN_DB * self.fields.shadowing_db(q, slice(self.n_t, self.n_bs))
        rsrp = inst.sn_tx_power + gain + inst.uav_antenna_gain - pl                               # E17, E22
        return np.where(avail, rsrp, -np.inf), avail

    # --- all links ---------------------------------------------------------------------------------------
    def links(self, q: np.ndarray, t) -> LinkState:
        """LinkState of all B links at points q (P, 3) and times t."""
        rsrp_t, los_t = self.terrestrial(q)
        rsrp_s, avail_s = self.satellite(q, t)
        rsrp = np.concatenate([rsrp_t, rsrp_s], axis=1)
        los = np.concatenate([los_t, np.ones_like(avail_s)], axis=1)         # SN links always LoS (E3)
        avail = np.concatenate([np.ones_like(los_t), avail_s], axis=1)
        with np.errstate(under="ignore"):
            p = np.where(avail, 10.0 ** (rsrp / 10.0), 0.0)                  # E17
        return LinkState(p, rsrp, los, avail)

    def rates(self, q: np.ndarray, t) -> np.ndarray:
        """Exact expected rates R_b(q, t) (P, B) Mbit/s (E21); 0 for an unavailable satellite."""
        s = self.links(q, t)
        return link_rates(s.p_mw, s.los, self.h_los, self.h_nlos, self.groups, self.noise, self.bandwidth)

    def terrestrial_rsrp_and_rates(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """GN/AN RSRP (P, n_t) dBm and rates (P, n_t) Mbit/s (time-independent)."""
        rsrp, los = self.terrestrial(q)
        p = 10.0 ** (rsrp / 10.0)
        g = [np.asarray(x) for x in self.groups[:2]]
        return rsrp, link_rates(p, los, self.h_los[:, :self.n_t], self.h_nlos[:, :self.n_t], g,
                                self.noise[:self.n_t], self.bandwidth[:self.n_t])

    def terrestrial_rates(self, q: np.ndarray) -> np.ndarray:
        """GN/AN rates (P, n_t) Mbit/s (time-independent)."""
        return self.terrestrial_rsrp_and_rates(q)[1]

    def satellite_rates(self, q: np.ndarray, t) -> np.ndarray:
        """SN rates (P, S) Mbit/s at times t."""
        return self.satellite_rates_available(q, t)[0]

    def satellite_rates_available(self, q: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
        """SN rates (P, S) Mbit/s and availability (P, S) bool at times t, from one geometry evaluation."""
        rsrp, avail = self.satellite(q, t)
        with np.errstate(under="ignore"):
            p = np.where(avail, 10.0 ** (rsrp / 10.0), 0.0)
        sl = slice(self.n_t, self.n_bs)
        rates = link_rates(p, np.ones_like(avail), self.h_los[:, sl], self.h_nlos[:, sl], [np.arange(self.n_s)],
                           self.noise[sl], self.bandwidth[sl])
        return rates, avail

    def large_scale_sinr(self, q: np.ndarray, t) -> np.ndarray:
        """E23: fading-averaged SINR Γ̄_b (P, B), linear."""
        s = self.links(q, t)
        out = np.zeros_like(s.p_mw)
        for g in self.groups:
            tot = s.p_mw[:, g].sum(axis=1, keepdims=True)
            out[:, g] = s.p_mw[:, g] / (tot - s.p_mw[:, g] + self.noise[g])
        return out


def _same_array(arrays):
    """Column groups of BSs sharing the same (N_V, N_H)."""
    out: dict = {}
    for i, a in enumerate(arrays):
        out.setdefault(a, []).append(i)
    return [np.asarray(v) for v in out.values()]


_MODELS: dict = {}


def _forget(models: dict, key: int, _ref) -> None:
    models.pop(key, None)


def radio_model(inst) -> RadioModel:
    """The cached RadioModel of an instance, built once per instance *object* (keyed by identity: instances
    compare equal by value through the dataclass base, so they cannot key a weak dictionary)."""
    key = id(inst)
    entry = _MODELS.get(key)
    if entry is None or entry[0]() is not inst:
        # the callback holds the dict itself: at interpreter exit the module global may already be None
        forget = functools.partial(_forget, _MODELS, key)
        entry = _MODELS[key] = (weakref.ref(inst, forget), RadioModel(inst))
    return entry[1]


# --- cached backend (§4.6, training only) ---------------------------------------------------------------------
CACHED_TOLERANCE_MBPS = 0.5          # documented: |cached - exact| <= 0.5 Mbit/s at >= 90 % of random points
CACHED_TOLERANCE_SHARE = 0.9
RASTER_CHUNK = 20_000                # raster points per block while building the cached map


class CachedRadioMap:
    """GN/AN rates and RSRPs on a raster (spacing channel_raster_xy in x, y and channel_raster_z in z, over
    `box` (2, 3), default the airspace), trilinearly interpolated; SN rates always exact. Accuracy: within
    CACHED_TOLERANCE_MBPS of the exact backend at >= 90 % of random points (LoS boundaries give isolated larger
    errors; measured on paper-default seed 0: 99.4 % of (point, BS) pairs and 91 % of points with all 18 BSs
within 0.5 Mbit/s). Building the full paper-default airspace raster (201 x 201 x 21 nodes) takes about a
minute on one core. For training only: everything that is scored uses the exact backend."""

    def __init__(self, model: RadioModel, box: np.ndarray | None = None):
        inst = model.inst
        self.model = model
        box = inst.airspace_box if box is None else np.asarray(box, dtype=float)
        spacing = (inst.channel_raster_xy, inst.channel_raster_xy, inst.channel_raster_z)
        self.axes = [np.linspace(box[0, k], box[1, k], int(math.ceil((box[1, k] - box[0, k]) / spacing[k] - 1e-9)) + 1)
                     for k in range(3)]
        grid = np.stack(np.meshgrid(*self.axes, indexing="ij"), axis=-1).reshape(-1, 3)
        shape = tuple(len(a) for a in self.axes) + (model.n_t,)
        rates = np.empty((grid.shape[0], model.n_t))
        rsrp = np.empty((grid.shape[0], model.n_t))
        for s in range(0, grid.shape[0], RASTER_CHUNK):               # bounded memory on the full airspace
            sl = slice(s, s + RASTER_CHUNK)
            rsrp[sl], rates[sl] = model.terrestrial_rsrp_and_rates(grid[sl])
        self.rate_grid = rates.reshape(shape)
        self.rsrp_grid = rsrp.reshape(shape)

    def _interp(self, grid: np.ndarray, q: np.ndarray) -> np.ndarray:
        q = np.asarray(q, dtype=float).reshape(-1, 3)
        idx, wts = [], []
        for k, ax in enumerate(self.axes):
            n = len(ax)
            if n == 1:
                i0 = np.zeros(q.shape[0], dtype=np.int64)
                idx.append((i0, i0)); wts.append(np.zeros(q.shape[0]))
                continue
            f = np.clip((q[:, k] - ax[0]) / (ax[-1] - ax[0]) * (n - 1), 0, n - 1)
            i0 = np.minimum(np.floor(f).astype(np.int64), n - 2)
            idx.append((i0, i0 + 1)); wts.append(f - i0)
        out = 0.0
        for cx in (0, 1):
            for cy in (0, 1):
                for cz in (0, 1):
                    w = ((wts[0] if cx else 1 - wts[0]) * (wts[1] if cy else 1 - wts[1])
                         * (wts[2] if cz else 1 - wts[2]))
                    out = out + w[:, None] * grid[idx[0][cx], idx[1][cy], idx[2][cz]]
        return out

    def terrestrial_rates(self, q: np.ndarray) -> np.ndarray:
        """Interpolated GN/AN rates (P, n_t) Mbit/s."""
        return self._interp(self.rate_grid, q)

    def terrestrial_rsrp(self, q: np.ndarray) -> np.ndarray:
        """Interpolated GN/AN RSRP (P, n_t) dBm."""
        return self._interp(self.rsrp_grid, q)

    def rates(self, q: np.ndarray, t) -> np.ndarray:
        """Rates (P, B) Mbit/s: interpolated GN/AN, exact SN."""
        return self.rates_available(q, t)[0]

    def rates_available(self, q: np.ndarray, t) -> tuple[np.ndarray, np.ndarray]:
        """Rates (P, B) Mbit/s (interpolated GN/AN, exact SN) and availability (P, B) bool (GN/AN always)."""
        sn_rates, sn_avail = self.model.satellite_rates_available(q, t)
        n = np.asarray(q).reshape(-1, 3).shape[0]
        return (np.concatenate([self.terrestrial_rates(q), sn_rates], axis=1),
                np.concatenate([np.ones((n, self.model.n_t), dtype=bool), sn_avail], axis=1))


def rate_normalisation(inst, chunk: int = 2000) -> tuple[float, float]:
    """E31: (R_min^E, R_max^E) Mbit/s. R_max^E = max of the GN/AN rates over the nodes of L(50 m) anchored at q_f
    inside the *area* box (the same for every preset sharing the world) and the SN rates at
    (x_pass, y_track, area z_min) at each pass time. Exact backend."""
    model = radio_model(inst)
    dest = np.asarray(inst.uav_destination, dtype=float)
    lo = np.array([inst.area_x_min, inst.area_y_min, inst.area_z_min])
    hi = np.array([inst.area_x_max, inst.area_y_max, inst.area_z_max])
    h = 50.0
    axes = [dest[k] + h * np.arange(np.ceil((lo[k] - dest[k]) / h - 1e-9), np.floor((hi[k] - dest[k]) / h + 1e-9) + 1)
            for k in range(3)]
    nodes = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    r_max = 0.0
    if model.n_t:
        for s in range(0, nodes.shape[0], chunk):
            r_max = max(r_max, float(model.terrestrial_rates(nodes[s:s + chunk]).max()))
    if model.n_s:
        q = np.tile([inst.sn_pass_x, inst.sn_track_y, inst.area_z_min], (model.n_s, 1))
        r_max = max(r_max, float(model.satellite_rates(q, np.asarray(inst.sn_pass_times)).max()))
    return 0.0, r_max
