"""Seeded instance generator of the allocate family (§3.2): every component has its own stream."""
from __future__ import annotations

import numpy as np

from optkit.errors import InputError
from optkit.formulations.allocate import physics
from optkit.formulations.allocate.instance import AllocateInstance
from optkit.formulations.allocate.network import canonical_links
from optkit.seeds import stream

# Spawn keys of §3.2.
KEY_TOPOLOGY, KEY_NODES, KEY_LINKS, KEY_SERVICES, KEY_REQUESTS = 0, 1, 2, 3, 4
KEY_MOBILITY, KEY_THETA, KEY_CHANNEL, KEY_WEATHER, KEY_UAV = 5, 6, 7, 8, 9
KEY_ISSUANCE = 10          # D27: (10,) hot spots and heavy UEs, (10, 1, r) request pairs, (10, 2, i) history events
ISSUANCE_MODES = ("iid", "propensity")

PARAM_KEYS = {
    "grid", "cell_side_m", "T", "K", "frame_s", "H", "n_core", "n_rsu", "n_uav", "wireless_range_cells", "C",
    "n_services", "n_functions", "n_ues", "R", "alpha", "uav_energy_scale", "uav_weight_as_force", "eval_seeds",
    "train_seed_offset", "ranges", "physics", "issuance", "issue_heavy_share", "issue_heavy_weight",
    "issue_hotspots", "issue_hotspot_weight",
}


