"""System model of the `allocate` family (§4): equations E1-E5, E8-E12, E16 and E17.

E6-E7 (topology, routes) live in network.py, E13-E15 (energy, good slots, service) in evaluator.py.

Pure, vectorized numpy functions: no state, no instance object. Callers (generator, evaluator,
methods) pass arrays and scalars; every model constant (carrier, path-loss exponent, altitude,
powers, weather tables, drag coefficients, road layout, speeds, thresholds, hedging level...) is an
explicit argument whose value lives in the preset data files. The only constants defined here are
physical ones (speed of light; standard gravity as the default of an argument).

Units are SI (m, s, W, Hz, J) unless a name says otherwise (`_db`, `_dbm`); energies handed to the
objective are in the abstract unit "eu" (E5). Areas are numbered row-major: area (i, j) has id
a = i * grid_cols + j; x grows with the column j, y with the row i.
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right

import numpy as np
from scipy.stats import binom

from optkit.errors import InputError

SPEED_OF_LIGHT = 299_792_458.0  # c_0, m/s
STANDARD_GRAVITY = 9.81  # g, m/s^2 (§3.5 table; used only by `uav_weight_as_force=True`)


# ---------------------------------------------------------------------------------------------
# Unit conversions
# ---------------------------------------------------------------------------------------------
def db_to_lin(x_db):
    """dB -> linear power ratio, 10^(x/10). Any shape."""
    return np.power(10.0, np.asarray(x_db, dtype=float) / 10.0)


def lin_to_db(x):
    """Linear power ratio -> dB, 10·log10(x). Any shape (0 -> -inf)."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.asarray(x, dtype=float))


def dbm_to_w(x_dbm):
    """dBm -> W, 10^((x-30)/10). Any shape."""
    return np.power(10.0, (np.asarray(x_dbm, dtype=float) - 30.0) / 10.0)


def w_to_dbm(x_w):
    """W -> dBm, 10·log10(x) + 30. Any shape."""
    return lin_to_db(x_w) + 30.0


# ---------------------------------------------------------------------------------------------
# E1 / E3: geometry
# ---------------------------------------------------------------------------------------------
def _grid_ij(grid_rows: int, grid_cols: int):
    if int(grid_rows) < 1 or int(grid_cols) < 1:
        raise InputError(f"grid: rows and cols must be >= 1, got {grid_rows}x{grid_cols}")
    a = np.arange(int(grid_rows) * int(grid_cols))
    return a // int(grid_cols), a % int(grid_cols)


def area_centres(grid_rows: int, grid_cols: int, cell_side_m: float) -> np.ndarray:
    """Centres c_a = ((j+½)L, (i+½)L) of all areas, shape (A, 2), m, row-major area order."""
    # E1
    i, j = _grid_ij(grid_rows, grid_cols)
    return np.stack([(j + 0.5) * float(cell_side_m), (i + 0.5) * float(cell_side_m)], axis=1)


def chebyshev_matrix(grid_rows: int, grid_cols: int) -> np.ndarray:
    """cheb(a, a') = max(|i-i'|, |j-j'|), shape (A, A), int (areas)."""
    # E1
    i, j = _grid_ij(grid_rows, grid_cols)
    return np.maximum(np.abs(i[:, None] - i[None, :]), np.abs(j[:, None] - j[None, :])).astype(np.int64)


def centre_distance_matrix(grid_rows: int, grid_cols: int, cell_side_m: float) -> np.ndarray:
    """dist(a, a') = L·√((i-i')² + (j-j')²) between area centres, shape (A, A), m."""
    # E1
    i, j = _grid_ij(grid_rows, grid_cols)
    di = (i[:, None] - i[None, :]).astype(float)
    dj = (j[:, None] - j[None, :]).astype(float)
    return float(cell_side_m) * np.sqrt(di * di + dj * dj)


