"""System model of `ntn-relay` (§4): orbits and SAT positions (E1–E3), UAV mobility (E4–E5), fixed-wing energy (E6),
hop rates with bandwidth splitting (E14–E18), inter-UAV distance (E19) and the exact per-slot association (§5.4).

`world(inst)` builds the derived quantities of an instance once (cached per instance object): SAT table, candidate
table, ground-hop tables (D40), link constants, energy constants. Shapes: N slots, K relays, I SATs per lane,
C = I' candidates (I without action reduction). Positions in km, velocities m/s, rates bit/s, energies J.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from optkit.formulations.ntn_relay.instance import SPEED_OF_LIGHT_KMPS, NtnRelayInstance
from optkit.formulations.ntn_relay.links import LinkModel

# Hop names per path template (E15, E18).
HOPS = {"S-L1-R-L2-D": ("S1", "1U", "U2", "2D"), "S-L1-R-D": ("S1", "1U", "UD"), "S-L1-L2-D": ("S1", "12", "2D"),
        "S-L1-D": ("S1", "1D"), "S-D": ("SD",)}
MAX_ENUMERATION = 10 ** 6          # joint associations per slot enumerated; above: the MILP of §5.4


# --------------------------------------------------------------------------------------------- orbit (E1-E3)
@dataclass(frozen=True)
class Orbit:
    r_o: float            # km
    period_s: float       # T
    v_l: float            # km/s
    n_slots: int          # N
    circumference: float  # c_E, km
    spacing: float        # Δ, km
    y_c: float            # segment centre, km


def orbit_of(inst: NtnRelayInstance) -> Orbit:
    """E1 (Kepler, r_o in metres inside the roots), or the speed override."""
    r_o = inst.earth_radius_km + inst.sat_altitude_km
    gm = inst.grav_const * inst.earth_mass_kg
    period = 2.0 * math.pi * math.sqrt((1000.0 * r_o) ** 3 / gm)
    c_e = 2.0 * math.pi * r_o
    if inst.orbital_speed_override_kms is None:
        v_l = math.sqrt(gm / (1000.0 * r_o)) / 1000.0
        n = inst.n_slots_override or int(round(period / inst.dt_s))
    else:
        v_l = float(inst.orbital_speed_override_kms)
        n = inst.n_slots_override or int(round(c_e / (v_l * inst.dt_s)))
    y_lo, y_hi = inst.segment_y_km
    return Orbit(r_o, period, v_l, int(n), c_e, c_e / inst.sats_per_lane, 0.5 * (y_lo + y_hi))


def sat_along_track(inst: NtnRelayInstance, orbit: Orbit) -> np.ndarray:
    """s_{l,i}[n] (E2), shape (2, N, I) km: wrapped into [y_c − c_E/2, y_c + c_E/2)."""
    n = np.arange(orbit.n_slots, dtype=float)
    i = np.arange(inst.sats_per_lane, dtype=float)
    out = np.empty((2, orbit.n_slots, inst.sats_per_lane))
    for lane in range(2):
        raw = inst.lane_phase_km[lane] + i[None, :] * orbit.spacing + \
            inst.lane_direction[lane] * orbit.v_l * n[:, None] * inst.dt_s
        out[lane] = np.mod(raw - orbit.y_c + orbit.circumference / 2.0, orbit.circumference) + orbit.y_c - \
            orbit.circumference / 2.0
    return out


def candidate_table(inst: NtnRelayInstance, s: np.ndarray, orbit: Orbit) -> np.ndarray:
    """C_l[n] (E3), shape (2, N, C) global SAT indices: the I' SATs nearest y_c in increasing s (ties: lower
    index); all I SATs in index order without action reduction."""
    lanes, n_slots, n_sat = s.shape
    if not inst.action_reduction:
        return np.broadcast_to(np.arange(n_sat), (2, n_slots, n_sat)).copy()
    c = inst.n_candidates
    order = np.argsort(np.abs(s - orbit.y_c), axis=2, kind="stable")[:, :, :c]      # stable: lower index first
    pos = np.take_along_axis(s, order, axis=2)
    return np.take_along_axis(order, np.argsort(pos, axis=2, kind="stable"), axis=2)


# --------------------------------------------------------------------------------------------- mobility (E4-E6)
def accel_set(a_max: float, levels: int) -> np.ndarray:
    """𝒜 (E4), shape (L², 2) m/s², index jx·L + jy."""
    grid = np.zeros(1) if levels == 1 else -a_max + 2.0 * a_max * np.arange(levels) / (levels - 1)
    a = np.array([[gx, gy] for gx in grid for gy in grid], dtype=float)
    norm = np.linalg.norm(a, axis=1)
    scale = np.where(norm > 0, np.minimum(1.0, a_max / np.where(norm > 0, norm, 1.0)), 0.0)
    return a * scale[:, None]


def propulsion_power(v, a, c1: float, c2: float, g: float):
    """P(v, a) = c1‖v‖³ + (c2/‖v‖)(1 + (‖a‖² − (aᵀv)²/‖v‖²)/g²), W (E6); shapes (..., 2)."""
    v = np.asarray(v, dtype=float)
    a = np.asarray(a, dtype=float)
    speed2 = np.sum(v * v, axis=-1)
    speed = np.sqrt(speed2)
    along = np.sum(a * v, axis=-1)
    perp2 = np.maximum(np.sum(a * a, axis=-1) - along ** 2 / speed2, 0.0)
    return c1 * speed ** 3 + c2 / speed * (1.0 + perp2 / g ** 2)


@dataclass
class StepResult:
    q: np.ndarray          # (..., K, 2) km, next positions
    v: np.ndarray          # (..., K, 2) m/s, next velocities
    a_eff: np.ndarray      # (..., K, 2) m/s², realized acceleration
    speed_clips: np.ndarray  # (...,) int, E5 rescalings
    area_clips: np.ndarray   # (...,) int, E5 area clips


def dynamics_step(q, v, a, dt: float, v_min: float, v_max: float, area) -> StepResult:
    """E5 for one slot, vectorized over leading axes: speed rescaling to [V_min, V_max] (zero vector: previous
    direction), the realized acceleration replaces the commanded one, then the position is clipped to the area
    (velocity kept, D50)."""
    q = np.asarray(q, dtype=float)
    v = np.asarray(v, dtype=float)
    a = np.asarray(a, dtype=float)
    v_new = v + a * dt
    speed = np.linalg.norm(v_new, axis=-1)
    prev_speed = np.linalg.norm(v, axis=-1)
    direction = np.where((speed > 0)[..., None], v_new / np.where(speed > 0, speed, 1.0)[..., None],
                         v / np.where(prev_speed > 0, prev_speed, 1.0)[..., None])
    too_fast = speed > v_max
    too_slow = speed < v_min
    clipped = too_fast | too_slow
    target = np.where(too_fast, v_max, np.where(too_slow, v_min, speed))
    v_new = np.where(clipped[..., None], direction * target[..., None], v_new)
    a_eff = np.where(clipped[..., None], (v_new - v) / dt, a)
    q_new = q + 1e-3 * (v * dt + 0.5 * a_eff * dt * dt)
    (x_lo, x_hi), (y_lo, y_hi) = area
    lo = np.array([x_lo, y_lo])
    hi = np.array([x_hi, y_hi])
    outside = np.any((q_new < lo) | (q_new > hi), axis=-1)
    q_new = np.clip(q_new, lo, hi)
    return StepResult(q_new, v_new, a_eff, clipped.sum(axis=-1), outside.sum(axis=-1))


# --------------------------------------------------------------------------------------------- the world
@dataclass
class World:
    """Derived quantities of one instance (§3.1 'derived', computed once)."""

    inst: NtnRelayInstance
    orbit: Orbit
    link: LinkModel
    s: np.ndarray                 # (2, N, I) along-track positions, km
    cand: np.ndarray              # (2, N, C) candidate global indices
    sat_xyz: np.ndarray           # (2, N, I, 3) km
    ground1: np.ndarray           # (N, I, K) R_X(B/m, d(q_S, p_{1,i}[n])), m = 1..K  (D40)
    ground1_fso: np.ndarray       # (N, I, K) bool, FSO selected
    ground2: np.ndarray           # (N, I, K) R_X(B/m, d(p_{2,j}[n], q_D))
    ground2_fso: np.ndarray
    accels: np.ndarray            # (L², 2) 𝒜
    v_star: float
    p_min: float
    d_max: float
    relay_alt: float              # km: H_U (uav) or 0 (ground)
    q0: np.ndarray                # (K, 2) km
    v0: np.ndarray                # (K, 2) m/s
    _cache: dict = field(default_factory=dict)

    @property
    def N(self) -> int:
        return self.orbit.n_slots

    @property
    def K(self) -> int:
        return self.inst.K

    @property
    def hops(self) -> tuple:
        return HOPS[self.inst.path_template]

    def relay_points(self, q) -> np.ndarray:
        """(…, K, 3) km points of relays at horizontal positions q (…, K, 2)."""
        q = np.asarray(q, dtype=float)
        return np.concatenate([q, np.full(q.shape[:-1] + (1,), self.relay_alt)], axis=-1)

    def power(self, v, a):
        i = self.inst
        return propulsion_power(v, a, i.c1, i.c2, i.gravity)

    def step(self, q, v, a) -> StepResult:
        i = self.inst
        return dynamics_step(q, v, a, i.dt_s, i.v_min_mps, i.v_max_mps, i.area_xy_km)

    def mu_r(self) -> float:
        """μ_R (E25): time-average sum rate of cooperative SAT-Ground (relays on the ground at their starts),
        bit/s; NaN without a relay; the instance's mu_R_bps when set."""
        if self.inst.mu_R_bps is not None:
            return float(self.inst.mu_R_bps)
        if not self.inst.has_relay:
            return float("nan")
        if "mu_r" not in self._cache:
            q = np.broadcast_to(self.q0, (self.N, self.K, 2))
            pts = np.concatenate([q, np.zeros((self.N, self.K, 1))], axis=-1)
            self._cache["mu_r"] = float(exact_association(self, pts)[2].mean())
        return self._cache["mu_r"]

    def mu_e(self) -> float:
        """μ_E = K δt P_min (E22), J; NaN unless UAV relays."""
        return self.K * self.inst.dt_s * self.p_min if self.inst.has_uav else float("nan")


