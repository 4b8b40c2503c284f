"""GN/AN sector antennas (§4.2, E4-E7) and the satellite 8x8 UPA (§4.4, E14).

Angles in degrees at the API; gains in dBi. Every function broadcasts over its array arguments.
"""
from __future__ import annotations

import numpy as np


def bs_angles(q: np.ndarray, bs_pos: np.ndarray, sector_az_deg: np.ndarray):
    """E4 geometry from BSs to points. q (P, 3), bs_pos (B, 3), sector_az_deg (B,) ->
    d_2D, d_3D (m), zenith θ (deg, 0 = straight up), relative azimuth φ' in (-180, 180] (deg), each (P, B)."""
    q = np.asarray(q, dtype=float).reshape(-1, 3)
    delta = q[:, None, :] - np.asarray(bs_pos, dtype=float)[None, :, :]
    d2 = np.hypot(delta[..., 0], delta[..., 1])
    d3 = np.sqrt(d2 ** 2 + delta[..., 2] ** 2)
    theta = np.degrees(np.arctan2(d2, delta[..., 2]))                      # E4
    phi = np.degrees(np.arctan2(delta[..., 1], delta[..., 0]))
    phi_rel = wrap_deg(phi - np.asarray(sector_az_deg, dtype=float)[None, :])
    return d2, d3, theta, phi_rel


def wrap_deg(a):
    """Wrap degrees to (-180, 180]."""
    w = np.mod(np.asarray(a, dtype=float) + 180.0, 360.0) - 180.0
    return np.where(w == -180.0, 180.0, w)


def element_gain_db(theta_deg, phi_deg, g_max: float, theta_3db: float, phi_3db: float, sla_v: float,
                    a_m: float):
    """E5 (TR 36.873 Table 7.1-1): G_E = G_max + A_E(θ, φ') dBi."""
    a_v = -np.minimum(12.0 * ((np.asarray(theta_deg) - 90.0) / theta_3db) ** 2, sla_v)
    a_h = -np.minimum(12.0 * (np.asarray(phi_deg) / phi_3db) ** 2, a_m)
    a_e = -np.minimum(-(a_v + a_h), a_m)
    return g_max + a_e


def array_factor(theta_deg, phi_deg, theta_t_deg, n_v: int, n_h: int):
    """E6: AF_V(θ) · AF_H(θ, φ') of an N_V x N_H UPA (0.5 λ, vertical steering to zenith θ_t), linear."""
    th = np.radians(np.asarray(theta_deg, dtype=float))[..., None]
    ph = np.radians(np.asarray(phi_deg, dtype=float))[..., None]
    tt = np.radians(np.asarray(theta_t_deg, dtype=float))[..., None]
    m = np.arange(n_v)
    n = np.arange(n_h)
    af_v = np.abs(np.exp(1j * np.pi * m * (np.cos(tt) - np.cos(th))).sum(axis=-1)) ** 2 / n_v
    af_h = np.abs(np.exp(1j * np.pi * n * np.sin(th) * np.sin(ph)).sum(axis=-1)) ** 2 / n_h
    return af_v * af_h


def bs_gain_db(theta_deg, phi_deg, tilt_deg, n_v: int, n_h: int, g_max: float, theta_3db: float,
               phi_3db: float, sla_v: float, a_m: float):
    """E7: G_b = G_E(θ, φ') + 10 log10(AF_V AF_H) dBi; tilt > 0 is downtilt, θ_t = 90° + tilt."""
    ge = element_gain_db(theta_deg, phi_deg, g_max, theta_3db, phi_3db, sla_v, a_m)
    af = array_factor(theta_deg, phi_deg, 90.0 + np.asarray(tilt_deg, dtype=float), n_v, n_h)
    with np.errstate(divide="ignore"):
        return ge + 10.0 * np.log10(af)


def upa_gain_db(u, v, n_a: int, n_c: int):
    """E14: 10 log10(|Σ_m e^{jπ m u}|² |Σ_n e^{jπ n v}|² / (n_a n_c)) dBi of an unsteered UPA with isotropic
    elements and 0.5 λ spacing (u, v: direction cosines along the two array axes; -inf at exact nulls)."""
    u = np.asarray(u, dtype=float)[..., None]
    v = np.asarray(v, dtype=float)[..., None]
    fa = np.abs(np.exp(1j * np.pi * np.arange(n_a) * u).sum(axis=-1)) ** 2
    fc = np.abs(np.exp(1j * np.pi * np.arange(n_c) * v).sum(axis=-1)) ** 2
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(fa * fc / (n_a * n_c))