def area_of_xy(xy, grid_rows: int, grid_cols: int, cell_side_m: float) -> np.ndarray:
    """Area id containing each position; `xy` shape (..., 2) in m -> int array of shape (...).

    The region is [0, g_c·L] × [0, g_r·L]; cell boundaries belong to the higher cell
    (floor), except positions exactly on the far border (x = g_c·L or y = g_r·L), which belong to
    the last column / row. Positions outside the region raise `InputError`.
    """
    # E3
    xy = np.asarray(xy, dtype=float)
    if xy.shape[-1:] != (2,):
        raise InputError(f"xy: last axis must have length 2, got shape {xy.shape}")
    L = float(cell_side_m)
    x, y = xy[..., 0], xy[..., 1]
    inside = np.isfinite(xy).all(axis=-1) & (x >= 0) & (y >= 0) & (x <= grid_cols * L) & (y <= grid_rows * L)
    if not np.all(inside):
        raise InputError("xy: positions must lie inside the region [0, g_c·L] x [0, g_r·L]")
    j = np.minimum(np.floor(x / L).astype(np.int64), int(grid_cols) - 1)
    i = np.minimum(np.floor(y / L).astype(np.int64), int(grid_rows) - 1)
    return i * int(grid_cols) + j


# ---------------------------------------------------------------------------------------------
# E2: Manhattan-grid UE mobility
# ---------------------------------------------------------------------------------------------
def road_coordinates(extent_m: float, road_spacing_m: float, road_offset_m: float) -> np.ndarray:
    """Coordinates offset + k·spacing (k integer) lying in [0, extent], ascending, m."""
    # E2
    if not road_spacing_m > 0:
        raise InputError(f"road_spacing_m: must be > 0, got {road_spacing_m}")
    k_lo = math.ceil(-road_offset_m / road_spacing_m - 1e-9)
    k_hi = math.floor((extent_m - road_offset_m) / road_spacing_m + 1e-9)
    c = road_offset_m + road_spacing_m * np.arange(k_lo, k_hi + 1, dtype=float)
    return c[(c >= 0.0) & (c <= extent_m)]


