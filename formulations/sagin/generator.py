"""Seeded generation of `sagin` instances from preset parameters (§3.2).

Random streams: `numpy.random.SeedSequence(seed).spawn(6)`, in this order, named by `STREAMS`:
  "buildings" (E2 heights), "fading" (E19 draws: real parts (J, B_tot), then imaginary parts),
  "train" (training starts, episode after episode), "test" (test starts), "field" (the optional E10/E11 random
  fields, drawn by `fields.RandomFields` when the radio model is built), "misc" (learners: replay sampling,
  exploration).
Everything else (sites, satellite passes, powers) is deterministic.
"""
from __future__ import annotations

import math

import numpy as np

from optkit.errors import ValidationError
from optkit.formulations.sagin import buildings as bld
from optkit.formulations.sagin.instance import KINDS, PARAM_FIELDS, SCHEMA, SaginInstance, validate_fields

STREAMS = ("buildings", "fading", "train", "test", "field", "misc")
MAX_TRIES_PER_START = 10_000


def streams(seed: int) -> dict[str, np.random.Generator]:
    """The six named generators of §3.2 for a master seed."""
    children = np.random.SeedSequence(int(seed)).spawn(len(STREAMS))
    return {name: np.random.default_rng(child) for name, child in zip(STREAMS, children)}


def flatten_params(params: dict) -> dict:
    """Nested preset parameters {group: {key: value}} -> typed flat fields {group_key: value}."""
    if not isinstance(params, dict):
        raise ValidationError("params", "must be a table of parameter groups")
    known = {(g, k) for g, k, _ in SCHEMA}
    for g, table in params.items():
        if not isinstance(table, dict):
            raise ValidationError(str(g), "unknown sagin parameter group (expected a table)")
        for k in table:
            if (g, k) not in known:
                raise ValidationError(f"{g}.{k}", "unknown sagin parameter")
    flat = {}
    for g, k, kind in SCHEMA:
        if g not in params or k not in params[g]:
            raise ValidationError(f"{g}.{k}", "missing parameter")
        flat[f"{g}_{k}"] = _typed(f"{g}_{k}", kind, params[g][k])
    return flat


def _typed(name: str, kind: str, v):
    try:
        if kind == "f":
            return float(v) if not isinstance(v, (bool, str)) else v
        if kind == "fs":
            return float(v) if not isinstance(v, (bool, str)) else v
        if kind in ("i", "s", "b"):
            return v
        if kind == "fl":
            return tuple(float(x) for x in v)
        if kind == "i2":
            return tuple(v)
        if kind == "f3":
            return tuple(float(x) for x in v)
        if kind == "xy":
            return np.asarray(v, dtype=float).reshape(-1, 2)
        if kind == "xyz":
            return np.asarray(v, dtype=float).reshape(-1, 3)
        if kind == "box":
            return np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(name, "has the wrong type or shape") from None
    raise ValidationError(name, f"unknown kind {kind}")


def horizon_ticks(flat: dict) -> int:
    """K = ⌊N_max Δt / δ⌋ with δ = h/(κ0 V) (§5.4), i.e. ⌊N_max Δs κ0 / h⌋."""
    k = flat["uav_max_steps"] * flat["uav_step_length"] * flat["ref_kappa0"] / flat["ref_h"]
    return int(math.floor(k + 1e-9))


def draw_starts(rng: np.random.Generator, n: int, start_box: np.ndarray, destination, dist_range) -> np.ndarray:
    """n starts (n, 3) m by rejection (§3.2): per candidate x ~ U, y ~ U (then z ~ U unless its range is a
    point); accepted when the horizontal distance to the destination lies in dist_range."""
    box = np.asarray(start_box, dtype=float)
    dest = np.asarray(destination, dtype=float)
    out = np.empty((n, 3))
    for i in range(n):
        for _ in range(MAX_TRIES_PER_START):
            x = rng.uniform(box[0, 0], box[0, 1])
            y = rng.uniform(box[1, 0], box[1, 1])
            z = box[2, 0] if box[2, 1] == box[2, 0] else rng.uniform(box[2, 0], box[2, 1])
            d = math.hypot(x - dest[0], y - dest[1])
            if dist_range[0] <= d <= dist_range[1]:
                out[i] = (x, y, z)
                break
        else:
            raise ValidationError("uav_start_dist", "no start in uav_start_box has an admissible distance")
    return out


