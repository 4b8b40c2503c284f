"""Random constellations and eligibility windows of `leo-handover` (§3.4, §4.4, §4.6, E4b).

A world is its `Orbits` (drawn from a seed) plus the terminal parameters. Its eligibility windows (E14–E16) are
found by one vectorized pass over chunks of 3600 steps × N_s satellites:

1. a conservative coarse prefilter: at the center of every block of 30 s, a satellite whose direction is farther
   from the terminal's up / radial direction than the visibility cone plus the largest angle it can move in
   half a block is dropped for the whole block (no pair that can be visible is ever dropped);
2. the exact rule (E7/E13 elevation, E8 ground distance, slant range) on the remaining (step, satellite) pairs,
   evaluated per pair by `_exact_pairs`, the same function `pair_geometry` uses, so the window bounds and the
   on-demand geometry agree bit for bit;
3. run boundaries by numpy diff on the boolean chunk with the previous chunk's last row prepended (stitching).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from optkit.formulations.leo_handover import geometry as geo

CHUNK_STEPS = 3600                    # §4.4: windows are built in chunks of 3600 steps × N_s
MOVING_MARGIN_S = 1800.0              # E4b: W = 1800 s / Δt steps on each side of a moving-terminal episode
COARSE_BLOCK_S = 30.0                 # block length (s) of the conservative coarse prefilter

# Parameters that determine the static windows, ranges and counts (the disk-cache key).
GEOMETRY_PARAMS = ("footprint_metric", "vis_min_elev_deg", "cand_min_elev_deg", "dt_s", "horizon_s", "gmst0_deg",
                   "terminal_lat_deg", "terminal_lon_deg", "terminal_alt_km", "geometry_model")


@dataclass(frozen=True)
class Orbits:
    """One constellation: per-satellite circular orbit elements and footprint radius, each (N,) float64."""
    alt_km: np.ndarray
    incl_deg: np.ndarray
    raan_deg: np.ndarray
    argl0_deg: np.ndarray
    footprint_km: np.ndarray

    @property
    def n_sat(self) -> int:
        return int(self.alt_km.shape[0])


@dataclass(frozen=True)
class Windows:
    """Eligibility windows (E16): window w is satellite sat[w] on steps start[w]..end[w] (inclusive, absolute).

    Arrays are (W,) int64, sorted by (start, sat). n_steps is K = round(horizon_s / dt_s). step_lo is the first
    step that was evaluated (0 for a static world; k_lo for a moving-terminal episode, where windows are clipped
    to the evaluated range)."""
    sat: np.ndarray
    start: np.ndarray
    end: np.ndarray
    n_steps: int
    step_lo: int = 0

    def __len__(self) -> int:
        return int(self.sat.shape[0])


def n_steps(params) -> int:
    """K = round(horizon_s / dt_s)."""
    return int(round(float(params["horizon_s"]) / float(params["dt_s"])))


# ---------------------------------------------------------------------------------------------------------------
# Drawing a world (§3.4)
# ---------------------------------------------------------------------------------------------------------------

def draw_orbits(entropy, params) -> Orbits:
    """Draw N_s orbits from SeedSequence(entropy) in the §3.4 order (altitude, inclination, RAAN, u_0, footprint)."""
    rng = np.random.default_rng(np.random.SeedSequence(entropy))
    n = int(params["n_sat"])
    alt = rng.uniform(float(params["alt_min_km"]), float(params["alt_max_km"]), n)
    if params["incl_dist"] == "isotropic":
        incl = np.degrees(np.arccos(rng.uniform(-1.0, 1.0, n)))
    elif params["incl_dist"] == "uniform_deg":
        incl = rng.uniform(float(params["incl_min_deg"]), float(params["incl_max_deg"]), n)
    else:
        raise ValueError(f"incl_dist must be 'isotropic' or 'uniform_deg', got {params['incl_dist']!r}")
    raan = rng.uniform(float(params["raan_range_deg"][0]), float(params["raan_range_deg"][1]), n)
    argl = rng.uniform(float(params["argl_range_deg"][0]), float(params["argl_range_deg"][1]), n)
    footprint = rng.uniform(float(params["footprint_min_km"]), float(params["footprint_max_km"]), n)
    return Orbits(alt_km=alt, incl_deg=incl, raan_deg=raan, argl0_deg=argl, footprint_km=footprint)


# ---------------------------------------------------------------------------------------------------------------
# The exact rule, per (step, satellite) pair
# ---------------------------------------------------------------------------------------------------------------

def eligibility_masks(el_deg, ground_km, range_km, footprint_km, params):
    """(visible, eligible) boolean arrays from the pair geometry (E14, E15)."""
    metric = params["footprint_metric"]
    if metric == "ground":
        in_footprint = ground_km <= footprint_km                                          # E14
    elif metric == "slant":
        in_footprint = range_km <= footprint_km                                           # E14
    elif metric == "none":
        in_footprint = np.ones(np.shape(el_deg), dtype=bool)                              # E14
    else:
        raise ValueError(f"footprint_metric must be 'ground', 'slant' or 'none', got {metric!r}")
    visible = (el_deg >= float(params["vis_min_elev_deg"])) & in_footprint               # E14
    eligible = visible & (el_deg >= float(params["cand_min_elev_deg"]))                   # E15
    return visible, eligible


def _terminal_state(params, steps, psi_deg, anchor_step):
    """Terminal (ecef (…,3), lat_deg, lon_deg, velocity or None) at the given steps (static or moving, E4, E4b)."""
    lat0 = float(params["terminal_lat_deg"])
    lon0 = float(params["terminal_lon_deg"])
    alt = float(params["terminal_alt_km"])
    speed = float(params["terminal_speed_mps"])
    if speed > 0.0 and psi_deg is not None:
        if anchor_step is None:
            raise ValueError("a moving terminal (terminal_speed_mps > 0) needs anchor_step")
        t_rel = (np.asarray(steps, dtype=float) - float(anchor_step)) * float(params["dt_s"])
        lat, lon = geo.terminal_track(lat0, lon0, alt, psi_deg, speed, t_rel)
        return geo.geodetic_to_ecef(lat, lon, alt), lat, lon, geo.terminal_velocity_ecef(lat, lon, psi_deg, speed)
    return geo.geodetic_to_ecef(lat0, lon0, alt), lat0, lon0, None


def _exact_pairs(orbits: Orbits, params, steps, sats, psi_deg=None, anchor_step=None, full: bool = False):
    """Geometry of (step, satellite) pairs, steps/sats (P,) int: the one code path of the eligibility rule.

    full=False: (el_deg, ground_km, range_km) for the window pass; full=True: the `look_angles` dict."""
    steps = np.asarray(steps, dtype=np.int64)
    sats = np.asarray(sats, dtype=np.int64)
    t = steps * float(params["dt_s"])
    r, v = geo.sat_ecef(orbits.alt_km[sats], orbits.incl_deg[sats], orbits.raan_deg[sats], orbits.argl0_deg[sats],
                        t, float(params["gmst0_deg"]), with_velocity=full)
    terminal, lat, lon, terminal_vel = _terminal_state(params, steps, psi_deg, anchor_step)
    model = params["geometry_model"]
    if not full:
        return geo.elevation_ground_range(r, terminal, lat, lon, model=model)
    return geo.look_angles(r, v, terminal, lat, lon, model=model, terminal_vel=terminal_vel)


def pair_geometry(orbits: Orbits, params, steps, sats, psi_deg, anchor_step=None) -> dict:
    """Geometry of (step, satellite) pairs at t = steps·dt_s, each value (P,) float64 (E1–E11, E13).

    Keys az_deg, el_deg, range_km, ground_km, heading_deg, dirdiff_deg, range_rate_kmps. psi_deg (scalar or (P,))
    is the terminal heading; with terminal_speed_mps > 0 the terminal moves along its rhumb line anchored at
    anchor_step. El, ground and range are exactly the values the window pass tested."""
    steps = np.atleast_1d(np.asarray(steps, dtype=np.int64))
    sats = np.atleast_1d(np.asarray(sats, dtype=np.int64))
    moving = float(params["terminal_speed_mps"]) > 0.0
    look = _exact_pairs(orbits, params, steps, sats, psi_deg if moving else None, anchor_step, full=True)
    out = {key: np.array(look[key], dtype=float) for key in
           ("az_deg", "el_deg", "range_km", "ground_km", "heading_deg", "range_rate_kmps")}
    out["dirdiff_deg"] = geo.direction_difference(out["heading_deg"], psi_deg)            # E10
    return out


# ---------------------------------------------------------------------------------------------------------------
# The window pass
# ---------------------------------------------------------------------------------------------------------------

def _sigma_bound(orbits: Orbits, params, a):
    """Upper bound (N,) rad on the central angle σ of any visible pair (inf where the rule gives none)."""
    metric = params["footprint_metric"]
    el_v = float(params["vis_min_elev_deg"])
    bound = np.full(a.shape, np.inf)
    if metric == "ground" or (metric == "slant" and params["geometry_model"] == "flat"):
        # ground: g ≤ r_fp; flat slant: d_flat = sqrt(h_rel² + g²) ≤ r_fp ⇒ g ≤ r_fp.
        bound = np.minimum(bound, orbits.footprint_km / geo.R_MEAN_KM * (1.0 + 1e-9) + 1e-9)
    if params["geometry_model"] == "flat" and 0.0 < el_v < 90.0:
        # El_flat = atan2(h_rel, g) ≥ El_v ⇒ g ≤ h_rel / tan El_v; h_rel ≤ a − b (b the polar radius) − h_r.
        h_rel_max = a - geo.R_EQ_KM * (1.0 - geo.FLATTENING) - float(params["terminal_alt_km"]) + 1.0
        bound = np.minimum(bound, np.maximum(h_rel_max, 0.0) / np.tan(np.radians(el_v)) / geo.R_MEAN_KM * 1.001)
    return bound


def _cone_limits(orbits: Orbits, params, a, term_ecef, up):
    """Conditions of the prefilter as cones: a list of (w, beta), w 'up' or 'radial', beta (N,) rad, such that a
    visible pair has angle(r̂, w) ≤ beta (w = û, or r̂_r the terminal's geocentric direction).

    term_ecef, up: (R,3) terminal positions and up vectors over the rows of the chunk."""
    term_norm = np.sqrt(np.sum(term_ecef * term_ecef, axis=-1))
    limits = []
    el_v = float(params["vis_min_elev_deg"])
    if params["geometry_model"] == "enu" and el_v > -90.0:
        # El ≥ El_v ⇔ ρ·û ≥ d sin El_v ⇒ r·û ≥ r_r·û + sin El_v·(a ∓ |r_r|), since a − |r_r| ≤ d ≤ a + |r_r|.
        sin_v = np.sin(np.radians(el_v))
        reach = a - term_norm.max() if sin_v >= 0.0 else a + term_norm.max()
        threshold = np.min(np.sum(term_ecef * up, axis=-1)) + sin_v * reach
        limits.append(("up", np.arccos(np.clip(threshold / a, -1.0, 1.0))))
    sigma_max = _sigma_bound(orbits, params, a)
    if np.any(sigma_max < np.pi):
        limits.append(("radial", np.minimum(sigma_max, np.pi)))
    if params["footprint_metric"] == "slant" and params["geometry_model"] == "enu":
        # d² = a² + x² − 2 r·r_r ≤ r_fp² with x = |r_r| ⇔ r·r̂_r ≥ f(x) = c / (2x) + x / 2, c = a² − r_fp²;
        # the least f over the terminal's x range is at an end or at the stationary point sqrt(c).
        c = a * a - orbits.footprint_km ** 2
        lo, hi = term_norm.min(), term_norm.max()
        x = np.stack([np.full(c.shape, lo), np.full(c.shape, hi), np.clip(np.sqrt(np.maximum(c, 0.0)), lo, hi)])
        need = np.min(c / (2.0 * x) + x / 2.0, axis=0)
        limits.append(("radial", np.arccos(np.clip(need / a, -1.0, 1.0))))
    return limits


def _candidates(orbits: Orbits, params, c0: int, n_rows: int, psi_deg, anchor_step):
    """Flat indices into the (n_rows, N) chunk starting at step c0 of every pair that may be visible (sorted).

    Conservative coarse filter: the angle between the satellite's direction r̂ and a terminal direction w (û or
    r̂_r) changes at most at rate n_j + ω_E (+ v_r / R_m for a moving terminal), so a block of B steps whose
    center has angle(r̂, w) > beta + rate·τ (τ its half length) holds no visible pair."""
    dt = float(params["dt_s"])
    n_sat = orbits.n_sat
    a = geo.R_EQ_KM + orbits.alt_km
    steps = np.arange(c0, c0 + n_rows, dtype=np.int64)
    term_ecef, lat, lon, _ = _terminal_state(params, steps, psi_deg, anchor_step)
    term_ecef = np.broadcast_to(term_ecef, (n_rows, 3))
    up = np.broadcast_to(geo.enu_basis(lat, lon)[2], (n_rows, 3))
    limits = _cone_limits(orbits, params, a, term_ecef, up)
    block = max(1, int(round(COARSE_BLOCK_S / dt)))
    lo = np.arange(0, n_rows, block)
    hi = np.minimum(lo + block, n_rows) - 1
    centers = c0 + 0.5 * (lo + hi)                                    # fractional steps
    half = 0.5 * (block - 1) * dt                                     # τ, s
    speed = float(params["terminal_speed_mps"]) if psi_deg is not None else 0.0
    rate = geo.mean_motion(orbits.alt_km) + geo.OMEGA_E_RAD_S + 1.01 * speed / 1000.0 / geo.R_MEAN_KM
    if not limits:
        mask = np.ones((lo.size, n_sat), dtype=bool)
    else:
        r, _ = geo.sat_ecef(orbits.alt_km[None, :], orbits.incl_deg[None, :], orbits.raan_deg[None, :],
                            orbits.argl0_deg[None, :], centers[:, None] * dt, float(params["gmst0_deg"]),
                            with_velocity=False)
        c_ecef, c_lat, c_lon, _ = _terminal_state(params, centers, psi_deg, anchor_step)
        c_ecef = np.broadcast_to(c_ecef, (lo.size, 3))
        directions = {"up": np.broadcast_to(geo.enu_basis(c_lat, c_lon)[2], (lo.size, 3)),
                      "radial": c_ecef / np.sqrt(np.sum(c_ecef * c_ecef, axis=-1))[:, None]}
        mask = np.ones((lo.size, n_sat), dtype=bool)
        for name, beta in limits:
            cos_angle = geo._dot(r, directions[name][:, None, :]) / a[None, :]
            reach = np.minimum(beta + rate * half + 1e-9, np.pi)
            mask &= cos_angle >= np.cos(reach)[None, :] - 1e-9
    blk, sat = np.nonzero(mask)
    rows = lo[blk][:, None] + np.arange(block)[None, :]
    keep = rows <= hi[blk][:, None]
    flat = (rows * n_sat + sat[:, None])[keep]
    return np.sort(flat)


def _window_pass(orbits: Orbits, params, k_lo: int, k_hi: int, psi_deg=None, anchor_step=None,
                 want_ranges: bool = False, want_counts: bool = False, chunk_steps: int | None = None):
    """Windows on steps [k_lo, k_hi] plus (optionally) eligible ranges and per-step counts, chunk by chunk."""
    chunk_steps = CHUNK_STEPS if chunk_steps is None else int(chunk_steps)
    n_sat = orbits.n_sat
    prev_row = np.zeros(n_sat, dtype=bool)
    start_steps, start_sats, end_steps, end_sats = [], [], [], []
    ranges, n_vis, n_eli = [], [], []
    for c0 in range(k_lo, k_hi + 1, chunk_steps):
        c1 = min(c0 + chunk_steps, k_hi + 1)
        n_rows = c1 - c0
        candidate = _candidates(orbits, params, c0, n_rows, psi_deg, anchor_step)
        rows, cols = np.divmod(candidate, n_sat)
        el, ground, rng_km = _exact_pairs(orbits, params, c0 + rows, cols, psi_deg, anchor_step)
        visible, eligible = eligibility_masks(el, ground, rng_km, orbits.footprint_km[cols], params)
        chunk = np.zeros((n_rows, n_sat), dtype=bool)
        chunk.reshape(-1)[candidate[eligible]] = True
        if want_ranges:
            ranges.append(rng_km[eligible])
        if want_counts:
            n_vis.append(np.bincount(rows[visible], minlength=n_rows))
            n_eli.append(np.bincount(rows[eligible], minlength=n_rows))
        # E16: run boundaries; the previous chunk's last row makes runs continue across chunks. Only the
        # satellites eligible somewhere in the chunk or at its previous step can have a boundary.
        active = np.union1d(cols[eligible], np.flatnonzero(prev_row))
        jump = np.diff(np.vstack([prev_row[None, active], chunk[:, active]]).view(np.int8), axis=0)
        r_on, s_on = np.nonzero(jump == 1)
        r_off, s_off = np.nonzero(jump == -1)
        start_steps.append(c0 + r_on)
        start_sats.append(active[s_on])
        end_steps.append(c0 + r_off - 1)
        end_sats.append(active[s_off])
        prev_row = chunk[-1]
    open_sats = np.flatnonzero(prev_row)                      # runs still open at k_hi end there (clipped)
    end_steps.append(np.full(open_sats.size, k_hi, dtype=np.int64))
    end_sats.append(open_sats)
    start_steps, start_sats = np.concatenate(start_steps).astype(np.int64), np.concatenate(start_sats).astype(np.int64)
    end_steps, end_sats = np.concatenate(end_steps).astype(np.int64), np.concatenate(end_sats).astype(np.int64)
    # Per satellite, starts and ends alternate: pairing the k-th start with the k-th end of the same satellite.
    by_sat_start = np.lexsort((start_steps, start_sats))
    by_sat_end = np.lexsort((end_steps, end_sats))
    sat, start, end = start_sats[by_sat_start], start_steps[by_sat_start], end_steps[by_sat_end]
    order = np.lexsort((sat, start))
    windows = Windows(sat=sat[order], start=start[order], end=end[order], n_steps=n_steps(params), step_lo=int(k_lo))
    out = {"windows": windows}
    if want_ranges:
        out["ranges_km"] = np.concatenate(ranges) if ranges else np.zeros(0)
    if want_counts:
        out["n_visible"] = np.concatenate(n_vis).astype(np.int64)
        out["n_eligible"] = np.concatenate(n_eli).astype(np.int64)
    return out


def compute_windows(orbits: Orbits, params, *, with_ranges: bool = False, chunk_steps: int | None = None):
    """Static-terminal eligibility windows over the whole horizon (E14–E16); with_ranges also returns the
    slant ranges (km, float64, the model's d: E7, or d_flat under "flat") of every eligible (k, j) pair.

    The terminal is taken static whatever terminal_speed_mps says (the moving extension reuses the static
    scaler, §4.6; its windows come from `compute_windows_moving`). chunk_steps (default 3600) changes only the
    memory use, never the result."""
    out = _window_pass(orbits, params, 0, n_steps(params) - 1, want_ranges=with_ranges, chunk_steps=chunk_steps)
    return (out["windows"], out["ranges_km"]) if with_ranges else out["windows"]


def visibility_counts(orbits: Orbits, params):
    """(n_visible (K,), n_eligible (K,)) int64: |V(k)| and |E(k)| of the static terminal (E14, E15)."""
    out = _window_pass(orbits, params, 0, n_steps(params) - 1, want_counts=True)
    return out["n_visible"], out["n_eligible"]


def compute_windows_moving(orbits: Orbits, params, k_lo: int, k_hi: int, psi_deg: float, anchor_step: int) -> Windows:
    """Windows on steps [k_lo, k_hi] (clipped to [0, K−1]) for a terminal moving with heading psi_deg along the
    rhumb line anchored at anchor_step (E4b); start/end are absolute steps, clipped to the evaluated range.
    Callers use k_lo = k_0 − W, k_hi = k_0 + L + W with W = MOVING_MARGIN_S / Δt."""
    if float(params["terminal_speed_mps"]) <= 0.0:
        raise ValueError("compute_windows_moving needs terminal_speed_mps > 0")
    k_lo = max(int(k_lo), 0)
    k_hi = min(int(k_hi), n_steps(params) - 1)
    if k_hi < k_lo:
        raise ValueError(f"empty step range [{k_lo}, {k_hi}]")
    return _window_pass(orbits, params, k_lo, k_hi, psi_deg=psi_deg, anchor_step=anchor_step)["windows"]


# ---------------------------------------------------------------------------------------------------------------
# Scaler (§4.6)
# ---------------------------------------------------------------------------------------------------------------

def fit_scaler(ranges_list, quantile: float = 0.99):
    """(d_min, d_max) km: minimum and `quantile` (numpy's linear method) of all eligible ranges (E18)."""
    d = np.concatenate([np.asarray(x, dtype=float).ravel() for x in ranges_list])
    if d.size == 0:
        raise ValueError("no eligible ranges to fit the scaler on")
    return float(d.min()), float(np.quantile(d, quantile))


# ---------------------------------------------------------------------------------------------------------------
# Caches (in-process and on disk)
# ---------------------------------------------------------------------------------------------------------------

_MEMORY_CACHE: dict[str, dict] = {}
_FIELDS = ("sat", "start", "end", "ranges_km", "n_visible", "n_eligible")


def cache_root() -> Path:
    """$OPTKIT_CACHE if set, else ~/.cache/optkit/checkpoints (as optkit.learners.checkpoint.cache_dir)."""
    env = os.environ.get("OPTKIT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "optkit" / "checkpoints"


_SOURCE_DIGEST: list[str] = []


def _source_digest() -> str:
    """sha256 of geometry.py and world.py (read once per process)."""
    if _SOURCE_DIGEST:
        return _SOURCE_DIGEST[0]
    digest = hashlib.sha256()
    for path in (Path(geo.__file__), Path(__file__)):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    _SOURCE_DIGEST.append(digest.hexdigest())
    return _SOURCE_DIGEST[0]


def _canonical(value):
    if isinstance(value, (bool, str)) or value is None:
        return value
    return float(value)


def world_key(orbits: Orbits, params) -> str:
    """sha256 hex of the orbit arrays, the geometry parameters and the geometry/world source."""
    digest = hashlib.sha256()
    for name in ("alt_km", "incl_deg", "raan_deg", "argl0_deg", "footprint_km"):
        arr = np.ascontiguousarray(getattr(orbits, name), dtype=np.float64)
        digest.update(name.encode())
        digest.update(str(arr.shape).encode())
        digest.update(arr.tobytes())
    geometry = {key: _canonical(params[key]) for key in GEOMETRY_PARAMS}
    digest.update(json.dumps(geometry, sort_keys=True).encode())
    digest.update(_source_digest().encode())
    return digest.hexdigest()


def _cache_path(key: str) -> Path:
    return cache_root() / "leo-handover" / "windows" / f"{key}.npz"


def _read_npz(path: Path):
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in _FIELDS + ("n_steps",)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def _write_npz(path: Path, arrays: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    fd, tmp = tempfile.mkstemp(prefix=path.stem[:16] + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getvalue())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _world_data(orbits: Orbits, params) -> dict:
    """Windows, eligible ranges and counts of the static world, from the memory cache, the disk cache or a pass."""
    key = world_key(orbits, params)
    data = _MEMORY_CACHE.get(key)
    if data is not None:
        return data
    path = _cache_path(key)
    data = _read_npz(path) if path.exists() else None
    if data is None:
        out = _window_pass(orbits, params, 0, n_steps(params) - 1, want_ranges=True, want_counts=True)
        w = out["windows"]
        data = {"sat": w.sat, "start": w.start, "end": w.end, "ranges_km": out["ranges_km"],
                "n_visible": out["n_visible"], "n_eligible": out["n_eligible"], "n_steps": np.int64(w.n_steps)}
        _write_npz(path, data)
    for value in data.values():
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
    _MEMORY_CACHE[key] = data
    return data


def world_windows(orbits: Orbits, params) -> Windows:
    """Cached `compute_windows(orbits, params)` (read-only arrays)."""
    data = _world_data(orbits, params)
    return Windows(sat=data["sat"], start=data["start"], end=data["end"], n_steps=int(data["n_steps"]), step_lo=0)


def world_ranges(orbits: Orbits, params) -> np.ndarray:
    """Cached eligible slant ranges (km) of the static world, as `compute_windows(..., with_ranges=True)[1]`."""
    return _world_data(orbits, params)["ranges_km"]


def world_counts(orbits: Orbits, params):
    """Cached `visibility_counts(orbits, params)`."""
    data = _world_data(orbits, params)
    return data["n_visible"], data["n_eligible"]


def clear_memory_cache() -> None:
    """Forget the in-process cache (the disk cache stays)."""
    _MEMORY_CACHE.clear()