def manhattan_mobility(
    rng: np.random.Generator,
    *,
    grid_rows: int,
    grid_cols: int,
    cell_side_m: float,
    road_spacing_m: float,
    road_offset_m: float,
    speed_range,
    n_frames: int,
    frame_s: float,
    p_straight: float,
    p_turn: float,
):
    """Exact event-driven motion of one UE on the Manhattan road grid (E2).

    Roads: constant-x roads at x = road_offset + k·road_spacing inside [0, g_c·L] and constant-y
    roads at y = road_offset + k·road_spacing inside [0, g_r·L]; both axes need >= 2 roads.
    The UE moves at constant speed, never beyond the outermost intersections.

    Draw order from `rng` (all draws of this UE, nothing else):
      1. speed v = rng.uniform(lo, hi), m/s, with (lo, hi) = speed_range;
      2. axis = rng.integers(2): 0 = horizontal road (constant y, moves along x),
         1 = vertical road (constant x, moves along y);
      3. road index = rng.integers(number of roads of that kind) (ascending coordinate order);
      4. position along the road = rng.uniform(first, last) crossing-road coordinate;
      5. direction = +1 if rng.integers(2) == 1 else -1 (along increasing / decreasing coordinate);
      6. one u = rng.random() per intersection reached, in time order (an intersection reached at a
         time <= the last recorded time counts; a start exactly on an intersection counts as reaching
         it at time 0). Candidate headings in the fixed order (straight, left, right) with weights
         (p_straight, p_turn, p_turn); left = heading rotated +90° (counter-clockwise in the x-y
         plane), right = -90°; headings with no further intersection in their direction are removed
         and the rest renormalised (if all remaining weights are 0, the remaining headings are
         equiprobable); the heading is the first candidate whose cumulative normalised weight
         exceeds u. A U-turn is never a candidate. The draw is made even when only one heading
         remains.

    Positions are recorded at times h·frame_s, h = 0..n_frames-1 (the caller maps h to frame h-H);
    the initial state is the position at time 0.

    Returns (xy, speed): xy float array (n_frames, 2) in m, speed float in m/s.
    """
    # E2
    xs = road_coordinates(grid_cols * float(cell_side_m), road_spacing_m, road_offset_m)  # constant-x roads
    ys = road_coordinates(grid_rows * float(cell_side_m), road_spacing_m, road_offset_m)  # constant-y roads
    if len(xs) < 2 or len(ys) < 2:
        raise InputError("road layout: at least two roads per axis must lie inside the region")
    lo, hi = float(speed_range[0]), float(speed_range[1])
    if lo < 0 or hi < lo:
        raise InputError(f"speed_range: need 0 <= lo <= hi, got {speed_range}")
    if int(n_frames) < 0 or not frame_s >= 0:
        raise InputError("n_frames and frame_s must be non-negative")
    if p_straight < 0 or p_turn < 0:
        raise InputError("p_straight, p_turn: must be >= 0")
    coords = (xs.tolist(), ys.tolist())  # coords[axis] = intersections along a road of that axis
    cross = (ys.tolist(), xs.tolist())  # cross[axis] = fixed coordinates of the roads of that axis
    weights = (float(p_straight), float(p_turn), float(p_turn))

    v = float(rng.uniform(lo, hi))
    axis = int(rng.integers(2))
    road = int(rng.integers(len(cross[axis])))
    along = coords[axis]
    s = float(rng.uniform(along[0], along[-1]))
    d = 1 if int(rng.integers(2)) == 1 else -1

    def can_go(ax: int, s_ax: float, direction: int) -> bool:
        c = coords[ax]
        return s_ax < c[-1] if direction > 0 else s_ax > c[0]

    def turn(k: int):
        """At intersection coords[axis][k]: draw and apply a new heading."""
        nonlocal axis, road, s, d
        fixed = cross[axis][road]  # coordinate of the current road
        # candidates (axis', direction', s' along the new axis)
        if axis == 0:  # heading (d, 0): left -> (0, d), right -> (0, -d)
            cand = ((0, d, s), (1, d, fixed), (1, -d, fixed))
        else:  # heading (0, d): left -> (-d, 0), right -> (d, 0)
            cand = ((1, d, s), (0, -d, fixed), (0, d, fixed))
        ok = [can_go(ax, s_ax, di) for ax, di, s_ax in cand]
        w = [wi if o else 0.0 for wi, o in zip(weights, ok)]
        tot = sum(w)
        if tot <= 0.0:
            w = [1.0 if o else 0.0 for o in ok]
            tot = sum(w)
        u = float(rng.random())
        if tot <= 0.0:  # pragma: no cover - impossible with >= 2 roads per axis
            raise InputError("mobility: dead end on the road grid")
        acc, pick = 0.0, None
        for idx in range(3):
            if w[idx] <= 0.0:
                continue
            pick = idx
            acc += w[idx] / tot
            if u < acc:
                break
        ax, di, s_ax = cand[pick]
        if ax != axis:
            road = k  # index of the crossing road in cross[ax] == coords[old axis]
        axis, d, s = ax, di, s_ax

    # a start exactly on an intersection is treated as reaching it at time 0
    k0 = bisect_left(along, s)
    if k0 < len(along) and along[k0] == s:
        turn(k0)

    n_frames = int(n_frames)
    out = np.empty((n_frames, 2), dtype=float)
    t = 0.0
    for h in range(n_frames):
        target = h * float(frame_s)
        while True:
            along = coords[axis]
            k = bisect_right(along, s) if d > 0 else bisect_left(along, s) - 1
            c = along[k]  # next intersection (always exists: the heading is valid)
            dt = abs(c - s) / v if v > 0 else math.inf
            if t + dt <= target:
                t += dt
                s = c
                turn(k)
                continue
            s = s + d * v * (target - t)
            s = min(s, c) if d > 0 else max(s, c)  # guard against rounding past the intersection
            t = target
            break
        if axis == 0:
            out[h, 0], out[h, 1] = s, cross[0][road]
        else:
            out[h, 0], out[h, 1] = cross[1][road], s
    return out, v


