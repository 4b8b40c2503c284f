"""Declared fields of the `sagin` instance (§3.1): plausible range and unit of every parameter field and the type,
dtype and shape of the derived arrays, enforced by `optkit.fields.validate_fields` first in
`SaginInstance.validate` and in the generator's parameter check (relations between fields follow there).

The kind of each parameter comes from the instance's own table (`instance.KINDS`); this module adds the ranges
(RANGES: name -> (low, high, low_open, unit)). Ranges are physical plausibility bounds, wide around the presets.
"""
from __future__ import annotations

import math

from optkit.fields import Field, estimate_check, length

XY = 1e6           # m, any horizontal coordinate
Z = 1e5            # m, any altitude of the area and airspace

# name -> (low, high, low_open, unit)
RANGES: dict[str, tuple] = {
    **{f"{pre}_{ax}_{end}": (-XY, XY, False, "m") for pre in ("area", "airspace") for ax in "xy"
       for end in ("min", "max")},
    **{f"{pre}_z_{end}": (0.0, Z, False, "m") for pre in ("area", "airspace") for end in ("min", "max")},
    "buildings_alpha": (0.0, 1.0, False, "1"), "buildings_beta": (0.0, 1e4, False, "1/km^2"),
    "buildings_gamma": (0.0, 1e3, True, "m"), "buildings_h_cap": (0.0, 1e4, False, "m"),
    "buildings_road_width": (0.0, 1e4, False, "m"), "buildings_clusters_per_side": (1, 1000, False, "1"),
    "buildings_site_clearance": (0.0, 1e4, False, "m"),
    **{f"{net}_{key}": rng for net in ("gn", "an") for key, rng in (
        ("sites_xy", (-XY, XY, False, "m")), ("height", (0.0, 1e4, True, "m")),
        ("sector_azimuths", (-360.0, 360.0, False, "deg")), ("fc", (0.0, 100.0, True, "GHz")),
        ("bandwidth", (1.0, 1e10, False, "Hz")), ("tx_power", (-100.0, 100.0, False, "dBm")),
        ("array", (1, 1024, False, "1")), ("tilt", (-90.0, 90.0, False, "deg")),
        ("noise_figure", (0.0, 100.0, False, "dB")))},
    "element_g_max": (-50.0, 50.0, False, "dBi"), "element_theta_3db": (0.0, 360.0, True, "deg"),
    "element_phi_3db": (0.0, 360.0, True, "deg"), "element_sla_v": (0.0, 200.0, False, "dB"),
    "element_a_m": (0.0, 200.0, False, "dB"),
    "sn_n_sats": (0, 1000, False, "1"), "sn_altitude": (1e5, 5e7, False, "m"),
    "sn_ground_speed": (0.0, 1e4, True, "m/s"), "sn_track_y": (-1e7, 1e7, False, "m"),
    "sn_pass_x": (-1e7, 1e7, False, "m"), "sn_pass_times": (-1e6, 1e6, False, "s"),
    "sn_fc": (0.0, 100.0, True, "GHz"), "sn_bandwidth": (1.0, 1e10, False, "Hz"),
    "sn_tx_power": (-100.0, 100.0, False, "dBm"), "sn_array": (1, 1024, False, "1"),
    "sn_min_elevation": (-90.0, 90.0, False, "deg"), "sn_noise_figure": (0.0, 100.0, False, "dB"),
    "sn_earth_radius": (1e6, 1e8, False, "m"),
    "channel_rician_k_db": (-50.0, 100.0, False, "dB"), "channel_n_draws": (1, 100_000, False, "1"),
    "channel_shadow_corr": (0.0, 1e5, True, "m"), "channel_scintillation_db": (0.0, 100.0, False, "dB"),
    "channel_polarization_loss_db": (0.0, 100.0, False, "dB"), "channel_raster_xy": (0.1, 1e4, False, "m"),
    "channel_raster_z": (0.1, 1e4, False, "m"),
    "uav_n_uavs": (1, 10_000, False, "1"), "uav_speed": (0.0, 340.0, True, "m/s"),
    "uav_step_length": (0.01, 1e4, False, "m"), "uav_max_steps": (1, 1_000_000, False, "1"),
    "uav_arrival_radius": (0.0, 1e5, False, "m"), "uav_direction_margin": (0.0, 1.0, False, "1"),
    "uav_destination": (-XY, XY, False, "m"), "uav_start_box": (-XY, XY, False, "m"),
    "uav_start_dist": (0.0, 1e7, False, "m"), "uav_antenna_gain": (-50.0, 50.0, False, "dBi"),
    "uav_starts": (-XY, XY, False, "m"),
    "qos_r_req": (0.0, 1e5, False, "Mbit/s"), "objective_lambda": (0.0, 1e6, False, "1"),
    "reward_w": (0.0, 1e6, False, "1"), "reward_eta_bnd": (0.0, 1e6, False, "1"),
    "reward_arrival_bonus": (0.0, 1e6, False, "1"),
    "ref_h": (1.0, 1e4, False, "m"), "ref_z_levels": (0.0, Z, False, "m"), "ref_kappa0": (1, 1000, False, "1"),
    "ref_h_max": (0, 100_000, False, "1"), "train_episodes": (1, 10_000_000, False, "1"),
}

_KIND_OF = {"f": ("float", None, None), "i": ("int", None, None), "b": ("bool", None, None),
            "s": ("str", None, None), "fl": ("list", "float", None), "i2": ("list", "int", 2),
            "f3": ("list", "float", 3), "xy": ("array", "float64", (None, 2)), "xyz": ("array", "float64", (None, 3)),
            "box": ("array", "float64", (3, 2))}
