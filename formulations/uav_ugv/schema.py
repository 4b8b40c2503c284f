"""Declared fields of the `uav-ugv` instance (§3.2, §3.3, §3.8): type, shape, plausible range and unit of every
field, enforced by `optkit.fields.validate_fields` in `validate_params` (parameters, also the generator's check of
presets and overrides) and in `UavUgvInstance.validate` (every field, the derived arrays with their dtype tags);
relations between fields (ordering, ids in range of a count, CSR structure, connectivity) follow there. Ranges are
physical plausibility bounds, wide around the presets: a 1e30 Hz carrier or a 2^62-slot mission is refused.

Section (§) and decision (D) numbers refer to docs/families/uav-ugv.md.
"""
from __future__ import annotations

from optkit.fields import Field, estimate_check

M = 1e6                      # plausible coordinate / length bound, m

PARAMS: tuple[Field, ...] = (
    Field("n_uavs", "int", 1, 64),
    Field("n_ugvs", "int", 1, 64),
    Field("n_users", "int", 1, 100_000),
    Field("n_slots", "int", 1, 100_000),
    Field("road_grid_n", "int", 2, 200),
    Field("n_clusters", "int", 1, 100_000),
    Field("state_grid_n", "int", 1, 1000),
    Field("env_class", "str", choices=("suburban", "urban", "dense_urban", "highrise_urban")),
    Field("bandwidth_sharing", "str", choices=("equal", "full")),
    Field("road_speed_mode", "str", choices=("uniform", "mixed")),
    Field("start_mode", "str", choices=("depot", "random_nodes")),
    Field("uav_home_mode", "str", choices=("ring", "lattice_column")),
    Field("user_layout", "str", choices=("uniform", "clustered")),
    Field("user_mobility", "str", choices=("static",)),
    Field("state_mode", "str", choices=("grid",)),
    Field("action_mode", "str", choices=("continuous", "lattice")),
    Field("task_dist", "str", choices=("",)),
    Field("train_preset", "str"),
    Field("los_sampling", "bool"),
    Field("road_speed_mixed", "list", 0.0, 100.0, low_open=True, unit="m/s", shape=(2,)),
    Field("depot_xy", "list", 0.0, M, unit="m", shape=(2,)),
    Field("area_x", "float", 0.0, M, low_open=True, unit="m"),
    Field("area_y", "float", 0.0, M, low_open=True, unit="m"),
    Field("slot_s", "float", 1e-3, 3600.0, unit="s"),
    Field("uav_vmax", "float", 0.0, 200.0, low_open=True, unit="m/s"),
    Field("uav_zmin", "float", 0.0, 20_000.0, low_open=True, unit="m"),
    Field("uav_zmax", "float", 0.0, 20_000.0, low_open=True, unit="m"),
    Field("uav_z0", "float", 0.0, 20_000.0, low_open=True, unit="m"),
    Field("uav_home_ring_m", "float", 0.0, M, unit="m"),
    Field("d_safe", "float", 0.0, 10_000.0, unit="m"),
    Field("uav_power_w", "float", 0.0, 1e4, low_open=True, unit="W"),
    Field("ugv_vmax", "float", 0.0, 100.0, low_open=True, unit="m/s"),
    Field("ugv_power_w", "float", 0.0, 1e5, low_open=True, unit="W"),
    Field("snr_min_backhaul_db", "float", -100.0, 100.0, unit="dB"),
    Field("carrier_hz", "float", 1e6, 1e12, unit="Hz"),
    Field("c_light", "float", 1e8, 1e9, unit="m/s"),
    Field("bandwidth_hz", "float", 0.0, 1e11, low_open=True, unit="Hz"),
    Field("noise_w", "float", 0.0, 1.0, low_open=True, unit="W"),
    Field("rate_min_bps", "float", 0.0, 1e11, low_open=True, unit="bit/s"),
    Field("qos_weight", "float", 0.0, 1e9),
    Field("collision_weight", "float", 0.0, 1e9),
    Field("reward_scale", "float", 0.0, 1e6),
    Field("road_jitter_frac", "float", 0.0, 0.5),
    Field("road_drop_prob", "float", 0.0, 1.0),
    Field("road_speed_uniform", "float", 0.0, 100.0, low_open=True, unit="m/s"),
    Field("waypoint_step_m", "float", 0.1, M, unit="m"),
    Field("cluster_sigma_m", "float", 0.0, M, low_open=True, unit="m"),
    Field("user_speed", "float", 0.0, 100.0, unit="m/s"),
)

