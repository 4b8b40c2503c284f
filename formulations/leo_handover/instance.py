"""The `leo-handover` instance (§3): one test world, the training scaler, the configuration, the test episodes.

The instance seed is the experiment base seed S (§3.4): the test world comes from SeedSequence([S, 200]), the
scaler from the training worlds [S, 100 + w], the test episode specs from [S, 400]. Eligibility windows and
per-step geometry are derived data (computed on demand and cached, §4.4), not fields.

Section (§), equation (E) and decision (D) numbers refer to docs/families/leo-handover.md: it is the
family page of this repository, and every module of formulations/leo_handover uses the same numbers.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from optkit.errors import ValidationError
from optkit.fields import validate_fields
from optkit.instance import Instance, check_finite, check_int, check_shape, plain_value

FEATURES = ("dirdiff", "azimuth", "elevation", "range", "radial")
INCL_DISTS = ("isotropic", "uniform_deg")
FOOTPRINT_METRICS = ("ground", "slant", "none")
GEOMETRY_MODELS = ("enu", "flat")
SLOT_ORDERS = ("stable", "age")
MIN_ALTITUDE_KM = 160.0          # below it an orbit is not a LEO orbit (decays within days)

# World parameters (§3.2): what the eligibility windows depend on.
WORLD_PARAMS = ("n_sat", "alt_min_km", "alt_max_km", "incl_dist", "incl_min_deg", "incl_max_deg", "raan_range_deg",
                "argl_range_deg", "footprint_min_km", "footprint_max_km", "footprint_metric", "vis_min_elev_deg",
                "cand_min_elev_deg", "dt_s", "horizon_s", "gmst0_deg", "terminal_lat_deg", "terminal_lon_deg",
                "terminal_alt_km", "terminal_speed_mps", "geometry_model")
# Environment, reward and episode parameters (§3.3).
ENV_PARAMS = ("n_candidates", "slot_order", "state_features", "serving_flag", "pad_features", "range_clip_quantile",
              "radial_bound_kmps", "reward_weights", "elev_penalty_threshold_deg", "elev_penalty",
              "low_reward_threshold", "low_reward_penalty", "handover_penalty", "ep_len_min", "ep_len_max",
              "heading_set_deg", "n_train_worlds", "n_train_episodes", "train_every", "n_test_episodes", "run_seeds")


@dataclasses.dataclass(frozen=True, eq=False)
class LeoHandoverInstance(Instance):
    """One test world seen by a static (or, in the extension, moving) terminal, and its test episodes.

    Shapes: N = n_sat satellites, n = n_test_episodes episodes. Angles in degrees, distances in km.
    """

    family = "leo-handover"

    seed: int                          # base seed S
    preset: str
    # --- world (§3.2) ---
    n_sat: int
    alt_min_km: float
    alt_max_km: float
    incl_dist: str
    incl_min_deg: float
    incl_max_deg: float
    raan_range_deg: tuple
    argl_range_deg: tuple
    footprint_min_km: float
    footprint_max_km: float
    footprint_metric: str
    vis_min_elev_deg: float
    cand_min_elev_deg: float
    dt_s: float
    horizon_s: float
    gmst0_deg: float
    terminal_lat_deg: float
    terminal_lon_deg: float
    terminal_alt_km: float
    terminal_speed_mps: float
    geometry_model: str
    # --- environment, reward, episodes (§3.3) ---
    n_candidates: int
    slot_order: str
    state_features: tuple
    serving_flag: bool
    pad_features: tuple
    range_clip_quantile: float
    radial_bound_kmps: float
    reward_weights: tuple
    elev_penalty_threshold_deg: float
    elev_penalty: float
    low_reward_threshold: float
    low_reward_penalty: float
    handover_penalty: float
    ep_len_min: int
    ep_len_max: int
    heading_set_deg: tuple
    n_train_worlds: int
    n_train_episodes: int
    train_every: int
    n_test_episodes: int
    run_seeds: tuple
    # --- the test world's orbits (§3.4, stream [S, 200]) ---
    alt_km: np.ndarray                 # (N,) h_j
    incl_deg: np.ndarray               # (N,) i_j
    raan_deg: np.ndarray               # (N,) Ω_j
    argl0_deg: np.ndarray              # (N,) u_0,j
    footprint_km: np.ndarray           # (N,) r_fp,j
    # --- scaler fitted on the training worlds (E18) ---
    d_min_km: float
    d_max_km: float
    # --- test episodes (§3.4, stream [S, 400]) ---
    episodes: np.ndarray               # (n, 3) int64 rows (k0, L, ψ in degrees)

    @property
    def n_steps(self) -> int:
        """K = round(T_h / Δt)."""
        return int(round(self.horizon_s / self.dt_s))

    def params(self) -> dict:
        """The world and environment parameters as a plain dict (the generator's input keys)."""
        return {name: plain_value(getattr(self, name)) for name in WORLD_PARAMS + ENV_PARAMS}

    def orbits(self):
        from optkit.formulations.leo_handover.world import Orbits

        return Orbits(alt_km=np.asarray(self.alt_km, dtype=float), incl_deg=np.asarray(self.incl_deg, dtype=float),
                      raan_deg=np.asarray(self.raan_deg, dtype=float), argl0_deg=np.asarray(self.argl0_deg, dtype=float),
                      footprint_km=np.asarray(self.footprint_km, dtype=float))

    def validate(self) -> "LeoHandoverInstance":
        from optkit.formulations.leo_handover import schema

        validate_fields(self, schema.FIELDS)             # types, shapes, dtype tags, plausible ranges
        check_int("seed", self.seed, min_value=0)
        validate_params(self.params())
        n = self.n_sat
        for name in ("alt_km", "incl_deg", "raan_deg", "argl0_deg", "footprint_km"):
            check_shape(name, getattr(self, name), (n,))
            check_finite(name, getattr(self, name))
        check_finite("alt_km", self.alt_km, min_value=MIN_ALTITUDE_KM)
        check_finite("footprint_km", self.footprint_km, positive=True)
        check_finite("d_min_km", self.d_min_km, positive=True)
        check_finite("d_max_km", self.d_max_km, positive=True)
        if not self.d_max_km > self.d_min_km:
            raise ValidationError("d_max_km", f"must exceed d_min_km ({self.d_min_km})")
        check_shape("episodes", self.episodes, (self.n_test_episodes, 3))
        ep = np.asarray(self.episodes)
        if not np.issubdtype(ep.dtype, np.integer):
            raise ValidationError("episodes", "must hold integers (k0, L, psi)")
        K = self.n_steps
        if ep.size and (np.any(ep[:, 1] < 1) or np.any(ep[:, 0] < 0) or np.any(ep[:, 0] + ep[:, 1] > K)):
            raise ValidationError("episodes", f"every episode needs L >= 1 and 0 <= k0, k0 + L <= K = {K}")
        if ep.size and (np.any(ep[:, 2] < 0) or np.any(ep[:, 2] >= 360)):
            raise ValidationError("episodes", "headings psi must lie in [0, 360) degrees")
        return self


def _pair(params: dict, name: str) -> None:
    value = params[name]
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise ValidationError(name, "must be a pair [low, high]")
    check_finite(name, value)
    if value[1] < value[0]:
        raise ValidationError(name, "high must be >= low")


def _choice(params: dict, name: str, options) -> None:
    if params[name] not in options:
        raise ValidationError(name, f"must be one of {', '.join(options)} (got {params[name]!r})")


def validate_params(params: dict) -> None:
    """Raise ValidationError naming the first parameter that breaks a rule (bad presets or overrides, exit 2)."""
    missing = [k for k in WORLD_PARAMS + ENV_PARAMS if k not in params]
    if missing:
        raise ValidationError(missing[0], "missing parameter")
    from optkit.formulations.leo_handover import schema

    validate_fields(params, schema.PARAMS)               # types and plausible ranges (schema.py)
    schema.check_size(params)
    p = params
    check_int("n_sat", p["n_sat"], min_value=1)
    check_finite("alt_min_km", p["alt_min_km"], min_value=MIN_ALTITUDE_KM)
    check_finite("alt_max_km", p["alt_max_km"], min_value=p["alt_min_km"])
    _choice(p, "incl_dist", INCL_DISTS)
    for name in ("incl_min_deg", "incl_max_deg"):
        check_finite(name, p[name], min_value=0.0)
        if p[name] > 180.0:
            raise ValidationError(name, "must lie in [0, 180] degrees")
    if p["incl_max_deg"] < p["incl_min_deg"]:
        raise ValidationError("incl_max_deg", "must be >= incl_min_deg")
    _pair(p, "raan_range_deg")
    _pair(p, "argl_range_deg")
    check_finite("footprint_min_km", p["footprint_min_km"], positive=True)
    check_finite("footprint_max_km", p["footprint_max_km"], min_value=p["footprint_min_km"])
    _choice(p, "footprint_metric", FOOTPRINT_METRICS)
    for name in ("vis_min_elev_deg", "cand_min_elev_deg", "elev_penalty_threshold_deg"):
        check_finite(name, p[name], min_value=-90.0)
        if p[name] > 90.0:
            raise ValidationError(name, "must lie in [-90, 90] degrees")
    check_finite("dt_s", p["dt_s"], positive=True)
    check_finite("horizon_s", p["horizon_s"], positive=True)
    K = p["horizon_s"] / p["dt_s"]
    if abs(K - round(K)) > 1e-6 * max(1.0, K):
        raise ValidationError("horizon_s", "must be a whole number of steps dt_s")
    check_finite("gmst0_deg", p["gmst0_deg"])
    check_finite("terminal_lat_deg", p["terminal_lat_deg"], min_value=-90.0)
    if p["terminal_lat_deg"] > 90.0:
        raise ValidationError("terminal_lat_deg", "must lie in [-90, 90] degrees")
    check_finite("terminal_lon_deg", p["terminal_lon_deg"])
    check_finite("terminal_alt_km", p["terminal_alt_km"], min_value=-0.5)
    if p["terminal_alt_km"] >= p["alt_min_km"]:
        raise ValidationError("terminal_alt_km", "must lie below the lowest orbit altitude alt_min_km")
    check_finite("terminal_speed_mps", p["terminal_speed_mps"], min_value=0.0)
    _choice(p, "geometry_model", GEOMETRY_MODELS)
    check_int("n_candidates", p["n_candidates"], min_value=1)
    if p["n_candidates"] > p["n_sat"]:
        raise ValidationError("n_candidates", f"must be <= n_sat ({p['n_sat']})")
    _choice(p, "slot_order", SLOT_ORDERS)
    features = list(p["state_features"])
    if not features or any(f not in FEATURES for f in features) or len(set(features)) != len(features):
        raise ValidationError("state_features", f"must be a non-empty list of distinct names from {', '.join(FEATURES)}")
    if not isinstance(p["serving_flag"], bool):
        raise ValidationError("serving_flag", "must be true or false")
    check_shape("pad_features", p["pad_features"], (4,))
    check_finite("pad_features", p["pad_features"], min_value=0.0)
    if max(p["pad_features"]) > 1.0:
        raise ValidationError("pad_features", "entries must lie in [0, 1]")
    check_finite("range_clip_quantile", p["range_clip_quantile"], positive=True)
    if p["range_clip_quantile"] > 1.0:
        raise ValidationError("range_clip_quantile", "must lie in (0, 1]")
    check_finite("radial_bound_kmps", p["radial_bound_kmps"], positive=True)
    check_shape("reward_weights", p["reward_weights"], (4,))
    check_finite("reward_weights", p["reward_weights"], min_value=0.0)
    for name in ("elev_penalty", "low_reward_penalty", "handover_penalty"):
        check_finite(name, p[name], min_value=0.0)
    check_finite("low_reward_threshold", p["low_reward_threshold"])
    check_int("ep_len_min", p["ep_len_min"], min_value=1)
    check_int("ep_len_max", p["ep_len_max"], min_value=p["ep_len_min"])
    if p["ep_len_max"] > round(K):
        raise ValidationError("ep_len_max", f"must be <= the horizon in steps ({int(round(K))})")
    headings = list(p["heading_set_deg"])
    if headings:
        for h in headings:
            check_int("heading_set_deg", h, min_value=0)
        if max(headings) >= 360:
            raise ValidationError("heading_set_deg", "headings must lie in [0, 360) degrees")
    for name in ("n_train_worlds", "n_train_episodes", "train_every", "n_test_episodes"):
        check_int(name, p[name], min_value=1)
    seeds = list(p["run_seeds"])
    if not seeds:
        raise ValidationError("run_seeds", "must list at least one seed")
    for s in seeds:
        check_int("run_seeds", s, min_value=0)
