"""Build `ntn-relay` instances from merged preset parameters and a seed (§3.1, §3.2)."""
from __future__ import annotations

import math

import numpy as np

from optkit.errors import ValidationError
from optkit.formulations.ntn_relay.instance import PARAMS, NtnRelayInstance, max_distance_km, orbit_spacing_km

AUTO = "auto"
INT_PARAMS = {"K", "sats_per_lane", "accel_levels", "train_seed_offset"}
TEXT_PARAMS = {"path_template", "relay_kind", "link_mode", "reward_mode"}
BOOL_PARAMS = {"randomize", "action_reduction"}
NULLABLE = {"orbital_speed_override_kms", "n_slots_override", "mu_R_bps"}


def max_endurance_speed(c1: float, c2: float) -> float:
    """V* = (c2 / (3 c1))^(1/4), m/s (E6)."""
    return (c2 / (3.0 * c1)) ** 0.25


def default_relay_xy(K: int) -> list[list[float]]:
    """D7: x = 2000 km, y evenly spaced in [1500, 2500] km (K = 1: y = 2000)."""
    if K == 1:
        return [[2000.0, 2000.0]]
    return [[2000.0, float(y)] for y in np.linspace(1500.0, 2500.0, K)]


def _number(name: str, value, kind):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(name, f"must be a number, got {value!r}")
    if kind is int:
        if float(value) != int(value):
            raise ValidationError(name, f"must be an integer, got {value!r}")
        return int(value)
    return float(value)


def _nested(name: str, value, depth: int):
    if depth == 0:
        return _number(name, value, float)
    if not isinstance(value, (list, tuple)):
        raise ValidationError(name, "must be a list")
    return [_nested(name, v, depth - 1) for v in value]


def normalized_params(params: dict) -> dict:
    """Parameters in their declared types with "auto" resolved where it does not depend on the seed."""
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise ValidationError(unknown[0], "unknown ntn-relay parameter")
    missing = [k for k in PARAMS if k not in params]
    if missing:
        raise ValidationError(missing[0], "missing parameter")
    p = {}
    for name in PARAMS:
        value = params[name]
        if name in TEXT_PARAMS:
            if not isinstance(value, str):
                raise ValidationError(name, "must be a text")
            p[name] = value
        elif name in BOOL_PARAMS:
            if not isinstance(value, bool):
                raise ValidationError(name, "must be true or false")
            p[name] = value
        elif value == AUTO or value is None:
            p[name] = None
        elif name in INT_PARAMS or name in ("n_slots_override", "n_candidates"):
            p[name] = _number(name, value, int)
        elif name in ("src_pos_km", "dst_pos_km", "lane_x_km", "lane_phase_km", "segment_y_km"):
            p[name] = _nested(name, value, 1)
        elif name == "lane_direction":
            p[name] = [_number(name, v, int) for v in value] if isinstance(value, (list, tuple)) else value
        elif name in ("area_xy_km", "relay_init_xy_km", "uav_init_vel_mps"):
            p[name] = _nested(name, value, 2)
        else:
            p[name] = _number(name, value, float)
    for name in PARAMS:
        if p[name] is None and name not in NULLABLE | {"n_candidates", "lane_phase_km", "relay_init_xy_km",
                                                         "uav_init_vel_mps"}:
            raise ValidationError(name, "cannot be auto")
    if p["relay_kind"] == "none":
        p["K"] = 1                                                     # §3.1: forced to 1 without relays
    for name in ("sats_per_lane", "earth_radius_km", "sat_altitude_km"):
        if p[name] is None or p[name] <= 0:
            raise ValidationError(name, "must be > 0")
    spacing = orbit_spacing_km(p)
    if p["n_candidates"] is None:                                      # D28
        p["n_candidates"] = max(1, int(math.floor((p["segment_y_km"][1] - p["segment_y_km"][0]) / spacing)))
    if p["lane_phase_km"] is None:                                     # D4
        p["lane_phase_km"] = [0.0, spacing / 2.0]
    if p["relay_init_xy_km"] is None:
        p["relay_init_xy_km"] = default_relay_xy(p["K"])
    if p["uav_init_vel_mps"] is None:                                  # D8
        p["uav_init_vel_mps"] = [[30.0, 0.0] for _ in range(p["K"])]
    return p


def _randomize(p: dict, seed: int) -> None:
    """§3.2: lane phases, relay starts, headings from default_rng(seed), in this order."""
    rng = np.random.default_rng(seed)
    spacing = orbit_spacing_km(p)
    p["lane_phase_km"] = [float(rng.uniform(0.0, spacing)) for _ in range(2)]
    K, d_max = p["K"], max_distance_km(p)
    layout = None
    for _ in range(1000):
        xy = np.array([[rng.uniform(1500.0, 2500.0), rng.uniform(1000.0, 3000.0)] for _ in range(K)])
        gaps = np.linalg.norm(xy[:, None] - xy[None, :], axis=2)[np.triu_indices(K, 1)]
        if np.all((gaps >= 100.0) & (gaps <= 0.8 * d_max)):
            layout = xy
            break
    p["relay_init_xy_km"] = layout.tolist() if layout is not None else default_relay_xy(K)
    v_star = max_endurance_speed(p["c1"], p["c2"])
    theta = rng.uniform(0.0, 2.0 * math.pi, K)
    p["uav_init_vel_mps"] = [[v_star * math.cos(t), v_star * math.sin(t)] for t in theta]


def generate(params: dict, seed: int, preset: str = "") -> NtnRelayInstance:
    """The instance of a preset point and seed; the seed changes the instance only when `randomize` and seed >= 1
    (D43)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValidationError("seed", "must be an integer >= 0")
    p = normalized_params(params)
    if p["randomize"] and seed >= 1:
        _randomize(p, int(seed))
    inst = NtnRelayInstance(preset=preset or "paper-default", seed=int(seed), **p)
    return inst.validate()
