"""The `uav-ugv` instance (§3): parameters of §3.2 plus the derived road graph, waypoints, one-slot reachability,
users and homes, serialized as authoritative arrays (§3.8).

Section (§), equation (E) and decision (D) numbers refer to docs/families/uav-ugv.md (the family spec's numbering).
Units: SI (m, s, W, Hz, bit/s); dB where the name says so.
"""
from __future__ import annotations

import dataclasses
import functools
import re

import numpy as np

from optkit.errors import ValidationError
from optkit.instance import Instance, check_finite, check_int, check_shape, plain_value

ENV_CLASSES = ("suburban", "urban", "dense_urban", "highrise_urban")
CHOICES = {
    "bandwidth_sharing": ("equal", "full"),
    "road_speed_mode": ("uniform", "mixed"),
    "start_mode": ("depot", "random_nodes"),
    "uav_home_mode": ("ring", "lattice_column"),
    "user_layout": ("uniform", "clustered"),
    "user_mobility": ("static",),           # "random_walk" (E24) is not built: validate() names it
    "state_mode": ("grid",),                # "raw" is a learner option (Part B)
    "action_mode": ("continuous", "lattice"),
    "task_dist": ("",),                     # training distributions (Part B)
}
INT_PARAMS = ("n_uavs", "n_ugvs", "n_users", "n_slots", "road_grid_n", "n_clusters", "state_grid_n")
TEXT_PARAMS = ("env_class", *CHOICES, "train_preset")
BOOL_PARAMS = ("los_sampling",)
PAIR_PARAMS = ("road_speed_mixed", "depot_xy")
FLOAT_PARAMS = ("area_x", "area_y", "slot_s", "uav_vmax", "uav_zmin", "uav_zmax", "uav_z0", "uav_home_ring_m",
                "d_safe", "uav_power_w", "ugv_vmax", "ugv_power_w", "snr_min_backhaul_db", "carrier_hz", "c_light",
                "bandwidth_hz", "noise_w", "rate_min_bps", "qos_weight", "collision_weight", "reward_scale",
                "road_jitter_frac", "road_drop_prob", "road_speed_uniform", "waypoint_step_m", "cluster_sigma_m",
                "user_speed")
PARAMS = (*INT_PARAMS, *TEXT_PARAMS, *BOOL_PARAMS, *PAIR_PARAMS, *FLOAT_PARAMS)
TABLES = ("env_classes",)                   # preset data that is not an instance field (§3.3 table)

# Lattice of §8.1 (action_mode="lattice", ref-grid-dp): horizontal spacing V_u^max Δ, three altitude levels.
LATTICE_LEVELS = 3