# ---------------------------------------------------------------------------------------------
# E4 / E5: UAV energy
# ---------------------------------------------------------------------------------------------
def uav_propulsion_power(
    weight,
    speed,
    *,
    induced_coeff: float,
    drag_coeff: float,
    air_density: float,
    rotor_disk_area: float,
    frontal_area: float,
    weight_as_force: bool = False,
    gravity: float = STANDARD_GRAVITY,
) -> np.ndarray:
    """P_n = I·W^{3/2}/√(2φυ_r) + ½ςφυ_f V³, W; `weight` (kg figure) and `speed` (m/s) broadcast.

    W enters with the numeric value of its kg figure (Decision D4) unless `weight_as_force`, which
    uses W·gravity (N).
    """
    # E4
    w = np.asarray(weight, dtype=float)
    v = np.asarray(speed, dtype=float)
    if weight_as_force:
        w = w * float(gravity)
    hover = induced_coeff * np.power(w, 1.5) / math.sqrt(2.0 * air_density * rotor_disk_area)
    drag = 0.5 * drag_coeff * air_density * frontal_area * np.power(v, 3)
    return hover + drag


def uav_move_energy(power_w, speed, distance_matrix, energy_scale: float) -> np.ndarray:
    """Λ_n(a, a') = scale · dist(a, a')/V_n · P_n, eu; shape (N_u, A, A), zero diagonal.

    power_w (N_u,) W, speed (N_u,) m/s (> 0), distance_matrix (A, A) m, energy_scale eu/J.
    """
    # E5
    p = np.atleast_1d(np.asarray(power_w, dtype=float))
    v = np.atleast_1d(np.asarray(speed, dtype=float))
    if np.any(v <= 0):
        raise InputError("uav_speed: must be > 0")
    dist = np.asarray(distance_matrix, dtype=float)
    out = float(energy_scale) * (p / v)[:, None, None] * dist[None, :, :]
    idx = np.arange(dist.shape[0])
    out[:, idx, idx] = 0.0
    return out


# ---------------------------------------------------------------------------------------------
# E8-E11: channel
# ---------------------------------------------------------------------------------------------
def free_space_gain(carrier_hz: float, ref_distance_m: float) -> float:
    """K_0 = (c_0 / (4π f_c D_0))², linear free-space power gain at D_0 (dimensionless)."""
    # E8
    return float((SPEED_OF_LIGHT / (4.0 * math.pi * float(carrier_hz) * float(ref_distance_m))) ** 2)


def channel_gain(rayleigh_amp, chi, shadow_std_db, atten_db, distance_m, *, pathloss_exp: float, k0: float,
                 ref_distance_m: float) -> np.ndarray:
    """H = R · 10^{χη/10} · K_0 · (D_0/d)^ν · 10^{-ζ/10} (linear power gain); arrays broadcast.

    rayleigh_amp R (= σ·unit Rayleigh draw), chi χ ~ N(0,1), shadow_std_db η(Ω) dB,
    atten_db ζ(Ω) dB, distance_m d m.
    """
    # E8
    r = np.asarray(rayleigh_amp, dtype=float)
    shadow = np.power(10.0, np.asarray(chi, dtype=float) * np.asarray(shadow_std_db, dtype=float) / 10.0)
    path = float(k0) * np.power(float(ref_distance_m) / np.asarray(distance_m, dtype=float), float(pathloss_exp))
    return r * shadow * path * np.power(10.0, -np.asarray(atten_db, dtype=float) / 10.0)


def snr(gain, *, tx_power_w: float, noise_psd_w_per_hz: float, subcarrier_hz: float) -> np.ndarray:
    """γ = P_tx · H / (N_0 · Δf), linear; any shape (of `gain`)."""
    # E9
    return float(tx_power_w) * np.asarray(gain, dtype=float) / (float(noise_psd_w_per_hz) * float(subcarrier_hz))


def realized_quality(los_uniform, theta, snr_lin, snr_threshold: float) -> np.ndarray:
    """Q = 1 if los_uniform <= θ (LoS) else 1[γ >= Q̂]; uint8, broadcast shape of the inputs.

    θ must broadcast against the per-slot arrays (e.g. theta[:, None] for (A, S) arrays).
    """
    # E10
    los = np.asarray(los_uniform, dtype=float) <= np.asarray(theta, dtype=float)
    good = np.asarray(snr_lin, dtype=float) >= float(snr_threshold)
    return (los | good).astype(np.uint8)


def separation(x_uniform, y_uniform, cell_side_m: float, altitude_m: float) -> np.ndarray:
    """d = √(x² + y² + h²), m, with x = (u_x - ½)·L, y = (u_y - ½)·L from U(0,1) draws; broadcast."""
    # E11
    L = float(cell_side_m)
    x = (np.asarray(x_uniform, dtype=float) - 0.5) * L
    y = (np.asarray(y_uniform, dtype=float) - 0.5) * L
    return np.sqrt(x * x + y * y + float(altitude_m) ** 2)