FIELDS: tuple[Field, ...] = (
    Field("name", "str"),
    Field("seed", "int", 0, 2**63 - 1),
    *PARAMS,
    Field("los_a", "float", 0.0, 100.0, low_open=True),
    Field("los_b", "float", 0.0, 10.0, low_open=True),
    Field("beta_los_db", "float", 0.0, 100.0, unit="dB"),
    Field("beta_nlos_db", "float", 0.0, 200.0, unit="dB"),
    Field("depot_node", "int", 0, 40_000),
    Field("road_nodes", "array", -M, M, unit="m", shape=("Q", 2), dtype="float64"),
    Field("road_edges", "array", 0.0, 1e7, shape=(None, 4), dtype="float64"),
    Field("waypoints", "array", -M, M, unit="m", shape=(None, 2), dtype="float64"),
    Field("arcs", "array", 0.0, 1e7, shape=(None, 4), dtype="float64"),
    Field("reach_ptr", "array", 0, None, shape=("W+1",), dtype="int64"),
    Field("reach_idx", "array", 0, None, shape=(None,), dtype="int64"),
    Field("reach_time", "array", 0.0, 1e7, unit="s", shape=(None,), dtype="float64"),
    Field("users", "array", -M, M, unit="m", shape=("n_users", 2), dtype="float64"),
    Field("uav_home", "array", -M, M, unit="m", shape=("n_uavs", 3), dtype="float64"),
    Field("ugv_home", "array", 0, None, shape=("n_ugvs",), dtype="int64"),
)

#: Bytes per (slot, UAV, user) entry of the per-slot channel, rate and association arrays (a rough lower figure).
BYTES_PER_SLOT_LINK = 64
#: Bytes per (waypoint, reachable waypoint) entry of the one-slot reachability (CSR index and time).
BYTES_PER_REACH = 16


def sizes(inst) -> dict:
    """Dimension names of the array shapes: Q intersections, W + 1 reachability pointers."""
    return {"Q": int(inst.road_grid_n) ** 2, "W+1": int(getattr(inst.waypoints, "shape", (0,))[0]) + 1}


def check_size(p) -> None:
    """Refuse parameters whose per-slot arrays (N slots x U UAVs x K users) or road waypoints and one-slot
    reachability would exhaust memory, with the estimate (p: the parameter dict)."""
    estimate_check("n_slots", f"the per-slot arrays ({p['n_slots']} slots x {p['n_uavs']} UAVs x "
                              f"{p['n_users']} users)",
                   float(p["n_slots"]) * p["n_uavs"] * p["n_users"] * BYTES_PER_SLOT_LINK)
    # Road length <= 2 n (X + Y); a waypoint every waypoint_step_m; Reach(w) spans up to 2 v_max Δ of road per side.
    road_m = 2.0 * p["road_grid_n"] * (p["area_x"] + p["area_y"])
    waypoints = road_m / p["waypoint_step_m"]
    reach = min(waypoints, 1.0 + 4.0 * p["ugv_vmax"] * p["slot_s"] / p["waypoint_step_m"])
    estimate_check("waypoint_step_m", f"the road waypoints and their one-slot reachability ({waypoints:.3g} "
                                      f"waypoints x {reach:.3g} reachable)", waypoints * reach * BYTES_PER_REACH)