@dataclasses.dataclass(frozen=True, eq=False)
class UavUgvInstance(Instance):
    """One mission: U UAVs, M UGVs on a road graph, K static users, N slots of Δ seconds.

    Derived arrays (§3.2): road_nodes (Q, 2) m; road_edges (E, 4) rows (i, j, length_m, vmax_mps); waypoints
    (W, 2) m; arcs (A, 4) rows (w, w', length_m, time_s); reach_ptr (W+1,), reach_idx (R,), reach_time (R,) s:
    CSR of one-slot reachability Reach(w) (§3.5, includes w); users (K, 2) m; uav_home (U, 3) m; ugv_home (M,)
    waypoint ids.
    """

    family = "uav-ugv"

    name: str
    seed: int
    # --- §3.2 parameters ---
    n_uavs: int
    n_ugvs: int
    n_users: int
    n_slots: int
    road_grid_n: int
    n_clusters: int
    state_grid_n: int
    env_class: str
    bandwidth_sharing: str
    road_speed_mode: str
    start_mode: str
    uav_home_mode: str
    user_layout: str
    user_mobility: str
    state_mode: str
    action_mode: str
    task_dist: str
    train_preset: str
    los_sampling: bool
    road_speed_mixed: tuple
    depot_xy: tuple
    area_x: float
    area_y: float
    slot_s: float
    uav_vmax: float
    uav_zmin: float
    uav_zmax: float
    uav_z0: float
    uav_home_ring_m: float
    d_safe: float
    uav_power_w: float
    ugv_vmax: float
    ugv_power_w: float
    snr_min_backhaul_db: float
    carrier_hz: float
    c_light: float
    bandwidth_hz: float
    noise_w: float
    rate_min_bps: float
    qos_weight: float
    collision_weight: float
    reward_scale: float
    road_jitter_frac: float
    road_drop_prob: float
    road_speed_uniform: float
    waypoint_step_m: float
    cluster_sigma_m: float
    user_speed: float
    # --- §3.3 environment class (from the preset's env_classes table) ---
    los_a: float
    los_b: float
    beta_los_db: float
    beta_nlos_db: float
    # --- derived data (§3.2) ---
    road_nodes: np.ndarray
    road_edges: np.ndarray
    depot_node: int
    waypoints: np.ndarray
    arcs: np.ndarray
    reach_ptr: np.ndarray
    reach_idx: np.ndarray
    reach_time: np.ndarray
    users: np.ndarray
    uav_home: np.ndarray
    ugv_home: np.ndarray

    # ------------------------------------------------------------------ derived helpers (cached, not fields)
    @property
    def preset(self) -> str:
        return self.name

    @property
    def horizontal_step(self) -> float:
        """V_u^max Δ, the largest UAV move in one slot (m)."""
        return self.uav_vmax * self.slot_s

    @property
    def n_waypoints(self) -> int:
        return int(self.waypoints.shape[0])

    def reach(self, w: int) -> np.ndarray:
        """Reach(w): waypoint ids reachable within one slot (sorted, includes w)."""
        return self.reach_idx[self.reach_ptr[w]:self.reach_ptr[w + 1]]

    @functools.cached_property
    def reach_matrix(self):
        """Reach as a scipy CSR boolean matrix (W, W)."""
        from scipy.sparse import csr_matrix

        W = self.n_waypoints
        return csr_matrix((np.ones(self.reach_idx.size, dtype=bool), self.reach_idx, self.reach_ptr), shape=(W, W))

    @functools.cached_property
    def home_hops(self) -> np.ndarray:
        """H_home (M, W): hop distance in the one-slot reachability graph to each UGV's home waypoint (§3.5)."""
        from scipy.sparse.csgraph import shortest_path

        homes = np.asarray(self.ugv_home, dtype=np.int64)
        unique, inverse = np.unique(homes, return_inverse=True)
        hops = shortest_path(self.reach_matrix.astype(float), unweighted=True, directed=False, indices=unique)
        out = hops[inverse]
        out[~np.isfinite(out)] = 10 ** 9
        out = out.astype(np.int64)
        out.setflags(write=False)
        return out

    @functools.cached_property
    def snr_min_linear(self) -> float:
        return float(10.0 ** (self.snr_min_backhaul_db / 10.0))

    def params(self) -> dict:
        """The §3.2 parameters as plain values."""
        return {name: plain_value(getattr(self, name)) for name in PARAMS}

    # ------------------------------------------------------------------ validation
    def validate(self) -> "UavUgvInstance":
        from optkit.fields import validate_fields
        from optkit.formulations.uav_ugv import schema

        validate_fields(self, schema.FIELDS, schema.sizes)   # types, shapes, dtype tags, plausible ranges
        p = self.params()
        validate_params(p)
        for name, value in (("los_a", self.los_a), ("los_b", self.los_b)):
            check_finite(name, value, positive=True)
        check_finite("beta_los_db", self.beta_los_db, min_value=0.0)
        check_finite("beta_nlos_db", self.beta_nlos_db, min_value=self.beta_los_db)
        Q = self.road_grid_n ** 2
        check_shape("road_nodes", self.road_nodes, (Q, 2))
        if np.ndim(self.road_edges) != 2 or np.shape(self.road_edges)[1] != 4:
            raise ValidationError("road_edges", "must have shape (E, 4): rows (i, j, length_m, vmax_mps)")
        check_finite("road_edges", self.road_edges, min_value=0.0)
        check_int("depot_node", self.depot_node, min_value=0)
        if self.depot_node >= Q:
            raise ValidationError("depot_node", f"must be an intersection id in [0, {Q})")
        W = self.n_waypoints
        if np.ndim(self.waypoints) != 2 or np.shape(self.waypoints)[1] != 2 or W < Q:
            raise ValidationError("waypoints", f"must have shape (W, 2) with W >= {Q} intersections")
        check_shape("reach_ptr", self.reach_ptr, (W + 1,))
        if self.reach_ptr[-1] != self.reach_idx.size or self.reach_idx.size != self.reach_time.size:
            raise ValidationError("reach_idx", "reach_ptr, reach_idx and reach_time must describe one CSR matrix")
        if self.reach_ptr[0] != 0 or np.any(np.diff(self.reach_ptr) < 0):
            raise ValidationError("reach_ptr", "must start at 0 and never decrease (CSR row pointers)")
        if np.any(self.reach_idx >= W):
            raise ValidationError("reach_idx", f"waypoint ids must lie in [0, {W})")
        arc_ids = self.arcs[:, :2]
        if np.any(arc_ids >= W) or np.any(arc_ids != np.round(arc_ids)):
            raise ValidationError("arcs", f"columns w, w' must be waypoint ids (integers in [0, {W}))")
        edge_ids = self.road_edges[:, :2]
        if np.any(edge_ids != np.round(edge_ids)):
            raise ValidationError("road_edges", "columns i, j must be intersection ids (integers)")
        _check_connected(self)
        check_shape("users", self.users, (self.n_users, 2))
        check_finite("users", self.users)
        check_shape("uav_home", self.uav_home, (self.n_uavs, 3))
        check_shape("ugv_home", self.ugv_home, (self.n_ugvs,))
        if np.any(np.asarray(self.ugv_home) < 0) or np.any(np.asarray(self.ugv_home) >= W):
            raise ValidationError("ugv_home", f"waypoint ids must lie in [0, {W})")
        home = np.asarray(self.uav_home)
        if np.any(home[:, 2] < self.uav_zmin - 1e-9) or np.any(home[:, 2] > self.uav_zmax + 1e-9):
            raise ValidationError("uav_home", f"altitudes must lie in [uav_zmin, uav_zmax] = "
                                              f"[{self.uav_zmin}, {self.uav_zmax}] m")
        return self