# ---------------------------------------------------------------------------------------------
# E12: weather
# ---------------------------------------------------------------------------------------------
def weather_chain(rng: np.random.Generator, n_frames: int, *, stay_prob: float, n_states: int = 3) -> np.ndarray:
    """Weather states Ω^0..Ω^{n_frames-1}, int64 array (n_frames,), values in 0..n_states-1.

    Draw order: Ω^0 = rng.integers(n_states); then for t = 1..n_frames-1 one u = rng.random():
    stay if u < stay_prob, else move to the k-th of the other states in ascending order with
    k = floor((u - stay_prob) / (1 - stay_prob) · (n_states - 1)) (each other state equiprobable).
    """
    # E12
    n_frames = int(n_frames)
    if n_frames < 0 or int(n_states) < 1 or not 0.0 <= stay_prob <= 1.0:
        raise InputError("weather_chain: need n_frames >= 0, n_states >= 1, 0 <= stay_prob <= 1")
    out = np.zeros(n_frames, dtype=np.int64)
    if n_frames == 0:
        return out
    out[0] = int(rng.integers(int(n_states)))
    for t in range(1, n_frames):
        u = float(rng.random())
        cur = int(out[t - 1])
        if u < stay_prob or n_states == 1:
            out[t] = cur
            continue
        k = min(int((u - stay_prob) / (1.0 - stay_prob) * (n_states - 1)), n_states - 2)
        out[t] = k if k < cur else k + 1
    return out


# ---------------------------------------------------------------------------------------------
# E16 / E17: PERFECT's MAC helpers
# ---------------------------------------------------------------------------------------------
def frame_observation(quality, frame: int, slots_per_frame: int) -> np.ndarray:
    """O^t = (1/K) Σ_{τ ∈ 𝔗_t} Q^τ: mean of `quality` (..., T·K) over the slots of frame t -> (...)."""
    # E16
    k = int(slots_per_frame)
    q = np.asarray(quality)
    return q[..., int(frame) * k:(int(frame) + 1) * k].astype(float).mean(axis=-1)


def bayes_update(prev_estimate, observation, observed_mask, weight: float) -> np.ndarray:
    """Q̄^t = λ·O^t + (1-λ)·Q̄^{t-1} where observed, else Q̄^{t-1}; arrays broadcast, e.g. (C, A).

    The prior Q̄^{-1} (0.5, E16) is the caller's first `prev_estimate`.
    """
    # E16
    prev = np.asarray(prev_estimate, dtype=float)
    new = float(weight) * np.asarray(observation, dtype=float) + (1.0 - float(weight)) * prev
    return np.where(np.asarray(observed_mask, dtype=bool), new, prev)


def hedged_block_length(required_slots, success_prob, slots_per_frame: int, beta: float,
                        floor: float = 0.05) -> np.ndarray:
    """b(Ť, q) = min{b ∈ {Ť..K} : P[Binomial(b, max(q, floor)) >= Ť] >= β}, K if none; int64.

    required_slots Ť and success_prob q broadcast (e.g. (R,)); slots_per_frame K; β = β_hedge.
    Ť <= 0 gives 0 (nothing to transmit); Ť > K gives K.
    """
    # E17
    req = np.asarray(required_slots, dtype=np.int64)
    q = np.maximum(np.asarray(success_prob, dtype=float), float(floor))
    q = np.minimum(q, 1.0)
    req, q = np.broadcast_arrays(req, q)
    K = int(slots_per_frame)
    b = np.arange(K + 1, dtype=np.int64)  # candidate block lengths 0..K
    sf = binom.sf(req[..., None] - 1, b, q[..., None])  # P[Bin(b, q) >= Ť], shape (..., K+1)
    ok = (b >= req[..., None]) & (sf >= float(beta))
    first = np.argmax(ok, axis=-1)
    out = np.where(ok.any(axis=-1), first, K).astype(np.int64)
    return np.where(req <= 0, 0, out).astype(np.int64)