def world(inst: NtnRelayInstance) -> World:
    """The derived quantities of `inst`, built once per instance object and kept beside its fields (not a field:
    the instance's JSON and equality are unchanged)."""
    cached = inst.__dict__.get("_ntn_world")
    if cached is None:
        cached = _build(inst)
        inst.__dict__["_ntn_world"] = cached
    return cached


def _build(inst: NtnRelayInstance) -> World:
    orbit = orbit_of(inst)
    link = LinkModel.of(inst)
    s = sat_along_track(inst, orbit)
    cand = candidate_table(inst, s, orbit)
    xyz = np.empty(s.shape + (3,))
    for lane in range(2):
        xyz[lane, ..., 0] = inst.lane_x_km[lane]
        xyz[lane, ..., 1] = s[lane]
        xyz[lane, ..., 2] = inst.sat_altitude_km
    K = inst.K
    m = np.arange(1, K + 1, dtype=float)
    b = inst.bandwidth_hz / m                                       # (K,)
    d1 = np.linalg.norm(xyz[0] - np.asarray(inst.src_pos_km), axis=-1)      # (N, I)
    d2 = np.linalg.norm(xyz[1] - np.asarray(inst.dst_pos_km), axis=-1)
    g1, f1 = link.rate(b[None, None, :], d1[..., None])
    g2, f2 = link.rate(b[None, None, :], d2[..., None])
    v_star = (inst.c2 / (3.0 * inst.c1)) ** 0.25
    p_min = inst.c1 * v_star ** 3 + inst.c2 / v_star
    relay_alt = inst.uav_altitude_km if inst.relay_kind == "uav" else 0.0
    v0 = np.asarray(inst.uav_init_vel_mps, dtype=float) if inst.has_uav else np.zeros((K, 2))
    return World(inst=inst, orbit=orbit, link=link, s=s, cand=cand, sat_xyz=xyz, ground1=g1, ground1_fso=f1,
                 ground2=g2, ground2_fso=f2, accels=accel_set(inst.a_max_mps2, inst.accel_levels), v_star=v_star,
                 p_min=p_min, d_max=SPEED_OF_LIGHT_KMPS * inst.tau_max_s, relay_alt=relay_alt,
                 q0=np.asarray(inst.relay_init_xy_km, dtype=float), v0=v0)