_CHOICES = {"sn_beam_mode": ("nadir", "area_fixed"), "channel_los_mode": ("geometric", "probabilistic"),
            "channel_rate_backend": ("exact", "cached"), "ref_gain_mode": ("segment", "node")}


def _field(name: str, code: str) -> Field | None:
    """The Field of parameter `name` of kind code `code` (instance.KINDS); None for a kind checked by the family."""
    if code not in _KIND_OF:
        return None
    kind, sub, shape = _KIND_OF[code]
    low, high, low_open, unit = RANGES.get(name, (None, None, False, ""))
    if kind == "array":
        return Field(name, kind, low, high, low_open, unit, shape=shape, dtype=sub)
    if kind == "list":
        return Field(name, kind, low, high, low_open, unit, shape=(shape,) if shape else (), element=sub)
    return Field(name, kind, low, high, low_open, unit, choices=_CHOICES.get(name, ()))


def param_fields(kinds: dict) -> tuple[Field, ...]:
    """Fields of the parameters (`instance.KINDS`: name -> kind code), in their order."""
    return tuple(f for f in (_field(name, code) for name, code in kinds.items()) if f is not None)


DERIVED: tuple[Field, ...] = (
    Field("name", "str"),
    Field("seed", "int", 0, 2**63 - 1),
    Field("building_centers", "array", -XY, XY, unit="m", shape=(None, 2), dtype="float64"),
    Field("building_width", "float", 0.0, 1e4, unit="m"),
    Field("building_heights", "array", 0.0, 1e4, unit="m", shape=("N_b",), dtype="float64"),
    Field("fading_re", "array", -1e3, 1e3, shape=("channel_n_draws", "B"), dtype="float64"),
    Field("fading_im", "array", -1e3, 1e3, shape=("channel_n_draws", "B"), dtype="float64"),
    Field("starts_test", "array", -XY, XY, unit="m", shape=("uav_n_uavs", 3), dtype="float64"),
)


def sizes(inst) -> dict:
    """Shape names of the derived arrays (called after the scalar fields are checked)."""
    n_bs = (length(inst.gn_sites_xy) * length(inst.gn_sector_azimuths)
            + length(inst.an_sites_xy) * length(inst.an_sector_azimuths) + inst.sn_n_sats)
    return {"N_b": length(inst.building_centers), "B": n_bs, "channel_n_draws": inst.channel_n_draws,
            "uav_n_uavs": inst.uav_n_uavs}


def check_size(p) -> None:
    """Refuse parameters whose building map, fading draws or cached rate raster would exhaust memory (p: the
    instance or its flat parameter dict), with the estimate."""
    get = p.__getitem__ if isinstance(p, dict) else (lambda n: getattr(p, n))
    area_km2 = (get("area_x_max") - get("area_x_min")) * (get("area_y_max") - get("area_y_min")) / 1e6
    buildings = max(area_km2, 0.0) * get("buildings_beta") + get("buildings_clusters_per_side") ** 2
    estimate_check("buildings_beta", f"the building map (about {buildings:.3g} buildings)", buildings * 64)
    n_bs = (length(get("gn_sites_xy")) * length(get("gn_sector_azimuths"))
            + length(get("an_sites_xy")) * length(get("an_sector_azimuths")) + get("sn_n_sats"))
    estimate_check("channel_n_draws", "the fading draws", 16.0 * get("channel_n_draws") * n_bs)
    if get("channel_rate_backend") == "cached":
        points = 1.0
        for ax, step in (("x", get("channel_raster_xy")), ("y", get("channel_raster_xy")), ("z", get("channel_raster_z"))):
            points *= math.floor((get(f"airspace_{ax}_max") - get(f"airspace_{ax}_min")) / step) + 1
        estimate_check("channel_raster_xy", f"the cached rate raster ({points:.3g} points)", points * n_bs * 16.0)
    if get("channel_shadowing") or get("channel_los_mode") == "probabilistic":      # 10 m float32 fields per BS
        points = 1.0
        for ax in "xyz":
            points *= math.floor((get(f"area_{ax}_max") - get(f"area_{ax}_min")) / 10.0) + 1
        estimate_check("channel_shadowing", f"the random fields on the 10 m raster ({points:.3g} points)",
                       points * n_bs * 4.0 * 2)


def check_lattice_size(inst) -> None:
    """Refuse a lattice reference (lattice-dp, p2l-milp) whose lattice L(ref.h) would exhaust memory: labels
    (K+1, V, B, H_max+1) of 10 bytes and satellite gains (V, 26, K+1, n_sats) of 8 bytes, with the estimate."""
    h = float(inst.ref_h)
    nodes = 1.0
    for ax in "xy":
        nodes *= math.floor((getattr(inst, f"airspace_{ax}_max") - getattr(inst, f"airspace_{ax}_min")) / h) + 1
    nodes *= max(length(inst.ref_z_levels), 1)
    ticks = inst.uav_max_steps * inst.uav_step_length * inst.ref_kappa0 / h + 1       # K + 1 = N_max Δs κ0 / h + 1
    n_bs = sizes(inst)["B"]
    labels = ticks * nodes * n_bs * (inst.ref_h_max + 1) * 10.0
    gains = nodes * 26 * ticks * (inst.sn_n_sats + 1) * 8.0
    estimate_check("ref_h", f"the lattice reference on L(h = {h:g} m) ({nodes:.3g} nodes x {ticks:.3g} ticks)",
                   labels + gains)