def _check_connected(inst: UavUgvInstance) -> None:
    from scipy.sparse.csgraph import connected_components

    edges = np.asarray(inst.road_edges)
    Q = inst.road_grid_n ** 2
    if edges.size and (np.any(edges[:, :2] < 0) or np.any(edges[:, :2] >= Q)):
        raise ValidationError("road_edges", f"node ids must lie in [0, {Q})")
    from scipy.sparse import coo_matrix

    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0].astype(int), edges[:, 1].astype(int))), shape=(Q, Q))
    if connected_components(graph, directed=False)[0] != 1:
        raise ValidationError("road_edges", "the road graph must be connected")


def _choice(p: dict, name: str, options) -> None:
    if p[name] not in options:
        raise ValidationError(name, f"must be one of {', '.join(repr(o) for o in options)} (got {p[name]!r})")


def validate_params(p: dict) -> None:
    """Raise ValidationError naming the first parameter that breaks a rule (§6.5: one line, exit 2)."""
    from optkit.fields import validate_fields
    from optkit.formulations.uav_ugv import schema

    missing = [k for k in PARAMS if k not in p]
    if missing:
        raise ValidationError(missing[0], "missing parameter")
    validate_fields(p, schema.PARAMS)                    # types and plausible ranges (schema.py)
    schema.check_size(p)
    if not re.fullmatch(r"train-tasks(-tiny|-ugvs:[1-9][0-9]*)?", p["train_preset"]):
        raise ValidationError("train_preset", "must name a training preset of §3.6: 'train-tasks', 'train-tasks-tiny' "
                                              f"or 'train-tasks-ugvs:<M>' (got {p['train_preset']!r})")
    for name in INT_PARAMS:
        check_int(name, p[name], min_value=1)
    if p["road_grid_n"] < 2:
        raise ValidationError("road_grid_n", "must be >= 2")
    _choice(p, "env_class", ENV_CLASSES)
    for name, options in CHOICES.items():
        _choice(p, name, options)
    if not isinstance(p["los_sampling"], bool):
        raise ValidationError("los_sampling", "must be true or false")
    if p["los_sampling"]:
        raise ValidationError("los_sampling", "must be false (LoS sampling, E23, is not built; the mean loss E10 "
                                              "applies)")
    for name in PAIR_PARAMS:
        if not isinstance(p[name], (list, tuple)) or len(p[name]) != 2:
            raise ValidationError(name, "must be a pair of numbers")
        check_finite(name, p[name], min_value=0.0)
    for name in FLOAT_PARAMS:
        check_finite(name, p[name])
    for name in ("area_x", "area_y", "slot_s", "uav_vmax", "uav_power_w", "ugv_vmax", "ugv_power_w", "carrier_hz",
                 "c_light", "bandwidth_hz", "noise_w", "road_speed_uniform", "waypoint_step_m", "cluster_sigma_m"):
        check_finite(name, p[name], positive=True)
    check_finite("road_speed_mixed", p["road_speed_mixed"], positive=True)
    check_finite("uav_zmin", p["uav_zmin"], positive=True)
    if p["uav_zmax"] < p["uav_zmin"]:
        raise ValidationError("uav_zmax", f"must be >= uav_zmin ({p['uav_zmin']} m)")
    if not p["uav_zmin"] <= p["uav_z0"] <= p["uav_zmax"]:
        raise ValidationError("uav_z0", f"must lie in [uav_zmin, uav_zmax] = [{p['uav_zmin']}, {p['uav_zmax']}] m")
    if p["rate_min_bps"] <= 0:
        raise ValidationError("rate_min_bps", f"must be > 0 (the QoS target), got {p['rate_min_bps']}")
    for name in ("d_safe", "uav_home_ring_m", "qos_weight", "collision_weight", "reward_scale", "user_speed"):
        check_finite(name, p[name], min_value=0.0)
    for name in ("road_jitter_frac", "road_drop_prob"):
        check_finite(name, p[name], min_value=0.0)
    if p["road_jitter_frac"] >= 0.5:
        raise ValidationError("road_jitter_frac", "must be < 0.5 (a planar road graph needs it)")
    if p["road_drop_prob"] > 1.0:
        raise ValidationError("road_drop_prob", "must lie in [0, 1]")
    if not (0 <= p["depot_xy"][0] <= p["area_x"] and 0 <= p["depot_xy"][1] <= p["area_y"]):
        raise ValidationError("depot_xy", "must lie inside the area [0, area_x] x [0, area_y]")
    if p["uav_home_mode"] == "lattice_column" and p["n_uavs"] > 2:
        raise ValidationError("uav_home_mode", f"'lattice_column' needs n_uavs <= 2 (got {p['n_uavs']})")
    if p["uav_home_mode"] == "lattice_column" or p["action_mode"] == "lattice":
        _check_lattice(p)
    if p["action_mode"] == "lattice" and p["uav_home_mode"] != "lattice_column":
        raise ValidationError("action_mode", "'lattice' needs the tiny-exact lattice geometry "
                                             "(uav_home_mode = 'lattice_column')")


def _check_lattice(p: dict) -> None:
    step = p["uav_vmax"] * p["slot_s"]
    for name in ("area_x", "area_y"):
        cells = p[name] / step
        if abs(cells - round(cells)) > 1e-9:
            raise ValidationError(name, f"the lattice of §8.1 needs a multiple of uav_vmax*slot_s = {step:g} m")
    dz = (p["uav_zmax"] - p["uav_zmin"]) / (LATTICE_LEVELS - 1)
    if not 0 < dz <= step:
        raise ValidationError("uav_zmax", "the lattice of §8.1 needs 0 < (uav_zmax - uav_zmin)/2 <= uav_vmax*slot_s")
