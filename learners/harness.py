"""Family-agnostic plumbing of learner methods: configuration, training instances, train-or-load with a cache.

Configuration is data: `_learners.toml` in the family's presets folder (datasets/<family>/) (the leading underscore keeps it out of the
scenario list). Resolution for (method, budget):
    [<method>] (following `base = "<other method>"` first)  <-  [budgets.<budget>]  <-  [<method>.budgets.<budget>]
    <-  explicit lr / batch_size arguments.
Training instances are generated from the same preset (point) as the evaluation instance, with seeds
train_seed_offset + e (10 000 + e by default), disjoint from evaluation seeds.
"""
from __future__ import annotations

import contextlib
import copy
import shutil
import time
from pathlib import Path
from typing import Callable

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from optkit import registry
from optkit.errors import InputError
from optkit.learners import checkpoint as ckpt
from optkit.learners.monitors import (Monitor, constant_action, failures, flat_return,  # noqa: F401 (re-exported)
                                      monotone_multiplier, run_monitors, stop_only, validation_drop)

CONFIG_FILE = "_learners.toml"
LEARNER_CORE = ("replay.py", "qnet.py", "d3ql.py", "schedules.py", "checkpoint.py", "training.py", "harness.py",
                "monitors.py")


def _read_toml(family: str) -> dict:
    path = registry.get_family(family).presets_folder() / CONFIG_FILE
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load_config(family: str, method: str, budget: str, *, lr: float | None = None,
                batch_size: int | None = None) -> dict:
    """Resolved hyperparameters of a learner method for a budget (flat dict, includes "budget")."""
    data = _read_toml(family)
    budgets = data.get("budgets", {})
    if budget not in budgets:
        raise InputError(f"--budget: '{budget}' is not a training budget (budgets: {', '.join(sorted(budgets))})")
    chain, name = [], method
    while name is not None:
        if name not in data:
            raise InputError(f"{CONFIG_FILE}: no table for learner '{name}'")
        chain.append(data[name])
        name = data[name].get("base")
    config: dict = {}
    for table in reversed(chain):                       # base first, the method itself last
        config.update({k: copy.deepcopy(v) for k, v in table.items() if k not in ("base", "budgets")})
    config.update(budgets[budget])
    for table in reversed(chain):
        config.update(table.get("budgets", {}).get(budget, {}))
    if lr is not None:
        config["lr"] = float(lr)
    if batch_size is not None:
        config["batch_size"] = int(batch_size)
    config["budget"] = budget
    return config


def config_from(cls, config: dict):
    """Build the configuration dataclass `cls` from a resolved configuration (load_config): every field of `cls`
    must be given (the TOML file is the one source of values, the dataclass has no defaults); keys that are not
    fields are refused, except the harness's own bookkeeping keys (base_seed)."""
    import dataclasses

    names = [f.name for f in dataclasses.fields(cls)]
    missing = [n for n in names if n not in config]
    if missing:
        raise InputError(f"{CONFIG_FILE}: '{missing[0]}' is not set for this learner ({cls.__name__})")
    unknown = sorted(set(config) - set(names) - {"base_seed"})
    if unknown:
        raise InputError(f"{CONFIG_FILE}: '{unknown[0]}' is not a setting of {cls.__name__}")
    return cls(**{n: config[n] for n in names})


def stored_config(config_of: Callable, meta: dict, checkpoint: str | None):
    """config_of(meta["config"]): the configuration a stored model was trained with. When the model came from an
    explicit --checkpoint, a configuration that the current dataclass refuses (written by another version) is
    reported as the checkpoint's, with what to do."""
    try:
        return config_of(meta["config"])
    except InputError as error:
        if checkpoint is None:
            raise
        raise InputError(f"--checkpoint: the model's stored configuration does not fit this version ({error}); "
                         f"train it again with `optkit train`") from None


def split_preset(preset: str) -> tuple[str, str | None]:
    """'scenario' or 'scenario:point' -> (scenario, point or None)."""
    scenario, _, point = str(preset).partition(":")
    return scenario, (point or None)


class TrainingSet:
    """Training instances of one preset point: instance(e) has seed train_seed_offset + e."""

    def __init__(self, family: str, scenario: str, point: str | None = None):
        from optkit.api import scenario_params

        self.family = registry.get_family(family).id
        self.params, label = scenario_params(self.family, scenario, point)
        self.preset = scenario if not label else f"{scenario}:{label}"
        self.offset = int(self.params.get("train_seed_offset", 10000))
        self._api = registry.family_api(self.family)

    def instance(self, e: int):
        return self._api.generate(self.params, self.offset + int(e), self.preset)


def source_files(*module_files, family: str | None = None) -> list[Path]:
    """The shared learner core, the given method modules and, with `family`, every module of the family's
    formulation (environment, evaluator, generator, online blocks): their bytes enter the code version, so a
    change to the environment a model was trained in retrains it."""
    core = Path(__file__).resolve().parent
    files = [core / name for name in LEARNER_CORE] + [Path(f).resolve() for f in module_files]
    if family is not None:
        from optkit import formulations

        package = registry.get_family(family).id.replace("-", "_")     # family ids are kebab-case, packages snake_case
        files += sorted((Path(formulations.__file__).resolve().parent / package).glob("*.py"))
    return files


