"""Per-episode tables: every eligible (step, satellite) pair of one episode with its geometry, features and reward,
computed in one vectorized pass (§4.9), stored as CSR over the episode's steps.

Both the environment and the evaluator read episodes through `episode_table`, so a policy and its score see the
same numbers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optkit.formulations.leo_handover.generator import EpisodeSpec

FEATURE_COLUMNS = ("dirdiff", "azimuth", "elevation", "range", "radial")
WINDOW_MARGIN_S = 1800.0          # W of E4b: moving-terminal windows are computed on [k0 - W, k0 + L + W]


@dataclass(frozen=True)
class Scaler:
    """Range bounds of E18 fitted on the training worlds, and the radial bound b (km, km, km/s)."""

    d_min_km: float
    d_max_km: float
    radial_bound_kmps: float = 8.0


@dataclass(frozen=True)
class EpisodeTable:
    """Eligible pairs of one episode of L steps (absolute steps k0..k0+L-1), sorted by (step, satellite id).

    step_ptr (L+1,): pairs of episode step k are step_ptr[k]:step_ptr[k+1] (empty = outage step).
    Per pair (S,): sat, start/end (absolute bounds of the satellite's eligibility window, E16), el_deg, az_deg,
    range_km, dirdiff_deg, range_rate_kmps, features (S, 5) normalized in FEATURE_COLUMNS order (E18),
    reward (E20-E22, without the handover penalty).
    """

    spec: EpisodeSpec
    dt_s: float
    step_ptr: np.ndarray
    sat: np.ndarray
    start: np.ndarray
    end: np.ndarray
    el_deg: np.ndarray
    az_deg: np.ndarray
    range_km: np.ndarray
    dirdiff_deg: np.ndarray
    range_rate_kmps: np.ndarray
    features: np.ndarray
    reward: np.ndarray

    @property
    def L(self) -> int:
        return int(self.spec.L)

    @property
    def counts(self) -> np.ndarray:
        """|E(k)| per episode step, (L,)."""
        return np.diff(self.step_ptr)

    @property
    def step(self) -> np.ndarray:
        """Episode step (0..L-1) of every pair, (S,)."""
        return np.repeat(np.arange(self.L), self.counts)

    def pairs(self, k: int) -> slice:
        return slice(int(self.step_ptr[k]), int(self.step_ptr[k + 1]))

    def find(self, k: int, sat: int) -> int:
        """Index of the pair (k, sat), or -1 when sat is not eligible at episode step k."""
        lo, hi = int(self.step_ptr[k]), int(self.step_ptr[k + 1])
        i = lo + int(np.searchsorted(self.sat[lo:hi], sat))
        return i if i < hi and self.sat[i] == sat else -1


def normalized_features(geometry: dict, scaler: Scaler) -> np.ndarray:
    """(P, 5) features x_dd, x_az, x_el, x_rg, x_rad in [0, 1] (E18)."""
    x_dd = geometry["dirdiff_deg"] / 180.0
    x_az = geometry["az_deg"] / 360.0
    x_el = np.clip(geometry["el_deg"] / 90.0, 0.0, 1.0)
    x_rg = np.clip((geometry["range_km"] - scaler.d_min_km) / (scaler.d_max_km - scaler.d_min_km), 0.0, 1.0)
    b = scaler.radial_bound_kmps
    x_rad = np.clip((geometry["range_rate_kmps"] + b) / (2.0 * b), 0.0, 1.0)
    return np.stack([x_dd, x_az, x_el, x_rg, x_rad], axis=-1)


def reward(features: np.ndarray, el_deg: np.ndarray, params: dict) -> np.ndarray:
    """Per-pair reward of E20-E22 from the normalized features (..., >=4) and the true elevation (deg)."""
    w_dd, w_az, w_el, w_rg = (float(w) for w in params["reward_weights"])
    x_dd, x_az, x_el, x_rg = (features[..., i] for i in range(4))
    r0 = w_dd * (1 - x_dd) + w_az * (1 - x_az) + w_el * (1 - np.abs(x_el - 1)) + w_rg * (1 - x_rg)   # E20
    r1 = r0 - float(params["elev_penalty"]) * (el_deg < float(params["elev_penalty_threshold_deg"]))   # E21
    return r1 - float(params["low_reward_penalty"]) * (r1 < float(params["low_reward_threshold"]))     # E22


def episode_windows(orbits, params: dict, spec: EpisodeSpec):
    """Windows (sat, start, end) that can matter for the episode: the static world's windows, or for a moving
    terminal the windows computed on [k0 - W, k0 + L + W] (E4b)."""
    from optkit.formulations.leo_handover import world

    if float(params["terminal_speed_mps"]) > 0:
        K = int(round(float(params["horizon_s"]) / float(params["dt_s"])))
        margin = int(round(WINDOW_MARGIN_S / float(params["dt_s"])))
        lo, hi = max(0, spec.k0 - margin), min(K - 1, spec.k0 + spec.L + margin)
        return world.compute_windows_moving(orbits, params, lo, hi, float(spec.psi), spec.k0)
    return world.world_windows(orbits, params)


def episode_pairs(orbits, params: dict, spec: EpisodeSpec) -> dict:
    """The eligible pairs of an episode without geometry: step_ptr (L+1,), and per pair (sorted by step, then
    satellite) steps (absolute), sat, start and end of its window (E16)."""
    win = episode_windows(orbits, params, spec)
    first, last = spec.k0, spec.k0 + spec.L - 1
    hit = (win.start <= last) & (win.end >= first)
    sat_w, start_w, end_w = win.sat[hit], win.start[hit], win.end[hit]
    lo = np.maximum(start_w, first)
    n = np.minimum(end_w, last) - lo + 1
    owner = np.repeat(np.arange(sat_w.size), n)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(n) - n, n)
    steps = lo[owner] + offset
    sats = sat_w[owner]
    order = np.lexsort((sats, steps))
    steps, sats, owner = steps[order], sats[order], owner[order]
    step_ptr = np.concatenate([[0], np.cumsum(np.bincount(steps - first, minlength=spec.L))]).astype(np.int64)
    return {"step_ptr": step_ptr, "steps": steps, "sat": sats.astype(np.int64),
            "start": start_w[owner].astype(np.int64), "end": end_w[owner].astype(np.int64)}


def episode_table(orbits, params: dict, scaler: Scaler, spec: EpisodeSpec) -> EpisodeTable:
    """Geometry, features and rewards of every eligible pair of the episode (E1-E22), one vectorized pass."""
    from optkit.formulations.leo_handover import world

    pairs = episode_pairs(orbits, params, spec)
    geometry = world.pair_geometry(orbits, params, pairs["steps"], pairs["sat"], float(spec.psi),
                                   anchor_step=spec.k0)
    features = normalized_features(geometry, scaler)
    return EpisodeTable(
        spec=spec, dt_s=float(params["dt_s"]), step_ptr=pairs["step_ptr"], sat=pairs["sat"],
        start=pairs["start"], end=pairs["end"],
        el_deg=geometry["el_deg"], az_deg=geometry["az_deg"], range_km=geometry["range_km"],
        dirdiff_deg=geometry["dirdiff_deg"], range_rate_kmps=geometry["range_rate_kmps"], features=features,
        reward=reward(features, geometry["el_deg"], params),
    )


def instance_scaler(inst) -> Scaler:
    return Scaler(float(inst.d_min_km), float(inst.d_max_km), float(inst.radial_bound_kmps))


def evaluation_specs(inst) -> list[EpisodeSpec]:
    """The instance's test episodes (world 0 = its test world)."""
    return [EpisodeSpec(0, int(k0), int(L), int(psi)) for k0, L, psi in np.asarray(inst.episodes)]


def evaluation_tables(inst):
    """Tables of every test episode of an instance (generator)."""
    orbits, params, scaler = inst.orbits(), inst.params(), instance_scaler(inst)
    for spec in evaluation_specs(inst):
        yield episode_table(orbits, params, scaler, spec)