# --------------------------------------------------------------------------------------------- trajectories
@dataclass
class Trajectory:
    q: np.ndarray          # (N+1, K, 2) km
    v: np.ndarray          # (N+1, K, 2) m/s
    a_eff: np.ndarray      # (N, K, 2) m/s²
    speed_clips: int
    area_clips: int


def simulate(w: World, accel) -> Trajectory:
    """E5 from (q[0], v[0]) with commanded accelerations (N, K, 2); ground relays stay at their points."""
    N, K = w.N, w.K
    q = np.empty((N + 1, K, 2))
    v = np.empty((N + 1, K, 2))
    a_eff = np.zeros((N, K, 2))
    q[0], v[0] = w.q0, w.v0
    if not w.inst.has_uav:
        q[:] = w.q0
        v[:] = 0.0
        return Trajectory(q, v, a_eff, 0, 0)
    accel = np.asarray(accel, dtype=float)
    speed_clips = area_clips = 0
    for n in range(N):
        r = w.step(q[n], v[n], accel[n])
        q[n + 1], v[n + 1], a_eff[n] = r.q, r.v, r.a_eff
        speed_clips += int(r.speed_clips)
        area_clips += int(r.area_clips)
    return Trajectory(q, v, a_eff, speed_clips, area_clips)


def slot_energy(w: World, traj: Trajectory) -> tuple[np.ndarray, np.ndarray]:
    """(E (N, K), E_aero (N, K)) in J (E6, E6a); zeros without UAVs."""
    if not w.inst.has_uav:
        z = np.zeros((w.N, w.K))
        return z, z
    aero = w.inst.dt_s * w.power(traj.v[:-1], traj.a_eff)
    kinetic = 0.5 * w.inst.uav_mass_kg * (np.sum(traj.v[1:] ** 2, axis=-1) - np.sum(traj.v[:-1] ** 2, axis=-1))
    return aero + kinetic, aero