def snap_to_lattice(points: np.ndarray, destination, h: float, box: np.ndarray) -> np.ndarray:
    """Nearest node of L(h) = {q_f + h(i, j, k)} ∩ box (box (2, 3) rows q_L, q_U). points (n, 3) m."""
    dest = np.asarray(destination, dtype=float)
    k = np.round((np.asarray(points, dtype=float) - dest) / h)
    k_lo = np.ceil((box[0] - dest) / h - 1e-9)
    k_hi = np.floor((box[1] - dest) / h + 1e-9)
    return dest + h * np.clip(k, k_lo, k_hi)


def training_starts(instance: SaginInstance, n_episodes: int) -> np.ndarray:
    """(n_episodes, N_U, 3) m: episode e uses the e-th block of N_U accepted draws of the "train" stream; with
    train.starts = "test" (preset check-1uav, D50) every episode starts from the test starts."""
    if instance.train_starts == "test":
        return np.repeat(np.asarray(instance.starts_test, dtype=float)[None], int(n_episodes), axis=0)
    rng = streams(instance.seed)["train"]
    return np.stack([draw_starts(rng, instance.uav_n_uavs, instance.uav_start_box, instance.uav_destination,
                                 instance.uav_start_dist) for _ in range(int(n_episodes))])


def validation_starts(instance: SaginInstance, n: int = 32) -> np.ndarray:
    """(n, 3) m validation starts of the learners' greedy monitor (§3.2 step 7, D52): drawn like the test starts
    from the seventh child `rng_val` of SeedSequence(seed).spawn(7) (the first six children are `streams`)."""
    child = np.random.SeedSequence(int(instance.seed)).spawn(len(STREAMS) + 1)[len(STREAMS)]
    return draw_starts(np.random.default_rng(child), int(n), instance.uav_start_box, instance.uav_destination,
                       instance.uav_start_dist)


def generate(params: dict, seed: int, preset: str = "custom") -> SaginInstance:
    """The instance of master seed `seed` for nested preset parameters (§3.1-3.2)."""
    flat = flatten_params(params)
    if isinstance(flat["ref_h_max"], int) and not isinstance(flat["ref_h_max"], bool) and flat["ref_h_max"] < 0 \
            and isinstance(flat["ref_h"], float) and flat["ref_h"] > 0 and isinstance(flat["ref_kappa0"], int):
        flat["ref_h_max"] = max(horizon_ticks(flat) // flat["ref_kappa0"] - 1, 0)   # default ⌊K/κ0⌋ - 1
    validate_fields(flat)
    rng = streams(seed)

    centres, width = bld.layout(flat["area_x_min"], flat["area_x_max"], flat["area_y_min"], flat["area_y_max"],
                                flat["buildings_alpha"], flat["buildings_beta"],
                                flat["buildings_clusters_per_side"], flat["buildings_road_width"])
    heights = bld.draw_heights(rng["buildings"], centres.shape[0], flat["buildings_gamma"], flat["buildings_h_cap"])
    sites = np.concatenate([flat["gn_sites_xy"], flat["an_sites_xy"]])
    keep = ~bld.on_site_mask(centres, width, sites, flat["buildings_site_clearance"])

    n_bs = (flat["gn_sites_xy"].shape[0] * len(flat["gn_sector_azimuths"])
            + flat["an_sites_xy"].shape[0] * len(flat["an_sector_azimuths"]) + flat["sn_n_sats"])
    shape = (flat["channel_n_draws"], n_bs)
    re = rng["fading"].standard_normal(shape) / math.sqrt(2.0)       # E19: Z = (a + 1j b)/√2
    im = rng["fading"].standard_normal(shape) / math.sqrt(2.0)

    if flat["uav_starts"].size:
        starts = np.array(flat["uav_starts"], dtype=float)
    else:
        starts = draw_starts(rng["test"], flat["uav_n_uavs"], flat["uav_start_box"], flat["uav_destination"],
                             flat["uav_start_dist"])
    if flat["uav_snap_starts"]:
        box = np.array([[flat["airspace_x_min"], flat["airspace_y_min"], flat["airspace_z_min"]],
                        [flat["airspace_x_max"], flat["airspace_y_max"], flat["airspace_z_max"]]])
        starts = snap_to_lattice(starts, flat["uav_destination"], flat["ref_h"], box)

    inst = SaginInstance(name=str(preset), seed=int(seed), **flat,
                         building_centers=centres[keep], building_width=float(width),
                         building_heights=heights[keep], fading_re=re, fading_im=im, starts_test=starts)
    return inst.validate()


__all__ = ["STREAMS", "streams", "flatten_params", "generate", "draw_starts", "snap_to_lattice",
           "training_starts", "validation_starts", "horizon_ticks", "PARAM_FIELDS", "KINDS"]
