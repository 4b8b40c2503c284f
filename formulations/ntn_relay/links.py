"""Link rates of `ntn-relay` (§4.4): RF (E8), Kim visibility (E9), Beer–Lambert (E10), the Lapidoth–Moser–Wigger
bound (E11), FSO (E12) and the hybrid selection (E13). Distances in km, bandwidths in Hz, rates in bit/s."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

LN2 = math.log(2.0)


def log2_1p(x):
    """log2(1 + x) as log1p(x)/ln 2, exact for tiny x (§10, degenerate cases)."""
    return np.log1p(x) / LN2


def kim_exponent(visibility_km: float) -> float:
    """q_K(V_vis) of the Kim model (E9)."""
    v = float(visibility_km)
    if v > 50.0:
        return 1.6
    if v > 6.0:
        return 1.3
    if v > 1.0:
        return 0.16 * v + 0.34
    if v > 0.5:
        return v - 0.5
    return 0.0


def fso_attenuation(visibility_km: float, wavelength_nm: float) -> float:
    """σ_V = (3.91 / V_vis) (λ/550)^(−q_K), 1/km (E9)."""
    return 3.91 / visibility_km * (wavelength_nm / 550.0) ** (-kim_exponent(visibility_km))


def _lmw_f(mu: float) -> float:
    """f(μ) = 1/μ − 1/expm1(μ), decreasing from ½ to 0 (E11, cancellation-free)."""
    if mu < 1e-3:
        return 0.5 - mu / 12.0 + mu ** 3 / 720.0
    inv = 0.0 if mu > 700.0 else 1.0 / math.expm1(mu)
    return 1.0 / mu - inv


def lmw_mu(alpha: float) -> float:
    """The root μ > 0 of α = 1/μ − e^{−μ}/(1 − e^{−μ}) by Brent's method on [1e-6, 1e6] (E11); α < ½."""
    from scipy.optimize import brentq

    if alpha < 1e-6:
        return 1.0 / alpha
    return float(brentq(lambda m: _lmw_f(m) - alpha, 1e-6, 1e6, xtol=1e-14, rtol=4 * np.finfo(float).eps,
                        maxiter=500))


def lmw_kappa(alpha: float) -> float:
    """κ(α) of the LMW lower bound (E11): e^{2αμ}(1 − e^{−μ})²/(2πe α² μ²) for α < ½, 1/(2πe α²) otherwise."""
    alpha = float(alpha)
    if alpha >= 0.5 - 1e-6:
        return 1.0 / (2.0 * math.pi * math.e * alpha ** 2)
    mu = lmw_mu(alpha)
    # e^{2αμ}(1 − e^{−μ})² in logs (μ can reach 1e6 as α → 0)
    log_num = 2.0 * alpha * mu + 2.0 * math.log(-math.expm1(-mu))
    return math.exp(log_num - math.log(2.0 * math.pi * math.e) - 2.0 * math.log(alpha * mu))


def rate_rf(b, d_km, gamma0: float):
    """R_RF(b, d) = b log2(1 + γ0 / (1000 d)²), bit/s (E8)."""
    return b * log2_1p(gamma0 / (1000.0 * np.asarray(d_km, dtype=float)) ** 2)


def fso_snr(d_km, sigma: float, kappa: float, eps: float):
    """κ (h_F(d) ε)² with h_F = exp(−σ_V d) (E10, E12)."""
    return kappa * eps ** 2 * np.exp(-2.0 * sigma * np.asarray(d_km, dtype=float))


def rate_fso(b, d_km, sigma: float, kappa: float, eps: float, prefactor: float = 0.5):
    """R_FSO(b, d) = f_p b log2(1 + κ (h_F(d) ε)²), bit/s (E12, D15)."""
    return prefactor * b * log2_1p(fso_snr(d_km, sigma, kappa, eps))


@dataclass(frozen=True)
class LinkModel:
    """The link constants of an instance: γ0 (linear), σ_V (1/km), κ(α), ε (linear), prefactor, mode."""

    gamma0: float
    sigma: float
    kappa: float
    eps: float
    prefactor: float
    mode: str

    @classmethod
    def of(cls, inst) -> "LinkModel":
        return cls(gamma0=10.0 ** (inst.rf_ref_snr_db / 10.0),
                   sigma=fso_attenuation(inst.visibility_km, inst.fso_wavelength_nm),
                   kappa=lmw_kappa(inst.fso_apr), eps=10.0 ** (inst.fso_asnr_db / 10.0),
                   prefactor=inst.fso_rate_prefactor, mode=inst.link_mode)

    def rf(self, b, d_km):
        return rate_rf(b, d_km, self.gamma0)

    def fso(self, b, d_km):
        return rate_fso(b, d_km, self.sigma, self.kappa, self.eps, self.prefactor)

    def rate(self, b, d_km):
        """(R_X(b, d), is_fso) under the link mode (E13: hybrid takes the larger, FSO only when strictly larger)."""
        if self.mode == "rf":
            r = self.rf(b, d_km)
            return r, np.zeros(np.shape(r), dtype=bool)
        if self.mode == "fso":
            r = self.fso(b, d_km)
            return r, np.ones(np.shape(r), dtype=bool)
        rf, fso = self.rf(b, d_km), self.fso(b, d_km)
        is_fso = fso > rf
        return np.where(is_fso, fso, rf), is_fso


def crossover_km(link: LinkModel, lo: float = 500.0, hi: float = 5000.0) -> float:
    """The distance where R_FSO = R_RF in [lo, hi] km (EXP-F7), by Brent's method; NaN without a sign change."""
    from scipy.optimize import brentq

    def diff(d):
        return float(link.fso(1.0, d) - link.rf(1.0, d))

    if diff(lo) * diff(hi) > 0:
        return float("nan")
    return float(brentq(diff, lo, hi, xtol=1e-9))