def loiter_accels(w: World, radius_km: float = 2.0) -> np.ndarray:
    """`static-loiter` (§7.10): counter-clockwise discretized circle keeping the initial speed,
    v[n+1] = Rot(θ) v[n], θ = ‖v0‖ δt / (1000 r_c); returns the accelerations (N, K, 2)."""
    N, K = w.N, w.K
    if not w.inst.has_uav:
        return np.zeros((N, K, 2))
    dt = w.inst.dt_s
    speed = np.linalg.norm(w.v0, axis=1)                              # (K,)
    theta = speed * dt / (1000.0 * radius_km)
    n = np.arange(N + 1)[:, None]
    heading0 = np.arctan2(w.v0[:, 1], w.v0[:, 0])[None, :]
    ang = heading0 + n * theta[None, :]
    v = speed[None, :, None] * np.stack([np.cos(ang), np.sin(ang)], axis=-1)      # (N+1, K, 2)
    a = (v[1:] - v[:-1]) / dt
    norm = np.linalg.norm(a, axis=-1, keepdims=True)
    a_max = w.inst.a_max_mps2
    return a * np.minimum(1.0, a_max / np.where(norm > 0, norm, 1.0))


# --------------------------------------------------------------------------------------------- rates (E14-E18)
def overlap_counts(assoc: np.ndarray) -> np.ndarray:
    """n_i[n] of each path's SAT (…, K) (E14); 0 where the path has no association (−1)."""
    same = (assoc[..., :, None] == assoc[..., None, :]) & (assoc[..., None, :] >= 0)
    return np.where(assoc >= 0, same.sum(axis=-1), 0)


