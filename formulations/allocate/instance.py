"""The `allocate` instance (§3.1): plain immutable data, every realization precomputed (§6.5).

Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md: it is the
family page of this repository, and every module of formulations/allocate uses the same numbers.
"""
from __future__ import annotations

import dataclasses
from functools import cached_property

import numpy as np

from optkit.errors import ValidationError
from optkit.fields import length, validate_fields
from optkit.instance import Instance, check_finite, check_int, check_shape

CORE, RSU, UAV = "core", "rsu", "uav"


@dataclasses.dataclass(frozen=True, eq=False)
class AllocateInstance(Instance):
    """One episode of the allocate family. Shapes: N nodes (cores, RSUs, UAVs in id order), N_u UAVs,
    A = grid_rows*grid_cols areas, L physical links, C channels, R requests, U UEs, S services."""

    family = "allocate"

    seed: int
    preset: str
    grid_rows: int
    grid_cols: int
    cell_side_m: float                 # m
    T: int                             # frames
    K: int                             # slots per frame
    frame_s: float                     # s
    H: int                             # history frames
    n_core: int
    n_rsu: int
    n_uav: int
    node_area: np.ndarray              # (N,) fixed area (core/RSU) or initial area (UAV)
    cap: np.ndarray                    # (N,) Ĉ_n, Mbps
    e_node: np.ndarray                 # (N,) Ē_n, eu per deployed function per frame
    uav_weight: np.ndarray             # (N_u,) W_n, kg
    uav_speed: np.ndarray              # (N_u,) V_n, m/s
    link_ends: np.ndarray              # (L, 2) node ids, canonical order (§3.3)
    link_wireless: np.ndarray          # (L,) bool: potential wireless link (active iff in range)
    link_cap: np.ndarray               # (L,) L̂_l, Mbps
    link_energy: np.ndarray            # (L,) ξ_l, eu
    link_lat: np.ndarray               # (L,) D_l, ms
    wireless_range_cells: int          # r_w, Chebyshev areas
    C: int
    e_chan: np.ndarray                 # (C,) M̄_c, eu per slot
    theta_los: np.ndarray              # (A,) θ_a
    sigma_ray: np.ndarray              # (C, A) σ_{c,a}
    weather: np.ndarray                # (T,) Ω^t in {0,1,2}
    Q: np.ndarray                      # (C, A, T*K) uint8 realized quality
    n_services: int
    n_functions: int
    service_funcs: tuple               # S tuples of function ids
    service_dur: np.ndarray            # (S,) 𝒯_s, frames (clipped to T)
    n_ues: int
    ue_area: np.ndarray                # (U, H+T) area at frame h-H
    ue_xy: np.ndarray                  # (U, H+T, 2) position at frame start, m
    req_ue: np.ndarray                 # (R,)
    req_service: np.ndarray            # (R,)
    req_entry: np.ndarray              # (R,) T'_r
    req_slots: np.ndarray              # (R,) Ť_r
    req_bw: np.ndarray                 # (R,) Ľ_r, Mbps
    req_demand: tuple                  # R tuples Ǐ_{r,f} in the order of 𝔽_{s_r}, Mbps
    req_latency: np.ndarray            # (R,) Ď_r, ms
    alpha: float                       # 1/eu
    uav_energy_scale: float            # eu/J
    uav_weight_as_force: bool
    induced_coeff: float
    drag_coeff: float
    air_density: float                 # kg/m^3
    rotor_disk_area: float             # m^2
    frontal_area: float                # m^2
    gravity: float                     # m/s^2
    uav_altitude_m: float
    carrier_hz: float
    ref_distance_m: float
    pathloss_exp: float
    tx_power_dbm: float
    noise_psd_dbm_hz: float
    subcarrier_hz: float
    snr_threshold: float
    weather_atten_db: np.ndarray       # (3,) ζ(Ω), dB
    weather_shadow_db: np.ndarray      # (3,) η(Ω), dB
    issuance: str = "iid"              # "iid" or "propensity" (D27): how (u_r, T'_r) were drawn
    hist_events: np.ndarray = dataclasses.field(            # (E, 2) int64 history issuance events (u, h), h < 0
        default_factory=lambda: np.zeros((0, 2), dtype=np.int64))                                          # (D27)

    # --- sizes and index helpers -------------------------------------------------------------
    @property
    def N(self) -> int:
        return self.n_core + self.n_rsu + self.n_uav

    @property
    def A(self) -> int:
        return self.grid_rows * self.grid_cols

    @property
    def R(self) -> int:
        return len(self.req_ue)

    @property
    def L(self) -> int:
        return len(self.link_ends)

    @property
    def cores(self) -> range:
        return range(0, self.n_core)

    @property
    def rsus(self) -> range:
        return range(self.n_core, self.n_core + self.n_rsu)

    @property
    def uavs(self) -> range:
        return range(self.n_core + self.n_rsu, self.N)

    def node_type(self, n: int) -> str:
        return CORE if n < self.n_core else RSU if n < self.n_core + self.n_rsu else UAV

    def uav_index(self, n: int) -> int:
        """Position of UAV node n in the UAV arrays (0..N_u-1)."""
        return n - self.n_core - self.n_rsu

    def active_frames(self, r: int) -> range:
        """Δ_r."""
        start = int(self.req_entry[r])
        return range(start, start + int(self.service_dur[self.req_service[r]]))

    def funcs(self, r: int) -> tuple:
        """𝔽_{s_r} in service order."""
        return self.service_funcs[int(self.req_service[r])]

    def area(self, r: int, t: int) -> int:
        """a(u_r, t), area of the UE of request r at frame t (t may be negative down to -H)."""
        return int(self.ue_area[int(self.req_ue[r]), t + self.H])

    def frame_of_slot(self, tau: int) -> int:
        return tau // self.K

    # --- derived static quantities (cached, never serialized) ---------------------------------
    @cached_property
    def move_energy(self) -> np.ndarray:
        """Λ_n(a, a') in eu, shape (N_u, A, A) (E4, E5)."""
        from optkit.formulations.allocate import physics

        power = physics.uav_propulsion_power(
            self.uav_weight,
            self.uav_speed,
            induced_coeff=self.induced_coeff,
            drag_coeff=self.drag_coeff,
            air_density=self.air_density,
            rotor_disk_area=self.rotor_disk_area,
            frontal_area=self.frontal_area,
            weight_as_force=self.uav_weight_as_force,
            gravity=self.gravity,
        )
        dist = physics.centre_distance_matrix(self.grid_rows, self.grid_cols, self.cell_side_m)
        return physics.uav_move_energy(power, self.uav_speed, dist, self.uav_energy_scale)

    @cached_property
    def cheb(self) -> np.ndarray:
        """Chebyshev distance between areas, (A, A) (E1)."""
        from optkit.formulations.allocate import physics

        return physics.chebyshev_matrix(self.grid_rows, self.grid_cols)

    # --- validation ----------------------------------------------------------------------------
    def validate(self) -> "AllocateInstance":
        from optkit.formulations.allocate import schema

        if isinstance(self.n_ues, int) and length(self.req_ue) > self.n_ues:     # before the shapes it implies
            raise ValidationError("R", f"must be <= n_ues = {self.n_ues} (one request per distinct UE)")
        validate_fields(self, schema.FIELDS, schema.sizes)         # types, shapes, dtype tags, plausible ranges
        schema.check_size(self)
        N, A, R, L, C, U, S = self.N, self.A, self.R, self.L, self.C, self.n_ues, self.n_services
        if self.n_rsu > A:
            raise ValidationError("n_rsu", f"must be <= number of areas {A} (RSUs occupy distinct areas)")
        if R > U:
            raise ValidationError("R", f"must be <= n_ues = {U} (one request per distinct UE)")
        shapes = {
            "node_area": (N,), "cap": (N,), "e_node": (N,), "uav_weight": (self.n_uav,), "uav_speed": (self.n_uav,),
            "link_ends": (L, 2), "link_wireless": (L,), "link_cap": (L,), "link_energy": (L,), "link_lat": (L,),
            "e_chan": (C,), "theta_los": (A,), "sigma_ray": (C, A), "weather": (self.T,), "Q": (C, A, self.T * self.K),
            "service_dur": (S,), "ue_area": (U, self.H + self.T), "ue_xy": (U, self.H + self.T, 2),
            "req_service": (R,), "req_entry": (R,), "req_slots": (R,), "req_bw": (R,), "req_latency": (R,),
            "weather_atten_db": (3,), "weather_shadow_db": (3,),
        }
        for name, shape in shapes.items():
            check_shape(name, getattr(self, name), shape)
        for name in ("cap", "link_cap", "uav_speed", "uav_weight", "req_latency"):
            check_finite(name, getattr(self, name), positive=True)
        for name in ("e_node", "link_energy", "link_lat", "e_chan", "req_bw", "weather_shadow_db", "weather_atten_db"):
            check_finite(name, getattr(self, name), min_value=0.0)
        check_finite("theta_los", self.theta_los, min_value=0.0)
        if np.any(self.theta_los > 1):
            raise ValidationError("theta_los", "must lie in [0, 1]")
        check_finite("sigma_ray", self.sigma_ray, positive=True)
        _in_range("node_area", self.node_area, A)
        _in_range("link_ends", self.link_ends, N)
        _in_range("ue_area", self.ue_area, A)
        _in_range("req_ue", self.req_ue, U)
        _in_range("req_service", self.req_service, S)
        _in_range("weather", self.weather, 3)
        from optkit.formulations.allocate.network import canonical_links

        ends, flags = canonical_links(self.node_area, self.n_core, self.n_rsu, self.n_uav, self.grid_rows,
                                      self.grid_cols)
        if ends.shape != self.link_ends.shape or np.any(ends != self.link_ends):
            raise ValidationError("link_ends", "must be the canonical link set of §3.3 for these nodes and areas")
        if np.any(flags != self.link_wireless):
            raise ValidationError("link_wireless", "must be true exactly on the links with a UAV end (§3.3)")
        if np.any((self.Q != 0) & (self.Q != 1)):
            raise ValidationError("Q", "entries must be 0 or 1")
        if len(np.unique(self.req_ue)) != R:
            raise ValidationError("req_ue", "requests must belong to distinct UEs")
        if len(np.unique(self.node_area[self.n_core:self.n_core + self.n_rsu])) != self.n_rsu:
            raise ValidationError("node_area", "RSUs must occupy distinct areas")
        if len(self.service_funcs) != S:
            raise ValidationError("service_funcs", f"must hold {S} services")
        for s, funcs in enumerate(self.service_funcs):
            if len(funcs) == 0 or len(set(funcs)) != len(funcs) or min(funcs) < 0 or max(funcs) >= self.n_functions:
                raise ValidationError(f"service_funcs[{s}]", f"must be distinct function ids in 0..{self.n_functions - 1}")
        if np.any(self.service_dur < 1) or np.any(self.service_dur > self.T):
            raise ValidationError("service_dur", f"must lie in 1..T = {self.T}")
        if len(self.req_demand) != R:
            raise ValidationError("req_demand", f"must hold {R} entries (one per request)")
        for r in range(R):
            if len(self.req_demand[r]) != len(self.funcs(r)):
                raise ValidationError(f"req_demand[{r}]", "must give one demand per function of the requested service")
            check_finite(f"req_demand[{r}]", self.req_demand[r], positive=True)
            if self.req_entry[r] < 0 or self.req_entry[r] + self.service_dur[self.req_service[r]] > self.T:
                raise ValidationError(f"req_entry[{r}]", "active frames must lie inside 0..T-1")
            if not 1 <= self.req_slots[r] <= self.K:
                raise ValidationError(f"req_slots[{r}]", f"must lie in 1..K = {self.K}")
        if self.issuance not in ("iid", "propensity"):
            raise ValidationError("issuance", f"must be 'iid' or 'propensity', got {self.issuance!r}")
        events = np.asarray(self.hist_events)
        if events.ndim != 2 or events.shape[1] != 2 or (events.size and not np.issubdtype(events.dtype, np.integer)):
            raise ValidationError("hist_events", "must be an (E, 2) integer array of (u, h) pairs")
        if events.size and (events[:, 0].min() < 0 or events[:, 0].max() >= U or events[:, 1].min() < -self.H
                            or events[:, 1].max() > -1):
            raise ValidationError("hist_events", f"pairs (u, h) need 0 <= u < {U} and -H <= h <= -1")
        ends = self.link_ends
        if L and np.any(ends[:, 0] == ends[:, 1]):
            raise ValidationError("link_ends", "a link must join two different nodes")
        return self


def _check_nested(name: str, value, integer: bool) -> None:
    """A tuple of tuples of integers (or of numbers)."""
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if not isinstance(value, tuple) or not all(
            isinstance(row, tuple) and all(isinstance(x, kinds) and not isinstance(x, bool) for x in row)
            for row in value):
        raise ValidationError(name, f"must be a list of lists of {'integers' if integer else 'numbers'}")


def _in_range(name: str, values, upper: int) -> None:
    values = np.asarray(values)
    if values.size and (not np.issubdtype(values.dtype, np.integer) or values.min() < 0 or values.max() >= upper):
        raise ValidationError(name, f"must be integer ids in 0..{upper - 1}")
