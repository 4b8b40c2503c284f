"""Path loss and satellite geometry (§4.3, E8-E10; §4.4, E12-E16).

Distances and heights in m, carrier frequencies f_c in GHz, losses in dB, time in s.
"""
from __future__ import annotations

import numpy as np


# --- GN/AN: 3GPP TR 36.777 Annex B, UMa-AV -----------------------------------------------------------------
def pl_uma_av_los(d3d, fc_ghz):
    """E8: PL_LoS = 28.0 + 22 log10(d_3D) + 20 log10(f_c) dB."""
    return 28.0 + 22.0 * np.log10(d3d) + 20.0 * np.log10(fc_ghz)


def sigma_sf_los(h_ut):
    """E8: LoS shadowing std σ_SF,LoS = 4.64 exp(-0.0066 h_UT) dB."""
    return 4.64 * np.exp(-0.0066 * np.asarray(h_ut, dtype=float))


SIGMA_SF_NLOS_DB = 6.0        # E9: NLoS shadowing std (dB), TR 36.777 Table B-2


def pl_uma_av_nlos_raw(d3d, h_ut, fc_ghz):
    """E9 (raw): PL'_NLoS = -17.5 + (46 - 7 log10 h_UT) log10(d_3D) + 20 log10(40 π f_c / 3) dB."""
    return -17.5 + (46.0 - 7.0 * np.log10(h_ut)) * np.log10(d3d) + 20.0 * np.log10(40.0 * np.pi * fc_ghz / 3.0)


def pl_uma_av_nlos(d3d, h_ut, fc_ghz):
    """E9 (used): PL_NLoS = max(PL_LoS, PL'_NLoS) dB, so an obstructed link is never better than a clear one."""
    return np.maximum(pl_uma_av_los(d3d, fc_ghz), pl_uma_av_nlos_raw(d3d, h_ut, fc_ghz))


def p_los_uma_av(d2d, h_ut):
    """E10: UMa-AV LoS probability (TR 36.777 Annex B) for 22.5 m < h_UT <= 300 m (1 above 100 m)."""
    d2d, h_ut = np.broadcast_arrays(np.asarray(d2d, dtype=float), np.asarray(h_ut, dtype=float))
    lg = np.log10(h_ut)
    d1 = np.maximum(460.0 * lg - 700.0, 18.0)
    p1 = 4300.0 * lg - 3800.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        far = d1 / d2d + np.exp(-d2d / p1) * (1.0 - d1 / d2d)
    low = np.where(d2d <= d1, 1.0, far)
    return np.where(h_ut > 100.0, 1.0, low)


# --- SN: geometry (E12-E15) and TR 38.811 path loss (E16) ------------------------------------------------
def sat_positions(t, pass_times, x_pass: float, y_track: float, altitude: float, ground_speed: float,
                  earth_radius: float):
    """E12: satellite positions (..., S, 3) m in the local frame at times t (...,) s, and central angles ψ
    (..., S) rad. pass_times (S,) s."""
    t = np.asarray(t, dtype=float)[..., None]
    psi = ground_speed * (t - np.asarray(pass_times, dtype=float)) / earth_radius
    r = earth_radius + altitude
    pos = np.stack([x_pass + r * np.sin(psi), np.full_like(psi, y_track), r * np.cos(psi) - earth_radius], axis=-1)
    return pos, psi


def sat_frame(psi):
    """E13: body axes (along-track e_a, cross-track e_c, boresight e_n), each (..., 3), for central angle ψ."""
    psi = np.asarray(psi, dtype=float)
    z, o = np.zeros_like(psi), np.ones_like(psi)
    e_a = np.stack([np.cos(psi), z, -np.sin(psi)], axis=-1)
    e_c = np.stack([z, o, z], axis=-1)
    e_n = np.stack([-np.sin(psi), z, -np.cos(psi)], axis=-1)
    return e_a, e_c, e_n


def direction_cosines(q, p_sat, psi):
    """E13: (u, v) of the unit vector from the satellite to q in its body frame, and the slant range d (m).
    q (..., 3), p_sat (..., 3), psi (...) -> u, v, d each (...)."""
    diff = np.asarray(q, dtype=float) - p_sat
    d = np.linalg.norm(diff, axis=-1)
    uhat = diff / d[..., None]
    e_a, e_c, _ = sat_frame(psi)
    return (uhat * e_a).sum(-1), (uhat * e_c).sum(-1), d


def elevation_deg(q, p_sat):
    """E15: elevation ε (deg) of the satellite seen from q: asin((p_s - q)_z / ||p_s - q||)."""
    diff = p_sat - np.asarray(q, dtype=float)
    return np.degrees(np.arcsin(diff[..., 2] / np.linalg.norm(diff, axis=-1)))


def fspl_db(d, fc_ghz):
    """E16: FSPL = 32.45 + 20 log10 f_c[GHz] + 20 log10 d[m] dB."""
    return 32.45 + 20.0 * np.log10(fc_ghz) + 20.0 * np.log10(d)


def pl_sat(d, fc_ghz, scintillation_db: float, polarization_loss_db: float):
    """E16: PL_SN = FSPL + PL_g (0: f_c < 10 GHz, ε >= 10°) + PL_s + L_pol dB (LoS, clutter loss 0)."""
    return fspl_db(d, fc_ghz) + scintillation_db + polarization_loss_db