def _int_param(params: dict, name: str, minimum: int) -> int:
    value = params[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{name}: must be an integer, got {value!r}")
    if value < minimum:
        raise InputError(f"{name}: must be >= {minimum}, got {value}")
    return value


def _float_param(table: dict, name: str) -> float:
    value = table[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InputError(f"{name}: must be a finite number, got {value!r}")
    return float(value)


def _bool_param(table: dict, name: str) -> bool:
    value = table[name]
    if not isinstance(value, bool):
        raise InputError(f"{name}: must be true or false, got {value!r}")
    return value


def _range(ranges: dict, name: str) -> tuple[float, float]:
    value = ranges[name]
    if not (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise InputError(f"ranges.{name}: must be [lo, hi] numbers, got {value!r}")
    lo, hi = value
    if not (np.isfinite(lo) and np.isfinite(hi)) or lo > hi:
        raise InputError(f"ranges.{name}: must be finite [lo, hi] with lo <= hi, got {[lo, hi]}")
    return lo, hi


def channel_slot_quality(sigma, theta, los_uniform, rayleigh_unit, chi, x_uniform, y_uniform, slot_atten_db,
                         slot_shadow_db, *, cell_side_m: float, ph: dict, k0: float) -> np.ndarray:
    """Realized quality Q[a, τ] of one channel from its raw draws (E8-E11 composed), uint8 (A, T·K).

    sigma (A,) Rayleigh scales σ_{c,a}; theta (A,) LoS probabilities θ_a; los_uniform, rayleigh_unit, chi,
    x_uniform, y_uniform (A, T·K): the raw draws of stream (7, c) (U(0,1), unit-scale Rayleigh, N(0,1), U(0,1),
    U(0,1)); slot_atten_db ζ(Ω) and slot_shadow_db η(Ω) (T·K,), dB, of the weather state of every slot (E12:
    shared by all areas of a frame); ph: the preset's physics table; k0: K_0 (E8).
    """
    d = physics.separation(x_uniform, y_uniform, cell_side_m, ph["uav_altitude_m"])                      # E11
    gain = physics.channel_gain(np.asarray(sigma, dtype=float)[:, None] * rayleigh_unit, chi, slot_shadow_db,
                                slot_atten_db, d, pathloss_exp=ph["pathloss_exp"], k0=k0,
                                ref_distance_m=ph["ref_distance_m"])                                     # E8
    gamma = physics.snr(gain, tx_power_w=physics.dbm_to_w(ph["tx_power_dbm"]),
                        noise_psd_w_per_hz=physics.dbm_to_w(ph["noise_psd_dbm_hz"]),
                        subcarrier_hz=ph["subcarrier_hz"])                                               # E9
    return physics.realized_quality(los_uniform, np.asarray(theta, dtype=float)[:, None], gamma,
                                    ph["snr_threshold"])                                                 # E10


def _draw_pair(weights: np.ndarray, uniform: float) -> int:
    """Index of the pair picked by one uniform inverted on the cumulative weights (lexicographic pair order)."""
    cum = np.cumsum(weights)
    return int(min(np.searchsorted(cum, uniform * cum[-1], side="right"), len(cum) - 1))


def propensity_issuance(params: dict, seed: int, ue_area: np.ndarray, service_dur_of_req: np.ndarray, *, A: int,
                        T: int, H: int, R: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decision D27: (req_ue (R,), req_entry (R,), hist_events (R_hist, 2)) drawn with issuance weights
    λ_{u,h} = w_u · (hot-spot factor if a(u,h) is a hot spot else 1), w_u = issue_heavy_weight for heavy UEs else 1.
    ue_area (U, H+T) with frame h at column h + H; service_dur_of_req (R,) 𝒯_{s_r}."""
    U = ue_area.shape[0]
    n_hot = _int_param(params, "issue_hotspots", 0)
    if n_hot > A:
        raise InputError(f"issue_hotspots: must be <= number of areas {A}, got {n_hot}")
    share = _float_param(params, "issue_heavy_share")
    if not 0 <= share <= 1:
        raise InputError(f"issue_heavy_share: must be a probability in [0, 1], got {share}")
    heavy_w, hot_w = _float_param(params, "issue_heavy_weight"), _float_param(params, "issue_hotspot_weight")
    if heavy_w <= 0 or hot_w <= 0:
        raise InputError("issue_heavy_weight, issue_hotspot_weight: must be > 0")
    rng = stream(seed, KEY_ISSUANCE)
    hot = np.zeros(A, dtype=bool)
    hot[rng.choice(A, n_hot, replace=False)] = True
    weight_u = np.where(rng.uniform(size=U) < share, heavy_w, 1.0)
    lam = weight_u[:, None] * np.where(hot[ue_area], hot_w, 1.0)          # (U, H+T): λ_{u,h}
    used = np.zeros(U, dtype=bool)
    req_ue, req_entry = np.empty(R, dtype=np.int64), np.empty(R, dtype=np.int64)
    for r in range(R):
        last = T - int(service_dur_of_req[r])                              # T' in 0..T - 𝒯_{s_r}
        w = np.where(used[:, None], 0.0, lam[:, H:H + last + 1])           # (U, last+1), lexicographic (u, T')
        k = _draw_pair(w.ravel(), stream(seed, KEY_ISSUANCE, 1, r).uniform())
        req_ue[r], req_entry[r] = divmod(k, last + 1)
        used[req_ue[r]] = True
    n_hist = int(round(R * H / T)) if H > 0 else 0
    n_hist = min(n_hist, U)
    events = np.empty((n_hist, 2), dtype=np.int64)
    used_hist = np.zeros(U, dtype=bool)
    for i in range(n_hist):
        w = np.where(used_hist[:, None], 0.0, lam[:, :H])                  # (U, H): h = -H..-1
        u, col = divmod(_draw_pair(w.ravel(), stream(seed, KEY_ISSUANCE, 2, i).uniform()), H)
        events[i] = (u, col - H)
        used_hist[u] = True
    return req_ue, req_entry, events


def generate(params: dict, seed: int, preset: str = "custom") -> AllocateInstance:
    """Build and validate an instance from merged preset parameters and an instance seed."""
    unknown = sorted(set(params) - PARAM_KEYS)
    if unknown:
        raise InputError(f"{unknown[0]}: unknown allocate parameter")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"--seed: must be a non-negative integer, got {seed!r}")
    grid = params["grid"]
    if not (isinstance(grid, (list, tuple)) and len(grid) == 2 and all(isinstance(g, int) and g >= 1 for g in grid)):
        raise InputError(f"grid: must be [rows, cols] of positive integers, got {grid!r}")
    rows, cols = int(grid[0]), int(grid[1])
    A = rows * cols
    T, K, H = _int_param(params, "T", 1), _int_param(params, "K", 1), _int_param(params, "H", 0)
    n_core, n_rsu, n_uav = (_int_param(params, k, m) for k, m in (("n_core", 1), ("n_rsu", 0), ("n_uav", 0)))
    C, R, U = _int_param(params, "C", 1), _int_param(params, "R", 0), _int_param(params, "n_ues", 1)
    S, F = _int_param(params, "n_services", 1), _int_param(params, "n_functions", 1)
    if n_rsu > A:
        raise InputError(f"n_rsu: must be <= number of areas {A}, got {n_rsu}")
    if R > U:
        raise InputError(f"R: must be <= n_ues = {U}, got {R}")
    rg, ph = params["ranges"], dict(params["physics"])
    for key in ph:
        if key in ("weather_atten_db", "weather_shadow_db"):
            table = ph[key]
            if not (isinstance(table, list) and len(table) == 3 and all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) and v >= 0
                    for v in table)):
                raise InputError(f"physics.{key}: must be 3 finite non-negative numbers (one per weather state)")
        else:
            ph[key] = _float_param(ph, key)
    for key in ("p_straight", "p_turn", "weather_stay", "hedge_beta", "bayes_weight"):
        if key in ph and not 0 <= ph[key] <= 1:
            raise InputError(f"physics.{key}: must be a probability in [0, 1], got {ph[key]}")
    N = n_core + n_rsu + n_uav
    cell = _float_param(params, "cell_side_m")

    # (0,) topology
    rng = stream(seed, KEY_TOPOLOGY)
    rsu_areas = rng.choice(A, n_rsu, replace=False)
    core_areas = rng.integers(A, size=n_core)
    uav_areas = rng.integers(A, size=n_uav)
    node_area = np.concatenate([core_areas, rsu_areas, uav_areas]).astype(np.int64)

    # (1,) node parameters, sorted (Decision D5)
    rng = stream(seed, KEY_NODES)
    cap = np.sort(rng.uniform(*_range(rg, "cap"), size=N))[::-1]
    e_node = np.sort(rng.uniform(*_range(rg, "e_node"), size=N))

    # (2,) links in canonical order, three draws per link
    link_ends, link_wireless = canonical_links(node_area, n_core, n_rsu, n_uav, rows, cols)
    rng = stream(seed, KEY_LINKS)
    (cap_lo, cap_hi), (en_lo, en_hi), (lat_lo, lat_hi) = (_range(rg, k) for k in ("link_cap", "link_energy", "link_lat"))
    link_params = np.empty((len(link_ends), 3))
    for l in range(len(link_ends)):
        link_params[l] = rng.uniform(cap_lo, cap_hi), rng.uniform(en_lo, en_hi), rng.uniform(lat_lo, lat_hi)

    # (3,) services
    rng = stream(seed, KEY_SERVICES)
    len_lo, len_hi = (int(v) for v in rg["service_len"])
    dur_lo, dur_hi = (int(v) for v in rg["service_dur"])
    if len_hi > F:
        raise InputError(f"ranges.service_len: at most n_functions = {F} functions per service")
    service_funcs, service_dur = [], np.empty(S, dtype=np.int64)
    for s in range(S):
        size = int(rng.integers(len_lo, len_hi + 1))
        service_funcs.append(tuple(int(f) for f in rng.choice(F, size, replace=False)))
        service_dur[s] = min(int(rng.integers(dur_lo, dur_hi + 1)), T)  # D24: draw always made, then clipped

    # (4,) request UEs; (4, r) request attributes
    req_ue = stream(seed, KEY_REQUESTS).permutation(U)[:R].astype(np.int64)
    slot_lo, slot_hi = (int(v) for v in rg["req_slots"])
    if slot_hi > K:
        raise InputError(f"ranges.req_slots: must not exceed K = {K}")
    req_service, req_entry, req_slots = (np.empty(R, dtype=np.int64) for _ in range(3))
    req_bw, req_latency, req_demand = np.empty(R), np.empty(R), []
    for r in range(R):
        rng = stream(seed, KEY_REQUESTS, r)
        s = int(rng.integers(S))
        req_service[r] = s
        req_entry[r] = rng.integers(0, T - service_dur[s] + 1)
        req_slots[r] = rng.integers(slot_lo, slot_hi + 1)
        req_bw[r] = rng.uniform(*_range(rg, "req_bw"))
        req_demand.append(tuple(float(x) for x in rng.uniform(*_range(rg, "req_demand"), size=len(service_funcs[s]))))
        req_latency[r] = rng.uniform(*_range(rg, "req_latency"))

    # (5, u) mobility, frames -H..T-1 (E2, E3)
    ue_xy = np.empty((U, H + T, 2))
    for u in range(U):
        ue_xy[u], _ = physics.manhattan_mobility(
            stream(seed, KEY_MOBILITY, u), grid_rows=rows, grid_cols=cols, cell_side_m=cell,
            road_spacing_m=ph["road_spacing_m"], road_offset_m=ph["road_offset_m"],
            speed_range=_range(rg, "ue_speed"), n_frames=H + T, frame_s=_float_param(params, "frame_s"),
            p_straight=ph["p_straight"], p_turn=ph["p_turn"],
        )
    ue_area = physics.area_of_xy(ue_xy.reshape(-1, 2), rows, cols, cell).reshape(U, H + T)

    # (10,) issuance (D27): under "propensity" (u_r, T'_r) replace the draws of streams (4,) and (4, r)
    issuance = params["issuance"]
    if issuance not in ISSUANCE_MODES:
        raise InputError(f"issuance: must be one of {', '.join(ISSUANCE_MODES)}, got {issuance!r}")
    hist_events = np.zeros((0, 2), dtype=np.int64)
    if issuance == "propensity":
        req_ue, req_entry, hist_events = propensity_issuance(params, seed, ue_area, service_dur[req_service], A=A,
                                                             T=T, H=H, R=R)

    # (8,) weather (E12), needed by the channel draws
    weather = physics.weather_chain(stream(seed, KEY_WEATHER), T, n_states=3, stay_prob=ph["weather_stay"])

    # (6,) LoS probability; (7, c) channels (E8-E11)
    theta = stream(seed, KEY_THETA).uniform(*_range(rg, "theta_los"), size=A)
    k0 = physics.free_space_gain(ph["carrier_hz"], ph["ref_distance_m"])
    slot_weather = np.repeat(weather, K)                              # Ω of every slot, (T*K,)
    atten = np.asarray(ph["weather_atten_db"], dtype=float)[slot_weather]
    shadow = np.asarray(ph["weather_shadow_db"], dtype=float)[slot_weather]
    sigma = np.empty((C, A))
    e_chan = np.empty(C)
    Q = np.empty((C, A, T * K), dtype=np.uint8)
    for c in range(C):
        rng = stream(seed, KEY_CHANNEL, c)
        sigma[c] = rng.uniform(*_range(rg, "sigma_ray"), size=A)
        e_chan[c] = rng.uniform(*_range(rg, "e_chan"))
        shape = (A, T * K)
        los_u, rayleigh, chi = rng.uniform(size=shape), rng.rayleigh(1.0, size=shape), rng.standard_normal(shape)
        x_u, y_u = rng.uniform(size=shape), rng.uniform(size=shape)
        Q[c] = channel_slot_quality(sigma[c], theta, los_u, rayleigh, chi, x_u, y_u, atten, shadow,
                                    cell_side_m=cell, ph=ph, k0=k0)

    # (9, n) UAV weight and speed, keyed by node id
    uav_weight, uav_speed = np.empty(n_uav), np.empty(n_uav)
    for j, n in enumerate(range(n_core + n_rsu, N)):
        rng = stream(seed, KEY_UAV, n)
        uav_weight[j] = rng.uniform(*_range(rg, "uav_weight"))
        uav_speed[j] = rng.uniform(*_range(rg, "uav_speed"))

    instance = AllocateInstance(
        seed=int(seed), preset=preset, grid_rows=rows, grid_cols=cols, cell_side_m=cell, T=T, K=K,
        frame_s=_float_param(params, "frame_s"), H=H, n_core=n_core, n_rsu=n_rsu, n_uav=n_uav, node_area=node_area,
        cap=cap, e_node=e_node, uav_weight=uav_weight, uav_speed=uav_speed, link_ends=link_ends,
        link_wireless=link_wireless, link_cap=link_params[:, 0], link_energy=link_params[:, 1],
        link_lat=link_params[:, 2], wireless_range_cells=_int_param(params, "wireless_range_cells", 0), C=C,
        e_chan=e_chan, theta_los=theta, sigma_ray=sigma, weather=weather.astype(np.int64), Q=Q, n_services=S,
        n_functions=F, service_funcs=tuple(service_funcs), service_dur=service_dur, n_ues=U, ue_area=ue_area,
        ue_xy=ue_xy, req_ue=req_ue, req_service=req_service, req_entry=req_entry, req_slots=req_slots,
        req_bw=req_bw, req_demand=tuple(req_demand), req_latency=req_latency, alpha=_float_param(params, "alpha"),
        uav_energy_scale=_float_param(params, "uav_energy_scale"),
        uav_weight_as_force=_bool_param(params, "uav_weight_as_force"),
        induced_coeff=_float_param(ph, "induced_coeff"), drag_coeff=_float_param(ph, "drag_coeff"),
        air_density=_float_param(ph, "air_density"), rotor_disk_area=_float_param(ph, "rotor_disk_area"),
        frontal_area=_float_param(ph, "frontal_area"), gravity=_float_param(ph, "gravity"),
        uav_altitude_m=_float_param(ph, "uav_altitude_m"), carrier_hz=_float_param(ph, "carrier_hz"),
        ref_distance_m=_float_param(ph, "ref_distance_m"), pathloss_exp=_float_param(ph, "pathloss_exp"),
        tx_power_dbm=_float_param(ph, "tx_power_dbm"), noise_psd_dbm_hz=_float_param(ph, "noise_psd_dbm_hz"),
        subcarrier_hz=_float_param(ph, "subcarrier_hz"), snr_threshold=_float_param(ph, "snr_threshold"),
        weather_atten_db=np.asarray(ph["weather_atten_db"], dtype=float),
        weather_shadow_db=np.asarray(ph["weather_shadow_db"], dtype=float),
        issuance=issuance, hist_events=hist_events,
    )
    return instance.validate()
