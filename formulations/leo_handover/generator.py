"""Seeded generation of `leo-handover` instances and episode specs (§3.4)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optkit.errors import ValidationError
from optkit.formulations.leo_handover.instance import ENV_PARAMS, WORLD_PARAMS, LeoHandoverInstance, validate_params

INT_PARAMS = {"n_sat", "n_candidates", "ep_len_min", "ep_len_max", "n_train_worlds", "n_train_episodes", "train_every",
              "n_test_episodes"}
TEXT_PARAMS = {"incl_dist", "footprint_metric", "geometry_model", "slot_order"}


@dataclass(frozen=True)
class EpisodeSpec:
    """One episode: world index (0 = the instance's test world, w = training world w), start step k0,
    length L in steps and terminal heading ψ in degrees."""

    world: int
    k0: int
    L: int
    psi: int


def normalized_params(params: dict) -> dict:
    """Validated parameters with numbers in their declared types (TOML and JSON overrides may mix 500 and 500.0)."""
    unknown = sorted(set(params) - set(WORLD_PARAMS + ENV_PARAMS))
    if unknown:
        raise ValidationError(unknown[0], "unknown leo-handover parameter")
    validate_params(params)
    out = {}
    for name in WORLD_PARAMS + ENV_PARAMS:
        value = params[name]
        if name in INT_PARAMS or name in TEXT_PARAMS or name == "serving_flag":
            out[name] = value
        elif name in ("state_features",):
            out[name] = tuple(str(v) for v in value)
        elif name in ("heading_set_deg", "run_seeds"):
            out[name] = tuple(int(v) for v in value)
        elif isinstance(value, (list, tuple)):
            out[name] = tuple(float(v) for v in value)
        else:
            out[name] = float(value)
    return out


def headings(params: dict) -> np.ndarray:
    """The heading set in degrees (empty list in the preset: 0, 1, ..., 359)."""
    values = list(params["heading_set_deg"])
    return np.arange(360, dtype=np.int64) if not values else np.asarray(values, dtype=np.int64)


def draw_episode_specs(params: dict, entropy, n: int, *, n_worlds: int | None = None) -> list[EpisodeSpec]:
    """n episode specs from SeedSequence(entropy), drawn per episode in the §3.4 order: world index (training only,
    when n_worlds is given), L, k0, ψ (an index into a custom heading set)."""
    rng = np.random.default_rng(np.random.SeedSequence(list(entropy)))
    K = int(round(float(params["horizon_s"]) / float(params["dt_s"])))
    heading_set = headings(params)
    default_set = not list(params["heading_set_deg"])
    specs = []
    for _ in range(int(n)):
        world = int(rng.integers(0, n_worlds)) if n_worlds is not None else 0
        L = int(rng.integers(int(params["ep_len_min"]), int(params["ep_len_max"]) + 1))
        k0 = int(rng.integers(0, K - L + 1))
        psi = int(rng.integers(0, 360)) if default_set else int(heading_set[rng.integers(0, heading_set.size)])
        specs.append(EpisodeSpec(world, k0, L, psi))
    return specs


def training_specs(params: dict, base_seed: int, run_seed: int, n: int | None = None) -> list[EpisodeSpec]:
    """Training episode specs of run seed ν: stream [S, 300, ν], world index among the training worlds."""
    count = int(params["n_train_episodes"]) if n is None else int(n)
    return draw_episode_specs(params, [int(base_seed), 300, int(run_seed)], count,
                              n_worlds=int(params["n_train_worlds"]))


def validation_specs(params: dict, base_seed: int, n: int) -> list[EpisodeSpec]:
    """The n validation episode specs of stream [S, 800] (c_HO tuning of D44 and the learners' greedy validation
    monitor), world index among the training worlds: never the test world."""
    return draw_episode_specs(params, [int(base_seed), 800], int(n), n_worlds=int(params["n_train_worlds"]))


def training_orbits(params: dict, base_seed: int) -> list:
    """Orbits of the training worlds w = 0..n_train_worlds-1 (streams [S, 100 + w])."""
    from optkit.formulations.leo_handover.world import draw_orbits

    return [draw_orbits([int(base_seed), 100 + w], params) for w in range(int(params["n_train_worlds"]))]


def fit_training_scaler(params: dict, base_seed: int) -> tuple[float, float]:
    """(d_min, d_max) over every eligible pair of the training worlds (E18). A moving terminal reuses the static
    terminal's scaler of the same worlds (§4.6)."""
    from optkit.formulations.leo_handover.world import fit_scaler, world_ranges

    static = dict(params, terminal_speed_mps=0.0)
    ranges = [world_ranges(orbits, static) for orbits in training_orbits(static, base_seed)]
    return fit_scaler(ranges, float(params["range_clip_quantile"]))


def generate(params: dict, seed: int, preset: str = "custom") -> LeoHandoverInstance:
    """The instance of base seed S = seed: test world [S, 200], training scaler, test episodes [S, 400]."""
    from optkit.formulations.leo_handover.world import draw_orbits

    p = normalized_params(params)
    S = int(seed)
    orbits = draw_orbits([S, 200], p)
    d_min, d_max = fit_training_scaler(p, S)
    specs = draw_episode_specs(p, [S, 400], p["n_test_episodes"])
    episodes = np.array([[s.k0, s.L, s.psi] for s in specs], dtype=np.int64).reshape(-1, 3)
    inst = LeoHandoverInstance(
        seed=S, preset=preset, **p,
        alt_km=orbits.alt_km, incl_deg=orbits.incl_deg, raan_deg=orbits.raan_deg, argl0_deg=orbits.argl0_deg,
        footprint_km=orbits.footprint_km, d_min_km=float(d_min), d_max_km=float(d_max), episodes=episodes,
    )
    return inst.validate()