def check_preset_instance(inst) -> None:
    """A learner is trained per preset point: refuse an instance whose scalar parameters differ from that preset's
    (made with overrides, or edited), since the model was trained on another distribution."""
    import dataclasses

    import numpy as np

    scenario, point = split_preset(inst.preset)
    preset = TrainingSet(inst.family, scenario, point)
    reference = preset._api.generate(preset.params, inst.seed, inst.preset)
    for f in dataclasses.fields(inst):
        mine, theirs = getattr(inst, f.name), getattr(reference, f.name)
        if isinstance(mine, (np.ndarray, dict)) or f.name == "seed":       # arrays hold the seed's draws
            continue
        if isinstance(mine, (tuple, list)) and not all(np.isscalar(v) for v in mine):
            continue                                                        # nested per-item data (allocate)
        if mine != theirs:
            raise InputError(f"{f.name}: {mine!r} differs from preset '{inst.preset}' ({theirs!r}); learners are "
                             "trained per preset point, so evaluate them on instances of a named preset")


@contextlib.contextmanager
def _locked(stem: Path):
    """Exclusive lock next to a cache entry, so parallel cells of one preset train it once (POSIX only)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:          # not POSIX: no lock, concurrent runs may train twice
        yield
        return
    with open(str(stem) + ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def obtain(family: str, method: str, preset: str, config: dict, seed: int, sources, fit: Callable, *,
           checkpoint: str | None = None, progress: bool = False) -> dict:
    """Model states for (family, preset, method, config, seed).

    checkpoint given: load it. Otherwise look the cache up and, on a miss, call
    fit(training_set, config, seed, progress) -> (states, curve, extra metadata dict) and store the result.
    Returns {"states", "meta", "path", "cache_hit"}; meta holds train_s, episodes, curve, config, ...
    """
    if checkpoint is not None:
        if not ckpt.exists(checkpoint):
            raise InputError(f"--checkpoint: no checkpoint at '{checkpoint}' (needs the .pt and .json files)")
        states, meta = ckpt.load_checkpoint(checkpoint)
        if meta.get("method") != method or meta.get("family") != family:
            raise InputError(f"--checkpoint: '{checkpoint}' holds {meta.get('family')}/{meta.get('method')}, "
                             f"not {family}/{method}")
        return {"states": states, "meta": meta, "path": str(checkpoint), "cache_hit": True}
    version = ckpt.code_version(sources)
    scenario, point = split_preset(preset)
    params = TrainingSet(family, scenario, point).params      # the training distribution enters the key too
    key = ckpt.cache_key(family, preset, method, {**config, "scenario_params": params}, seed, version)
    stem = ckpt.cache_path(family, method, key)
    with _locked(stem):
        if ckpt.exists(stem):
            states, meta = ckpt.load_checkpoint(stem)
            return {"states": states, "meta": meta, "path": str(stem) + ".pt", "cache_hit": True}
        scenario, point = split_preset(preset)
        training_set = TrainingSet(family, scenario, point)
        start = time.perf_counter()
        states, curve, extra = fit(training_set, config, seed, progress)
        train_s = time.perf_counter() - start
        meta = {"family": family, "method": method, "preset": preset, "config": config, "seed": int(seed),
                "code_version": version, "train_s": train_s, "episodes": len(curve), "budget": config["budget"],
                "curve": curve, "created": time.strftime("%Y-%m-%dT%H:%M:%S"), **extra}
        path = ckpt.save_checkpoint(stem, states, meta)
    return {"states": states, "meta": meta, "path": str(path), "cache_hit": False}


def learner_config(family: str, method: str, budget: str, base_seed: int, options: dict) -> dict:
    """load_config of (method, budget) with the given options (None: not given) and the base seed applied."""
    config = load_config(family, method, budget)
    config.update({k: v for k, v in options.items() if v is not None})
    config["base_seed"] = int(base_seed)
    return config


def training_preset(family: str, method: str, requested_family: str, scenario: str, point: str | None) -> str:
    """The preset id a learner of `family` trains on for `optkit train -f requested_family -s scenario --point`;
    refuses a method of another family."""
    if requested_family != family:
        raise InputError(f"method '{method}' belongs to family '{family}', not '{requested_family}'")
    return TrainingSet(family, scenario, point).preset


def train_cached(family: str, method: str, preset: str, config: dict, seed: int, sources, fit: Callable, *,
                 out: str | None = None, progress: bool = True) -> dict:
    """`optkit train` of one learner: obtain() its model for (preset, config, seed) (trains on a cache miss) and copy
    the checkpoint to `out` when given. Returns {path, train_s, episodes, curve, cache_hit, wall_s}."""
    start = time.perf_counter()
    got = obtain(family, method, preset, config, seed, sources, fit, progress=progress)
    path = copy_checkpoint(got["path"], out) if out else got["path"]
    meta = got["meta"]
    return {"path": str(Path(path)), "train_s": meta["train_s"], "episodes": meta["episodes"], "curve": meta["curve"],
            "cache_hit": got["cache_hit"], "wall_s": time.perf_counter() - start}


def copy_checkpoint(path: str, out: str) -> str:
    """Copy a checkpoint (.pt and .json) to `out` (a .pt path or stem); returns the new .pt path."""
    src_pt, src_json = ckpt.checkpoint_files(path)
    dst_pt, dst_json = ckpt.checkpoint_files(out)
    dst_pt.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src_pt, dst_pt)
    shutil.copyfile(src_json, dst_json)
    return str(dst_pt)


# ----------------------------------------------------------------------------------- model selection (validation)

VALIDATION_POINTS = 20           # greedy validation every ceil(E/20) episodes and after the last (allocate D31)
VALIDATION_SEED_OFFSET = 5000    # validation seeds 5000 + j: disjoint from evaluation (< 5000) and training (10000 + e)


def validation_interval(n_episodes: int, points: int = VALIDATION_POINTS) -> int:
    """Episodes between two greedy validations: ceil(n_episodes / points), at least 1."""
    return max(1, -(-int(n_episodes) // int(points)))


def validation_due(e: int, n_episodes: int, points: int = VALIDATION_POINTS) -> bool:
    """True after training episode e (0-based) when a greedy validation is due: every validation_interval episodes
    and after the last episode."""
    done = int(e) + 1
    return done % validation_interval(n_episodes, points) == 0 or done == int(n_episodes)


def name_entry_points(method: str, solve: Callable, train: Callable) -> tuple[Callable, Callable]:
    """solve and train renamed solve_<method> and train_<method> (the registry's entry points of a learner id)."""
    name = method.replace("-", "_")
    solve.__name__ = solve.__qualname__ = f"solve_{name}"
    train.__name__ = train.__qualname__ = f"train_{name}"
    return solve, train


def validation_seeds(n: int = 10, offset: int = VALIDATION_SEED_OFFSET) -> list[int]:
    """The validation instance seeds offset + j, j < n."""
    return [int(offset) + j for j in range(int(n))]


class ValidationSet:
    """Validation instances of one preset point (seeds 5000 + j), generated once and reused at every validation.

    ValidationSet(family, scenario, point=None, n=10, offset=5000); .instances (list); .seeds (list of int)."""

    def __init__(self, family: str, scenario: str, point: str | None = None, n: int = 10,
                 offset: int = VALIDATION_SEED_OFFSET):
        from optkit.api import scenario_params

        fam = registry.get_family(family).id
        params, label = scenario_params(fam, scenario, point)
        preset = scenario if not label else f"{scenario}:{label}"
        api = registry.family_api(fam)
        self.seeds = validation_seeds(n, offset)
        self.instances = [api.generate(params, s, preset) for s in self.seeds]

    @classmethod
    def of(cls, training_set: "TrainingSet", n: int = 10, offset: int = VALIDATION_SEED_OFFSET) -> "ValidationSet":
        scenario, point = split_preset(training_set.preset)
        return cls(training_set.family, scenario, point, n, offset)


def greedy_validation(evaluate: Callable, instances) -> dict:
    """Mean over `instances` of evaluate(inst) -> dict of floats (one greedy episode of the current model, ε = 0,
    no learning). Returns {"val_<key>": mean} for every key evaluate returns."""
    rows = [evaluate(inst) for inst in instances]
    keys = rows[0].keys() if rows else ()
    return {f"val_{k}": float(sum(float(r[k]) for r in rows) / len(rows)) for k in keys}


class CheckpointSelector:
    """Keeps the model with the best greedy validation score (allocate D31; ARCHITECTURE "Model selection").

    offer(episode, score, states) -> bool: `score` is a tuple compared lexicographically, higher is better (e.g.
    (mean objective, mean accepted)); ties keep the later offer. `states` is a zero-argument callable returning
    the model's state dicts (called, and deep-copied, only when the offer is kept). After training: .best_states,
    .best_episode, .best_score, .history (list of (episode, score))."""

    def __init__(self):
        self.best_states = None
        self.best_episode: int | None = None
        self.best_score: tuple | None = None
        self.history: list[tuple[int, tuple]] = []

    def offer(self, episode: int, score, states: Callable[[], dict]) -> bool:
        score = tuple(float(v) for v in (score if isinstance(score, (tuple, list)) else (score,)))
        self.history.append((int(episode), score))
        if self.best_score is None or score >= self.best_score:
            self.best_states = copy.deepcopy(states())
            self.best_episode, self.best_score = int(episode), score
            return True
        return False

    def meta(self) -> dict:
        """JSON-ready summary: selected episode, its score, and the validation curve [(episode, score), ...]."""
        return {"selected_episode": self.best_episode, "selected_score": list(self.best_score or ()),
                "validation_curve": [[e, list(s)] for e, s in self.history]}
