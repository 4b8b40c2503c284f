"""The `ntn-relay` instance (§3.1): one scenario over one orbital period, as plain numbers.

Every field of §3.1 is stored resolved (lane phases, relay starts and velocities, the candidate count), except the
three overrides that may stay null (`orbital_speed_override_kms`, `n_slots_override`, `mu_R_bps`). Derived
quantities (orbit, SAT tables, ground-hop tables, μ_R, ...) are not fields: `optkit.formulations.ntn_relay.model.world`
rebuilds them on demand and caches them per instance.

Section (§), equation (E) and decision (D) numbers refer to docs/families/ntn-relay.md.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from optkit.errors import ValidationError
from optkit.instance import Instance, check_finite, check_int, plain_value

TEMPLATES = ("S-L1-R-L2-D", "S-L1-L2-D", "S-D", "S-L1-R-D", "S-L1-D")
RELAY_TEMPLATES = ("S-L1-R-L2-D", "S-L1-R-D")
RELAY_KINDS = ("uav", "ground", "none")
LINK_MODES = ("hybrid", "rf", "fso")
REWARD_MODES = ("ee", "rate", "energy", "fair")
SPEED_OF_LIGHT_KMPS = 299792.458

# Field order of §3.1 (the generator's input keys besides the seed).
PARAMS = ("randomize", "path_template", "relay_kind", "K", "src_pos_km", "dst_pos_km", "area_xy_km",
          "earth_radius_km", "grav_const", "earth_mass_kg", "sat_altitude_km", "orbital_speed_override_kms",
          "sats_per_lane", "lane_x_km", "lane_direction", "lane_phase_km", "segment_y_km", "n_candidates",
          "action_reduction", "dt_s", "n_slots_override", "uav_altitude_km", "relay_init_xy_km", "uav_init_vel_mps",
          "a_max_mps2", "accel_levels", "v_min_mps", "v_max_mps", "uav_mass_kg", "c1", "c2", "gravity", "tau_max_s",
          "bandwidth_hz", "rf_ref_snr_db", "fso_wavelength_nm", "visibility_km", "fso_asnr_db", "fso_apr",
          "fso_rate_prefactor", "link_mode", "reward_mode", "w_R", "w_E", "w_D", "mu_R_bps", "train_seed_offset")


@dataclasses.dataclass(frozen=True, eq=False)
class NtnRelayInstance(Instance):
    """One ntn-relay scenario. Units: km, m/s, m/s², s, Hz, dB as in §3.1; K relays; I SATs per lane."""

    family = "ntn-relay"

    preset: str                        # the preset (point) it was built from (§3.1 `name`)
    seed: int
    randomize: bool
    path_template: str
    relay_kind: str
    K: int
    src_pos_km: tuple
    dst_pos_km: tuple
    area_xy_km: tuple
    earth_radius_km: float
    grav_const: float
    earth_mass_kg: float
    sat_altitude_km: float
    orbital_speed_override_kms: float | None
    sats_per_lane: int
    lane_x_km: tuple
    lane_direction: tuple
    lane_phase_km: tuple
    segment_y_km: tuple
    n_candidates: int
    action_reduction: bool
    dt_s: float
    n_slots_override: int | None
    uav_altitude_km: float
    relay_init_xy_km: tuple            # (K, 2) km
    uav_init_vel_mps: tuple            # (K, 2) m/s
    a_max_mps2: float
    accel_levels: int
    v_min_mps: float
    v_max_mps: float
    uav_mass_kg: float
    c1: float
    c2: float
    gravity: float
    tau_max_s: float
    bandwidth_hz: float
    rf_ref_snr_db: float
    fso_wavelength_nm: float
    visibility_km: float
    fso_asnr_db: float
    fso_apr: float
    fso_rate_prefactor: float
    link_mode: str
    reward_mode: str
    w_R: float
    w_E: float
    w_D: float
    mu_R_bps: float | None
    train_seed_offset: int

    def params(self) -> dict:
        """The §3.1 parameters as a plain dict (resolved values)."""
        return {name: plain_value(getattr(self, name)) for name in PARAMS}

    @property
    def has_relay(self) -> bool:
        return self.path_template in RELAY_TEMPLATES

    @property
    def has_uav(self) -> bool:
        return self.has_relay and self.relay_kind == "uav"

    @property
    def has_uav_between_lanes(self) -> bool:
        """UAV relays between the two lanes (template S-L1-R-L2-D): the setting of the reward, the environment and
        `reachable-ub`."""
        return self.has_uav and self.path_template == "S-L1-R-L2-D"

    def validate(self) -> "NtnRelayInstance":
        from optkit.fields import validate_fields
        from optkit.formulations.ntn_relay import schema

        validate_fields(self, schema.IDENTITY)
        validate_params(self.params())
        return self


def _choice(p: dict, name: str, options) -> None:
    if p[name] not in options:
        raise ValidationError(name, f"must be one of {', '.join(options)} (got {p[name]!r})")


def _vector(p: dict, name: str, length: int) -> None:
    value = p[name]
    if not isinstance(value, (list, tuple)) or len(value) != length:
        raise ValidationError(name, f"must be a list of {length} numbers")
    check_finite(name, value)


def _bool(p: dict, name: str) -> None:
    if not isinstance(p[name], bool):
        raise ValidationError(name, "must be true or false")


def orbit_spacing_km(p: dict) -> float:
    """Δ = 2π (R_E + H_L) / I (E1), km."""
    return 2.0 * math.pi * (float(p["earth_radius_km"]) + float(p["sat_altitude_km"])) / int(p["sats_per_lane"])


def max_distance_km(p: dict) -> float:
    """D_max = c τ_max (E19), km."""
    return SPEED_OF_LIGHT_KMPS * float(p["tau_max_s"])


def validate_params(p: dict) -> None:
    """Raise ValidationError naming the first parameter that breaks a rule of §3.5 (D51); warn (and build) when
    some candidates may lie outside the segment or the relays start farther apart than D_max."""
    from optkit.formulations.ntn_relay import schema

    schema.check(p)                                      # types, shapes and plausible ranges (schema.py)
    _bool(p, "randomize")
    _choice(p, "path_template", TEMPLATES)
    _choice(p, "relay_kind", RELAY_KINDS)
    if p["path_template"] in RELAY_TEMPLATES and p["relay_kind"] == "none":
        raise ValidationError("relay_kind", f"template {p['path_template']} needs relay_kind uav or ground")
    if p["path_template"] not in RELAY_TEMPLATES and p["relay_kind"] != "none":
        raise ValidationError("relay_kind", f"template {p['path_template']} needs relay_kind none")
    check_int("K", p["K"], min_value=1)
    K = p["K"]
    for name in ("src_pos_km", "dst_pos_km"):
        _vector(p, name, 3)
    area = p["area_xy_km"]
    if not isinstance(area, (list, tuple)) or len(area) != 2 or any(not isinstance(r, (list, tuple)) or len(r) != 2
                                                                      for r in area):
        raise ValidationError("area_xy_km", "must be [[x_lo, x_hi], [y_lo, y_hi]]")
    check_finite("area_xy_km", area)
    if any(r[1] <= r[0] for r in area):
        raise ValidationError("area_xy_km", "every range needs hi > lo")
    for name in ("earth_radius_km", "grav_const", "earth_mass_kg", "sat_altitude_km"):
        check_finite(name, p[name], positive=True)
    if p["orbital_speed_override_kms"] is not None:
        check_finite("orbital_speed_override_kms", p["orbital_speed_override_kms"], positive=True)
    check_int("sats_per_lane", p["sats_per_lane"], min_value=1)
    _vector(p, "lane_x_km", 2)
    lane_dir = p["lane_direction"]
    if not isinstance(lane_dir, (list, tuple)) or len(lane_dir) != 2 or any(d not in (1, -1) for d in lane_dir):
        raise ValidationError("lane_direction", "must be a pair of +1 / -1")
    _vector(p, "lane_phase_km", 2)
    _vector(p, "segment_y_km", 2)
    if p["segment_y_km"][1] <= p["segment_y_km"][0]:
        raise ValidationError("segment_y_km", "needs y_hi > y_lo")
    check_int("n_candidates", p["n_candidates"], min_value=1)
    if p["n_candidates"] > p["sats_per_lane"]:
        raise ValidationError("n_candidates", f"must be <= sats_per_lane ({p['sats_per_lane']})")
    _bool(p, "action_reduction")
    check_finite("dt_s", p["dt_s"], positive=True)
    if p["n_slots_override"] is not None:
        check_int("n_slots_override", p["n_slots_override"], min_value=1)
    check_finite("uav_altitude_km", p["uav_altitude_km"], min_value=0.0)
    if p["uav_altitude_km"] >= p["sat_altitude_km"]:
        raise ValidationError("uav_altitude_km", "must lie below sat_altitude_km")
    check_finite("a_max_mps2", p["a_max_mps2"], min_value=0.0)
    check_int("accel_levels", p["accel_levels"], min_value=1)
    check_finite("v_min_mps", p["v_min_mps"], positive=True)
    check_finite("v_max_mps", p["v_max_mps"], positive=True)
    if p["v_min_mps"] > p["v_max_mps"]:
        raise ValidationError("v_min_mps", f"must be <= v_max_mps ({p['v_max_mps']})")
    for name in ("uav_mass_kg", "c1", "c2", "gravity", "tau_max_s", "bandwidth_hz", "fso_wavelength_nm",
                 "visibility_km"):
        check_finite(name, p[name], positive=True)
    for name in ("rf_ref_snr_db", "fso_asnr_db"):
        check_finite(name, p[name])
    check_finite("fso_apr", p["fso_apr"])
    if not 0.0 < p["fso_apr"] <= 1.0:
        raise ValidationError("fso_apr", "must lie in (0, 1]")
    check_finite("fso_rate_prefactor", p["fso_rate_prefactor"], positive=True)
    _choice(p, "link_mode", LINK_MODES)
    _choice(p, "reward_mode", REWARD_MODES)
    for name in ("w_R", "w_E", "w_D"):
        check_finite(name, p[name], min_value=0.0)
    if p["mu_R_bps"] is not None:
        check_finite("mu_R_bps", p["mu_R_bps"], positive=True)
    check_int("train_seed_offset", p["train_seed_offset"], min_value=0)
    if p["reward_mode"] == "fair" and K == 1:
        raise ValidationError("reward_mode", "fair needs K >= 2 (a max-min term over one path is the sum rate)")
    for name in ("relay_init_xy_km", "uav_init_vel_mps"):
        value = p[name]
        if not isinstance(value, (list, tuple)) or len(value) != K or any(
                not isinstance(r, (list, tuple)) or len(r) != 2 for r in value):
            raise ValidationError(name, f"must hold K = {K} pairs [x, y]")
        check_finite(name, value)
    xy = np.asarray(p["relay_init_xy_km"], dtype=float)
    (x_lo, x_hi), (y_lo, y_hi) = area
    if np.any(xy[:, 0] < x_lo) or np.any(xy[:, 0] > x_hi) or np.any(xy[:, 1] < y_lo) or np.any(xy[:, 1] > y_hi):
        raise ValidationError("relay_init_xy_km", "every relay start must lie inside area_xy_km")
    if p["path_template"] in RELAY_TEMPLATES and p["relay_kind"] == "uav":
        speed = np.linalg.norm(np.asarray(p["uav_init_vel_mps"], dtype=float), axis=1)
        if np.any(speed < p["v_min_mps"] * (1 - 1e-12)) or np.any(speed > p["v_max_mps"] * (1 + 1e-12)):
            raise ValidationError("uav_init_vel_mps", f"every initial speed must lie in [v_min_mps, v_max_mps] = "
                                                      f"[{p['v_min_mps']}, {p['v_max_mps']}] m/s")
    # Warnings (§3.5): recorded, the instance still builds.
    spacing = orbit_spacing_km(p)
    if p["action_reduction"] and p["n_candidates"] * spacing > p["segment_y_km"][1] - p["segment_y_km"][0] + 1e-9:
        warnings.warn(f"n_candidates: I'·Δ = {p['n_candidates'] * spacing:.1f} km exceeds the segment length; some "
                      "candidates may lie outside the segment", stacklevel=3)
    if K >= 2:
        gaps = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=2)
        if gaps.max() > max_distance_km(p):
            warnings.warn(f"relay_init_xy_km: the relays start {gaps.max():.1f} km apart, more than D_max = "
                          f"{max_distance_km(p):.1f} km (the instance starts infeasible)", stacklevel=3)
