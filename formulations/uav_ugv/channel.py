"""Air-to-ground channel (§4, E4–E16): elevation-dependent LoS probability, mean path loss, access SINR with
inter-UAV interference, backhaul SNR. Vectorized over any leading axes (slots, UAVs, users)."""
from __future__ import annotations

import numpy as np

LN2 = float(np.log(2.0))
LN10_10 = float(np.log(10.0) / 10.0)


def g0(inst) -> float:
    """G_0 = (c / (4π f_c))², the free-space gain at 1 m (E8)."""
    return float((inst.c_light / (4.0 * np.pi * inst.carrier_hz)) ** 2)


def fspl_db(inst, d) -> np.ndarray:
    """(E8) FSPL(d) = 20 log10(4π f_c d / c) dB; d in m."""
    return 20.0 * np.log10(4.0 * np.pi * inst.carrier_hz * np.asarray(d, dtype=float) / inst.c_light)


def elevation_deg(z, d) -> np.ndarray:
    """(E6) ψ = (180/π) arcsin(z / d), degrees."""
    return np.degrees(np.arcsin(np.clip(np.asarray(z, dtype=float) / np.asarray(d, dtype=float), -1.0, 1.0)))


def p_los(inst, psi) -> np.ndarray:
    """(E7) P^LoS(ψ) = 1 / (1 + a exp(−b(ψ − a)))."""
    return 1.0 / (1.0 + inst.los_a * np.exp(-inst.los_b * (np.asarray(psi, dtype=float) - inst.los_a)))


def p_los_slope(inst, psi) -> np.ndarray:
    """dP^LoS/dψ = a b e^(−b(ψ−a)) / (1 + a e^(−b(ψ−a)))² (per degree, E29)."""
    e = np.exp(-inst.los_b * (np.asarray(psi, dtype=float) - inst.los_a))
    return inst.los_a * inst.los_b * e / (1.0 + inst.los_a * e) ** 2


def excess_db(inst, psi) -> np.ndarray:
    """(E10) η(ψ) = β^NLoS + P^LoS(ψ)(β^LoS − β^NLoS), dB."""
    return inst.beta_nlos_db + p_los(inst, psi) * (inst.beta_los_db - inst.beta_nlos_db)


def path_loss_db(inst, d, z) -> np.ndarray:
    """(E10) mean path loss L = FSPL(d) + η(ψ(z, d)), dB."""
    return fspl_db(inst, d) + excess_db(inst, elevation_deg(z, d))


def gain(inst, d, z) -> np.ndarray:
    """(E11) g = G_0 10^(−η/10) / d² (linear)."""
    d = np.asarray(d, dtype=float)
    return g0(inst) * 10.0 ** (-excess_db(inst, elevation_deg(z, d)) / 10.0) / (d * d)


def distances(q: np.ndarray, ground: np.ndarray) -> np.ndarray:
    """(E4/E5) 3-D distance between UAVs q (..., U, 3) and ground points (..., G, 2): (..., U, G) m."""
    dx = q[..., :, None, 0] - ground[..., None, :, 0]
    dy = q[..., :, None, 1] - ground[..., None, :, 1]
    z = q[..., :, None, 2]
    return np.sqrt(dx * dx + dy * dy + z * z)


def access_power(inst, q: np.ndarray, users: np.ndarray) -> np.ndarray:
    """(E12) received access power S_{u,k} = P_u g_{u,k}, (..., U, K) W."""
    d = distances(q, users)
    return inst.uav_power_w * gain(inst, d, np.broadcast_to(q[..., :, None, 2], d.shape))


def sinr(inst, S: np.ndarray) -> np.ndarray:
    """(E13) SINR_{u,k} = S_{u,k} / (Σ_{u'≠u} S_{u',k} + σ²), from S (..., U, K)."""
    total = S.sum(axis=-2, keepdims=True)
    return S / (total - S + inst.noise_w)


def spectral_efficiency(inst, S: np.ndarray) -> np.ndarray:
    """(E14) SE = log2(1 + SINR), bit/s/Hz, (..., U, K)."""
    return np.log2(1.0 + sinr(inst, S))


def backhaul_snr(inst, q: np.ndarray, ugv_xy: np.ndarray) -> np.ndarray:
    """(E15) SNR_{m,u} = P_m g_{m,u} / σ², (..., M, U) linear, UGV antennas at height 0."""
    d = distances(q, ugv_xy)                                     # (..., U, M)
    g = gain(inst, d, np.broadcast_to(q[..., :, None, 2], d.shape))
    return np.swapaxes(inst.ugv_power_w * g / inst.noise_w, -1, -2)


def backhaul_radius_m(inst, z: float, snr_min_db: float | None = None) -> float:
    """Largest horizontal distance with SNR ≥ γ_min at UAV altitude z (check 5), by bisection on the monotone
    decreasing SNR; 0 when even straight above fails."""
    target = 10.0 ** ((inst.snr_min_backhaul_db if snr_min_db is None else snr_min_db) / 10.0)

    def snr(h):
        d = np.hypot(h, z)
        return inst.ugv_power_w * gain(inst, d, z) / inst.noise_w

    if snr(0.0) < target:
        return 0.0
    lo, hi = 0.0, 1.0
    while snr(hi) >= target:
        hi *= 2.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if snr(mid) >= target else (lo, mid)
    return lo