@dataclass
class PathRates:
    rate: np.ndarray       # (N, K) end-to-end R_k[n], bit/s
    caps: np.ndarray       # (N, K, H) hop capacities
    fso: np.ndarray        # (N, K, H) bool, FSO selected
    dist: np.ndarray       # (N, K, H) km (NaN where the hop does not exist)
    m1: np.ndarray         # (N, K) overlap counts
    m2: np.ndarray


def path_rates(w: World, relay_pts, assoc1, assoc2) -> PathRates:
    """Hop capacities and end-to-end rates of every path for given global associations (E15–E18). relay_pts
    (N, K, 3) km (ignored without relay); assoc1, assoc2 (N, K) global SAT indices or −1 (ignored lanes may be
    anything). Ground hops come from the precomputed tables (D40)."""
    inst, link = w.inst, w.link
    N, K = w.N, w.K
    B = inst.bandwidth_hz
    tmpl = inst.path_template
    hops = HOPS[tmpl]
    H = len(hops)
    caps = np.zeros((N, K, H))
    fso = np.zeros((N, K, H), dtype=bool)
    dist = np.full((N, K, H), np.nan)
    n_idx = np.arange(N)[:, None]
    a1 = np.asarray(assoc1, dtype=np.int64)
    a2 = np.asarray(assoc2, dtype=np.int64)
    uses1 = "S1" in hops
    uses2 = "2D" in hops
    m1 = overlap_counts(a1) if uses1 else np.zeros((N, K), dtype=np.int64)
    m2 = overlap_counts(a2) if uses2 else np.zeros((N, K), dtype=np.int64)
    ok1 = a1 >= 0
    ok2 = a2 >= 0
    i1 = np.where(ok1, a1, 0)
    i2 = np.where(ok2, a2, 0)
    p1 = w.sat_xyz[0][n_idx, i1]                                      # (N, K, 3)
    p2 = w.sat_xyz[1][n_idx, i2]
    src = np.asarray(inst.src_pos_km, dtype=float)
    dst = np.asarray(inst.dst_pos_km, dtype=float)
    b1 = B / np.maximum(m1, 1)
    b2 = B / np.maximum(m2, 1)
    for h, hop in enumerate(hops):
        if hop == "S1":
            caps[..., h] = w.ground1[n_idx, i1, np.maximum(m1, 1) - 1]
            fso[..., h] = w.ground1_fso[n_idx, i1, np.maximum(m1, 1) - 1]
            dist[..., h] = np.linalg.norm(p1 - src, axis=-1)
            continue
        if hop == "2D":
            caps[..., h] = w.ground2[n_idx, i2, np.maximum(m2, 1) - 1]
            fso[..., h] = w.ground2_fso[n_idx, i2, np.maximum(m2, 1) - 1]
            dist[..., h] = np.linalg.norm(p2 - dst, axis=-1)
            continue
        if hop == "1U":
            d, b = np.linalg.norm(p1 - relay_pts, axis=-1), b1
        elif hop == "U2":
            d, b = np.linalg.norm(relay_pts - p2, axis=-1), b2
        elif hop == "UD":
            d, b = np.linalg.norm(relay_pts - dst, axis=-1), B          # D48: own full bandwidth
        elif hop == "12":
            d, b = np.linalg.norm(p1 - p2, axis=-1), B
        elif hop == "1D":
            d, b = np.linalg.norm(p1 - dst, axis=-1), B
        else:                                                          # "SD"
            d, b = np.broadcast_to(np.linalg.norm(src - dst), (N, K)), B
        r, f = link.rate(b, d)
        caps[..., h], fso[..., h], dist[..., h] = r, f, d
    for h, hop in enumerate(hops):
        lane1 = hop in ("S1", "1U", "12", "1D")
        lane2 = hop in ("U2", "2D", "12")
        bad = (lane1 & ~ok1) | (lane2 & ~ok2)
        caps[..., h] = np.where(bad, 0.0, caps[..., h])
        dist[..., h] = np.where(bad, np.nan, dist[..., h])
        fso[..., h] &= ~bad
    rate = caps.min(axis=-1)                                          # E16; 0 where a hop is missing
    return PathRates(rate, caps, fso, dist, m1, m2)


