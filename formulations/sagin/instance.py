"""The `sagin` instance (§3): all parameters of one world plus its seeded draws.

Section (§), equation (E) and decision (D) numbers refer to docs/families/sagin.md: it is the
family page of this repository, and every module of formulations/sagin uses the same numbers.

Parameters come in the groups of §3.1 (`area`, `airspace`, `buildings`, `gn`, `an`, `element`, `sn`,
`channel`, `uav`, `qos`, `objective`, `reward`, `ref`, `train`); parameter `group.key` is stored as the field
`group_key` (e.g. `uav.speed` -> `uav_speed`, `element.G_max` -> `element_g_max`). Derived fields drawn by the
generator: the building map after site removal (`building_centers` (N_b, 2) m, `building_width` m,
`building_heights` (N_b,) m), the frozen fading draws `fading_re`, `fading_im` (J, B_tot) (Z = re + 1j im,
E19) and the test starts `starts_test` (N_U, 3) m. Training starts are drawn per episode (`generator.training_starts`);
R_max^E (E31) is computed on demand (`radio.rate_normalisation`), not stored.

BS indexing (§3.1): GN sectors site-major then sector-minor, then AN sectors likewise, then satellites in
`sn_pass_times` order.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from optkit.errors import ValidationError
from optkit.fields import validate_fields as validate_declared
from optkit.instance import Instance, check_finite, check_int, check_shape, plain_value

# (group, key, kind). Kinds: f float, i int, s str, b bool, fl tuple of floats, i2 pair of ints,
# f3 triple of floats, xy array (n, 2), xyz array (n, 3), box array (3, 2), fs a float or a named rule (str).
SCHEMA: tuple[tuple[str, str, str], ...] = (
    ("area", "x_min", "f"), ("area", "x_max", "f"), ("area", "y_min", "f"), ("area", "y_max", "f"),
    ("area", "z_min", "f"), ("area", "z_max", "f"),
    ("airspace", "x_min", "f"), ("airspace", "x_max", "f"), ("airspace", "y_min", "f"), ("airspace", "y_max", "f"),
    ("airspace", "z_min", "f"), ("airspace", "z_max", "f"),
    ("buildings", "alpha", "f"), ("buildings", "beta", "f"), ("buildings", "gamma", "f"), ("buildings", "h_cap", "f"),
    ("buildings", "road_width", "f"), ("buildings", "clusters_per_side", "i"), ("buildings", "site_clearance", "f"),
    *[(net, key, kind) for net in ("gn", "an") for key, kind in (
        ("sites_xy", "xy"), ("height", "f"), ("sector_azimuths", "fl"), ("fc", "f"), ("bandwidth", "f"),
        ("tx_power", "f"), ("array", "i2"), ("tilt", "f"), ("noise_figure", "f"))],
    ("element", "g_max", "f"), ("element", "theta_3db", "f"), ("element", "phi_3db", "f"),
    ("element", "sla_v", "f"), ("element", "a_m", "f"),
    ("sn", "n_sats", "i"), ("sn", "altitude", "f"), ("sn", "ground_speed", "f"), ("sn", "track_y", "f"),
    ("sn", "pass_x", "f"), ("sn", "pass_times", "fl"), ("sn", "fc", "f"), ("sn", "bandwidth", "f"),
    ("sn", "tx_power", "f"), ("sn", "array", "i2"), ("sn", "min_elevation", "f"), ("sn", "beam_mode", "s"),
    ("sn", "noise_figure", "f"), ("sn", "earth_radius", "f"),
    ("channel", "los_mode", "s"), ("channel", "rician_k_db", "f"), ("channel", "n_draws", "i"),
    ("channel", "shadowing", "b"), ("channel", "shadow_corr", "f"), ("channel", "scintillation_db", "f"),
    ("channel", "polarization_loss_db", "f"), ("channel", "rate_backend", "s"), ("channel", "raster_xy", "f"),
    ("channel", "raster_z", "f"),
    ("uav", "n_uavs", "i"), ("uav", "speed", "f"), ("uav", "step_length", "f"), ("uav", "max_steps", "i"),
    ("uav", "arrival_radius", "f"), ("uav", "direction_margin", "f"), ("uav", "destination", "f3"),
    ("uav", "start_box", "box"), ("uav", "start_dist", "fl"), ("uav", "antenna_gain", "f"),
    ("uav", "starts", "xyz"), ("uav", "snap_starts", "b"),
    ("qos", "r_req", "f"),
    ("objective", "lambda", "f3"), ("objective", "fail_penalty", "fs"),
    ("reward", "w", "f3"), ("reward", "eta_bnd", "f"), ("reward", "lower_shift", "b"),
    ("reward", "arrival_bonus", "f"),
    ("ref", "h", "f"), ("ref", "z_levels", "fl"), ("ref", "kappa0", "i"), ("ref", "gain_mode", "s"),
    ("ref", "h_max", "i"),
    ("train", "episodes", "i"), ("train", "preset", "s"), ("train", "starts", "s"),
)
PARAM_FIELDS = tuple(f"{g}_{k}" for g, k, _ in SCHEMA)
KINDS = {f"{g}_{k}": kind for g, k, kind in SCHEMA}

LOS_MODES = ("geometric", "probabilistic")     # E3 building map (default) or the E10 UMa-AV probability
BEAM_MODES = ("nadir", "area_fixed")
RATE_BACKENDS = ("exact", "cached")
GAIN_MODES = ("segment", "node")
TRAIN_STARTS = ("drawn", "test")               # training starts: drawn per episode (§3.2 step 4) or the test starts
FAIL_PENALTY_RULES = ("rate_max",)             # λ_fail = λ1·R_max^E (E30, D49); a number sets λ_fail directly


def _field_defs():
    types = {"f": float, "fs": object, "i": int, "s": str, "b": bool, "fl": tuple, "i2": tuple, "f3": tuple,
             "xy": np.ndarray, "xyz": np.ndarray, "box": np.ndarray}
    return [(name, types[KINDS[name]]) for name in PARAM_FIELDS]


@dataclasses.dataclass(frozen=True, eq=False)
class _Header(Instance):
    name: str
    seed: int


SaginInstanceBase = dataclasses.make_dataclass(
    "SaginInstanceBase", _field_defs(), bases=(_Header,), frozen=True, eq=False)


@dataclasses.dataclass(frozen=True, eq=False)
class SaginInstance(SaginInstanceBase):
    """One `sagin` world. Shapes: N_b buildings, J fading draws, B_tot = #GN sites x #GN sector azimuths
    + #AN sites x #AN sector azimuths + n_sats BSs (20 by default), N_U UAVs. Units SI; dB/dBm/dBi/GHz where
    §3.1 says so."""

    family = "sagin"

    building_centers: np.ndarray = None      # (N_b, 2) m, after removing buildings on sites
    building_width: float = None             # W_bld, m
    building_heights: np.ndarray = None      # (N_b,) m
    fading_re: np.ndarray = None             # (J, B_tot) real part of Z (E19)
    fading_im: np.ndarray = None             # (J, B_tot) imaginary part of Z
    starts_test: np.ndarray = None           # (N_U, 3) m

    # --- counts and derived views ------------------------------------------------------------------------
    @property
    def preset(self) -> str:
        """The preset id ("name" or "name:point") the instance was generated from: its `name`."""
        return self.name

    @property
    def n_gn(self) -> int:
        return int(np.shape(self.gn_sites_xy)[0]) * len(self.gn_sector_azimuths)

    @property
    def n_an(self) -> int:
        return int(np.shape(self.an_sites_xy)[0]) * len(self.an_sector_azimuths)

    @property
    def n_bs(self) -> int:
        """B_tot = GN sectors + AN sectors + satellites."""
        return self.n_gn + self.n_an + int(self.sn_n_sats)

    @property
    def fading_z(self) -> np.ndarray:
        """Z (J, B_tot) complex: the frozen small-scale draws of E19."""
        return np.asarray(self.fading_re) + 1j * np.asarray(self.fading_im)

    @property
    def step_duration(self) -> float:
        """Δt = Δs / V (s)."""
        return self.uav_step_length / self.uav_speed

    @property
    def airspace_box(self) -> np.ndarray:
        """(2, 3): rows q_L and q_U (m)."""
        return np.array([[self.airspace_x_min, self.airspace_y_min, self.airspace_z_min],
                         [self.airspace_x_max, self.airspace_y_max, self.airspace_z_max]])

    def params(self) -> dict:
        """The parameters as the nested dict the generator takes (groups -> keys -> plain values)."""
        out: dict = {}
        for g, k, _ in SCHEMA:
            out.setdefault(g, {})[k] = plain_value(getattr(self, f"{g}_{k}"))
        return out

    # --- validation --------------------------------------------------------------------------------------
    def validate(self) -> "SaginInstance":
        if not isinstance(self.name, str):
            raise ValidationError("name", "must be a string")
        check_int("seed", self.seed, min_value=0)
        from optkit.formulations.sagin import schema

        validate_fields({n: getattr(self, n) for n in PARAM_FIELDS})    # declared ranges, then relations
        validate_declared(self, schema.DERIVED, schema.sizes)             # derived arrays: dtypes, shapes, ranges
        check_finite("building_width", self.building_width, min_value=0.0)
        n_b = int(np.shape(self.building_centers)[0]) if np.ndim(self.building_centers) == 2 else -1
        check_shape("building_centers", self.building_centers, (max(n_b, 0), 2))
        check_finite("building_centers", self.building_centers)
        check_shape("building_heights", self.building_heights, (n_b,))
        check_finite("building_heights", self.building_heights, min_value=0.0)
        if n_b and np.max(self.building_heights) > self.buildings_h_cap:
            raise ValidationError("building_heights", f"must not exceed buildings_h_cap ({self.buildings_h_cap} m)")
        shape = (self.channel_n_draws, self.n_bs)
        for name in ("fading_re", "fading_im"):
            check_shape(name, getattr(self, name), shape)
            check_finite(name, getattr(self, name))
        check_shape("starts_test", self.starts_test, (self.uav_n_uavs, 3))
        check_finite("starts_test", self.starts_test)
        box = self.airspace_box
        st = np.asarray(self.starts_test)
        if st.size and (np.any(st < box[0] - 1e-9) or np.any(st > box[1] + 1e-9)):
            raise ValidationError("starts_test", "every start must lie inside the airspace box")
        return self


def _choice(name: str, value, options) -> None:
    if value not in options:
        raise ValidationError(name, f"must be one of {', '.join(options)} (got {value!r})")


def validate_fields(p: dict) -> None:
    """Raise ValidationError naming the first parameter field (`group_key`) that breaks a rule."""
    from optkit.formulations.sagin import schema

    validate_declared(p, schema.param_fields(KINDS))          # types and plausible ranges (formulations/sagin/schema.py)
    schema.check_size(p)
    for name in PARAM_FIELDS:
        kind, v = KINDS[name], p[name]
        if kind == "i":
            check_int(name, v)
        elif kind == "b":
            if not isinstance(v, (bool, np.bool_)):
                raise ValidationError(name, "must be true or false")
        elif kind == "s":
            if not isinstance(v, str):
                raise ValidationError(name, "must be a string")
        elif kind == "fs":
            if not isinstance(v, str):
                check_finite(name, v, min_value=0.0)
        else:
            check_finite(name, v)
    for pre in ("area", "airspace"):
        for ax in "xyz":
            lo, hi = p[f"{pre}_{ax}_min"], p[f"{pre}_{ax}_max"]
            if hi < lo if (pre == "airspace" and ax == "z") else hi <= lo:
                raise ValidationError(f"{pre}_{ax}_max", f"must exceed {pre}_{ax}_min ({lo})")
    for ax in "xyz":
        if p[f"airspace_{ax}_min"] < p[f"area_{ax}_min"] or p[f"airspace_{ax}_max"] > p[f"area_{ax}_max"]:
            raise ValidationError(f"airspace_{ax}_min", "the airspace must lie inside the area box")
    check_finite("buildings_alpha", p["buildings_alpha"], min_value=0.0)
    if p["buildings_alpha"] >= 1.0:
        raise ValidationError("buildings_alpha", "must lie in [0, 1)")
    check_finite("buildings_beta", p["buildings_beta"], min_value=0.0)
    check_finite("buildings_gamma", p["buildings_gamma"], positive=True)
    check_finite("buildings_h_cap", p["buildings_h_cap"], min_value=0.0)
    if p["buildings_h_cap"] >= p["airspace_z_min"]:
        raise ValidationError("buildings_h_cap", f"must stay below the flight floor airspace_z_min "
                                                 f"({p['airspace_z_min']} m): UAVs fly above every roof (E3)")
    check_finite("buildings_road_width", p["buildings_road_width"], min_value=0.0)
    check_int("buildings_clusters_per_side", p["buildings_clusters_per_side"], min_value=1)
    check_finite("buildings_site_clearance", p["buildings_site_clearance"], min_value=0.0)
    n_sites = 0
    for net in ("gn", "an"):
        sites = np.asarray(p[f"{net}_sites_xy"], dtype=float)
        if sites.ndim != 2 or sites.shape[1] != 2:
            raise ValidationError(f"{net}_sites_xy", "must be a list of (x, y) pairs")
        n_sites += sites.shape[0]
        if sites.size and (np.any(sites[:, 0] < p["area_x_min"]) or np.any(sites[:, 0] > p["area_x_max"])
                           or np.any(sites[:, 1] < p["area_y_min"]) or np.any(sites[:, 1] > p["area_y_max"])):
            raise ValidationError(f"{net}_sites_xy", "every site must lie inside the area")
        check_finite(f"{net}_height", p[f"{net}_height"], positive=True)
        if p[f"{net}_height"] >= p["airspace_z_min"]:
            raise ValidationError(f"{net}_height", "must lie below the flight floor airspace_z_min")
        if sites.shape[0] and len(p[f"{net}_sector_azimuths"]) == 0:
            raise ValidationError(f"{net}_sector_azimuths", "must list at least one sector azimuth")
        for key in ("fc", "bandwidth"):
            check_finite(f"{net}_{key}", p[f"{net}_{key}"], positive=True)
        arr = p[f"{net}_array"]
        if len(arr) != 2:
            raise ValidationError(f"{net}_array", "must be a pair (N_V, N_H)")
        for a in arr:
            check_int(f"{net}_array", a, min_value=1)
        if abs(p[f"{net}_tilt"]) >= 90.0:
            raise ValidationError(f"{net}_tilt", "must lie in (-90, 90) degrees")
    for key in ("theta_3db", "phi_3db"):
        check_finite(f"element_{key}", p[f"element_{key}"], positive=True)
    for key in ("sla_v", "a_m"):
        check_finite(f"element_{key}", p[f"element_{key}"], min_value=0.0)
    check_int("sn_n_sats", p["sn_n_sats"], min_value=0)
    if n_sites == 0 and p["sn_n_sats"] == 0:
        raise ValidationError("gn_sites_xy", "the BS set is empty: at least one GN/AN site or satellite is needed")
    if len(p["sn_pass_times"]) != p["sn_n_sats"]:
        raise ValidationError("sn_pass_times", f"must list one pass time per satellite ({p['sn_n_sats']})")
    for key in ("altitude", "ground_speed", "fc", "bandwidth", "earth_radius"):
        check_finite(f"sn_{key}", p[f"sn_{key}"], positive=True)
    if len(p["sn_array"]) != 2:
        raise ValidationError("sn_array", "must be a pair of element counts")
    for a in p["sn_array"]:
        check_int("sn_array", a, min_value=1)
    if not -90.0 <= p["sn_min_elevation"] <= 90.0:
        raise ValidationError("sn_min_elevation", "must lie in [-90, 90] degrees")
    _choice("sn_beam_mode", p["sn_beam_mode"], BEAM_MODES)
    _choice("channel_los_mode", p["channel_los_mode"], LOS_MODES)
    check_int("channel_n_draws", p["channel_n_draws"], min_value=1)
    if not isinstance(p["channel_shadowing"], (bool, np.bool_)):
        raise ValidationError("channel_shadowing", "must be true or false")
    check_finite("channel_shadow_corr", p["channel_shadow_corr"], positive=True)
    check_finite("channel_scintillation_db", p["channel_scintillation_db"], min_value=0.0)
    check_finite("channel_polarization_loss_db", p["channel_polarization_loss_db"], min_value=0.0)
    _choice("channel_rate_backend", p["channel_rate_backend"], RATE_BACKENDS)
    check_finite("channel_raster_xy", p["channel_raster_xy"], positive=True)
    check_finite("channel_raster_z", p["channel_raster_z"], positive=True)
    check_int("uav_n_uavs", p["uav_n_uavs"], min_value=1)
    check_finite("uav_speed", p["uav_speed"], positive=True)
    check_finite("uav_step_length", p["uav_step_length"], positive=True)
    check_int("uav_max_steps", p["uav_max_steps"], min_value=1)
    check_finite("uav_arrival_radius", p["uav_arrival_radius"], min_value=0.0)
    check_finite("uav_direction_margin", p["uav_direction_margin"], min_value=0.0)
    if p["uav_direction_margin"] >= 1.0:
        raise ValidationError("uav_direction_margin", "must lie in [0, 1)")
    dest = np.asarray(p["uav_destination"], dtype=float)
    check_shape("uav_destination", dest, (3,))
    lo = [p["airspace_x_min"], p["airspace_y_min"], p["airspace_z_min"]]
    hi = [p["airspace_x_max"], p["airspace_y_max"], p["airspace_z_max"]]
    if np.any(dest < lo) or np.any(dest > hi):
        raise ValidationError("uav_destination", "must lie inside the airspace box")
    sb = np.asarray(p["uav_start_box"], dtype=float)
    check_shape("uav_start_box", sb, (3, 2))
    if np.any(sb[:, 1] < sb[:, 0]) or np.any(sb[:, 0] < lo) or np.any(sb[:, 1] > hi):
        raise ValidationError("uav_start_box", "rows (low, high) with low <= high, inside the airspace box")
    sd = p["uav_start_dist"]
    if len(sd) != 2 or sd[0] < 0 or sd[1] < sd[0]:
        raise ValidationError("uav_start_dist", "must be a pair (low, high) with 0 <= low <= high")
    starts = np.asarray(p["uav_starts"], dtype=float)
    if starts.size:
        check_shape("uav_starts", starts, (p["uav_n_uavs"], 3))
        if np.any(starts < lo) or np.any(starts > hi):
            raise ValidationError("uav_starts", "every given start must lie inside the airspace box")
    check_finite("qos_r_req", p["qos_r_req"], min_value=0.0)
    check_shape("objective_lambda", p["objective_lambda"], (3,))
    check_finite("objective_lambda", p["objective_lambda"], min_value=0.0)
    check_shape("reward_w", p["reward_w"], (3,))
    check_finite("reward_w", p["reward_w"], min_value=0.0)
    check_finite("reward_eta_bnd", p["reward_eta_bnd"], min_value=0.0)
    if isinstance(p["objective_fail_penalty"], str):
        _choice("objective_fail_penalty", p["objective_fail_penalty"], FAIL_PENALTY_RULES)
    check_finite("reward_arrival_bonus", p["reward_arrival_bonus"], min_value=0.0)
    check_finite("ref_h", p["ref_h"], positive=True)
    if len(p["ref_z_levels"]) == 0:
        raise ValidationError("ref_z_levels", "must list at least one altitude level")
    if min(p["ref_z_levels"]) < lo[2] or max(p["ref_z_levels"]) > hi[2]:
        raise ValidationError("ref_z_levels", "every level must lie inside the airspace z range")
    check_int("ref_kappa0", p["ref_kappa0"], min_value=1)
    _choice("ref_gain_mode", p["ref_gain_mode"], GAIN_MODES)
    check_int("ref_h_max", p["ref_h_max"], min_value=0)
    check_int("train_episodes", p["train_episodes"], min_value=1)
    _choice("train_starts", p["train_starts"], TRAIN_STARTS)
    if p["train_preset"]:
        from optkit.scenarios import scenario_ids

        scenario = p["train_preset"].partition(":")[0]
        if scenario not in scenario_ids("sagin"):
            raise ValidationError("train_preset", f"must be empty (the instance's own preset) or a sagin preset "
                                                  f"(got {p['train_preset']!r})")