# --------------------------------------------------------------------------------------------- association (§5.4)
def joint_combos(C1: int, C2: int, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Every joint association as candidate slots (G, K) per lane, in lexicographic order of
    (c1_0..c1_{K−1}, c2_0..c2_{K−1}) (the tie rule of §5.4); C2 = 0 means no lane 2."""
    lanes = [range(C1)] * K + ([range(C2)] * K if C2 else [])
    combos = np.array(list(itertools.product(*lanes)), dtype=np.int64).reshape(-1, K * (2 if C2 else 1))
    return combos[:, :K], (combos[:, K:] if C2 else np.zeros((len(combos), K), dtype=np.int64))


def hop_tables(w: World, n_idx, relay_pts):
    """α^k_{c,m} and β^k_{c,m} of §5.4 for a batch of P (slot, relay positions) pairs: n_idx (P,), relay_pts
    (P, K, 3) → alpha (P, K, C1, K), beta (P, K, C2, K) in bit/s (m = 1..K on the last axis). Relay templates
    only; for S-L1-R-D beta is (P, K, 1, K), the relay→Dst hop on full bandwidth."""
    inst, link = w.inst, w.link
    K = w.K
    m = np.arange(1, K + 1, dtype=float)
    b = inst.bandwidth_hz / m                                          # (K,) over m
    n_idx = np.asarray(n_idx, dtype=np.int64)
    c1 = w.cand[0][n_idx]                                              # (P, C1)
    p1 = w.sat_xyz[0][n_idx[:, None], c1]                              # (P, C1, 3)
    d1u = np.linalg.norm(p1[:, None, :, :] - relay_pts[:, :, None, :], axis=-1)      # (P, K, C1)
    r1u = link.rate(b, d1u[..., None])[0]                              # (P, K, C1, K)
    g1 = w.ground1[n_idx[:, None], c1]                                 # (P, C1, K)
    alpha = np.minimum(g1[:, None], r1u)
    if inst.path_template == "S-L1-R-D":
        dud = np.linalg.norm(relay_pts - np.asarray(inst.dst_pos_km), axis=-1)       # (P, K)
        rud = link.rate(inst.bandwidth_hz, dud)[0]
        beta = np.broadcast_to(rud[:, :, None, None], rud.shape + (1, K))
        return alpha, beta
    c2 = w.cand[1][n_idx]
    p2 = w.sat_xyz[1][n_idx[:, None], c2]
    du2 = np.linalg.norm(p2[:, None, :, :] - relay_pts[:, :, None, :], axis=-1)
    ru2 = link.rate(b, du2[..., None])[0]
    g2 = w.ground2[n_idx[:, None], c2]
    beta = np.minimum(g2[:, None], ru2)
    return alpha, beta


def _counts(combo: np.ndarray) -> np.ndarray:
    return (combo[:, :, None] == combo[:, None, :]).sum(axis=-1)      # (G, K)


def best_joint(alpha, beta, objective: str = "sum"):
    """Best joint association per batch row by enumeration: value (P,) and combo index (P,), plus the combos.
    objective "sum": Σ_k R_k; "maxmin": K·min_k R_k (E24), ties by the sum."""
    P, K, C1, _ = alpha.shape
    C2 = beta.shape[2]
    cc1, cc2 = joint_combos(C1, C2, K)
    m1, m2 = _counts(cc1), _counts(cc2)
    k = np.arange(K)
    G = len(cc1)
    chunk = max(1, int(2e7 // max(1, G * K)))
    values = np.empty(P)
    index = np.empty(P, dtype=np.int64)
    for lo in range(0, P, chunk):
        a = alpha[lo:lo + chunk][:, k[None, :], cc1, m1 - 1]            # (p, G, K)
        bb = beta[lo:lo + chunk][:, k[None, :], cc2, m2 - 1]
        path = np.minimum(a, bb)
        if objective == "maxmin":
            score = K * path.min(axis=-1) + 1e-12 * path.sum(axis=-1) / max(1.0, float(path.max(initial=1.0)))
        else:
            score = path.sum(axis=-1)
        best = np.argmax(score, axis=1)
        index[lo:lo + chunk] = best
        values[lo:lo + chunk] = path.sum(axis=-1)[np.arange(len(best)), best]
    return values, index, cc1, cc2


def exact_association(w: World, relay_pts=None, slots=None, objective: str = "sum"):
    """Exact per-slot association (§5.4, enumeration) for relays at relay_pts (N, K, 3) km (None: no relay or
    the instance's relays at their starts). Returns assoc1, assoc2 (N, K) global SAT indices (−1 for an absent
    lane) and the per-slot sum rate R[n] (N,) bit/s."""
    inst, link = w.inst, w.link
    N, K = w.N, w.K
    slots = np.arange(N) if slots is None else np.asarray(slots, dtype=np.int64)
    P = len(slots)
    tmpl = inst.path_template
    a1 = np.full((P, K), -1, dtype=np.int64)
    a2 = np.full((P, K), -1, dtype=np.int64)
    if tmpl == "S-D":
        d = np.linalg.norm(np.asarray(inst.src_pos_km) - np.asarray(inst.dst_pos_km))
        return a1, a2, np.full(P, float(link.rate(inst.bandwidth_hz, d)[0]))
    if tmpl in ("S-L1-D", "S-L1-L2-D"):
        c1 = w.cand[0][slots]                                          # (P, C1)
        g1 = w.ground1[slots[:, None], c1, 0]                          # (P, C1)
        p1 = w.sat_xyz[0][slots[:, None], c1]
        if tmpl == "S-L1-D":
            r = np.minimum(g1, link.rate(inst.bandwidth_hz, np.linalg.norm(p1 - np.asarray(inst.dst_pos_km),
                                                                            axis=-1))[0])
            best = np.argmax(r, axis=1)
            a1[:, 0] = c1[np.arange(P), best]
            return a1, a2, r[np.arange(P), best]
        c2 = w.cand[1][slots]
        g2 = w.ground2[slots[:, None], c2, 0]
        p2 = w.sat_xyz[1][slots[:, None], c2]
        mid = link.rate(inst.bandwidth_hz, np.linalg.norm(p1[:, :, None] - p2[:, None, :], axis=-1))[0]
        r = np.minimum(np.minimum(g1[:, :, None], mid), g2[:, None, :]).reshape(P, -1)     # (P, C1*C2)
        best = np.argmax(r, axis=1)
        C2 = c2.shape[1]
        a1[:, 0] = c1[np.arange(P), best // C2]
        a2[:, 0] = c2[np.arange(P), best % C2]
        return a1, a2, r[np.arange(P), best]
    if relay_pts is None:
        relay_pts = w.relay_points(np.broadcast_to(w.q0, (w.N, K, 2)))
    pts = np.asarray(relay_pts, dtype=float)[slots]
    alpha, beta = hop_tables(w, slots, pts)
    C1, C2 = alpha.shape[2], beta.shape[2]
    G = C1 ** K * (C2 ** K if tmpl == "S-L1-R-L2-D" else 1)
    if G > MAX_ENUMERATION:
        from optkit.formulations.ntn_relay.association import milp_slot

        values = np.empty(P)
        for p in range(P):
            c1i, c2i, values[p], _ = (milp_slot(alpha[p], beta[p]) if tmpl == "S-L1-R-L2-D" else
                                      milp_slot(np.minimum(alpha[p], beta[p][:, :1, :])))
            a1[p] = w.cand[0][slots[p]][c1i]
            if tmpl == "S-L1-R-L2-D":
                a2[p] = w.cand[1][slots[p]][c2i]
        return a1, a2, values
    values, index, cc1, cc2 = best_joint(alpha, beta, objective)
    a1[:] = np.take_along_axis(w.cand[0][slots], cc1[index], axis=1)
    if tmpl == "S-L1-R-L2-D":
        a2[:] = np.take_along_axis(w.cand[1][slots], cc2[index], axis=1)
    return a1, a2, values


def inter_relay_distance(w: World, q) -> np.ndarray:
    """D[n] = max_{k<k'} ‖q_k − q_k'‖ (E19), km, (…,) for q (…, K, 2) (same altitude); 0 for K = 1."""
    q = np.asarray(q, dtype=float)
    if q.shape[-2] < 2:
        return np.zeros(q.shape[:-2])
    diff = q[..., :, None, :] - q[..., None, :, :]
    return np.sqrt(np.sum(diff ** 2, axis=-1)).max(axis=(-1, -2))


# --------------------------------------------------------------------------------------------- waypoint tracking
def loiter_command(v, dt: float, radius_km: float, a_max: float):
    """The counter-clockwise circling command (§7.10) for velocities v (…, 2): a = (Rot(θ) v − v)/δt with
    θ = ‖v‖ δt / (1000 r_c), scaled into the a_max disk."""
    v = np.asarray(v, dtype=float)
    speed = np.linalg.norm(v, axis=-1)
    theta = speed * dt / (1000.0 * radius_km)
    c, s = np.cos(theta), np.sin(theta)
    rot = np.stack([c * v[..., 0] - s * v[..., 1], s * v[..., 0] + c * v[..., 1]], axis=-1)
    return clip_norm((rot - v) / dt, a_max)


def clip_norm(a, a_max: float):
    """Π(a) = a·min(1, a_max/‖a‖) (E4), Π(0) = 0."""
    a = np.asarray(a, dtype=float)
    norm = np.linalg.norm(a, axis=-1, keepdims=True)
    return a * np.minimum(1.0, a_max / np.where(norm > 0, norm, 1.0))


def track_targets(w: World, targets, *, k_p: float = 0.1, loiter_radius_km: float = 2.0,
                  capture_km: float = 2.0) -> np.ndarray:
    """Closed-loop heading controller of `straight-line` (§7.10): each UAV turns toward targets[n, k] (N, K, 2) km
    with a = Π(k_p (V* ê − v)) and circles (static-loiter command) within capture_km of it or where the target
    is NaN. Returns the commanded accelerations (N, K, 2)."""
    inst = w.inst
    N, K = w.N, w.K
    accel = np.zeros((N, K, 2))
    if not inst.has_uav:
        return accel
    targets = np.asarray(targets, dtype=float)
    q, v = w.q0.copy(), w.v0.copy()
    for n in range(N):
        to = (targets[n] - q)
        dist = np.linalg.norm(to, axis=-1)
        loiter = ~np.isfinite(dist) | (dist <= capture_km)
        e = np.where(loiter[:, None], 0.0, to / np.where(loiter, 1.0, dist)[:, None])
        a = np.where(loiter[:, None], loiter_command(v, inst.dt_s, loiter_radius_km, inst.a_max_mps2),
                     clip_norm(k_p * (w.v_star * e - v), inst.a_max_mps2))
        accel[n] = a
        r = w.step(q, v, a)
        q, v = r.q, r.v
    return accel
