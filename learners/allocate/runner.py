"""Train / load / evaluate plumbing shared by the allocate learners (`perfect` and variants, `haddqn`).

A model class has: Model(dims, config, rng); state_dict() / load_state_dict(states);
episode(inst, *, train, high_level=False) -> (OnlineEnv after the episode, {"return": ..., ...}).
Section (§), equation (E) and decision (D) numbers refer to docs/families/allocate.md.
"""
from __future__ import annotations

import time

from optkit.errors import InputError
from optkit.learners import harness
from optkit.learners.training import deterministic, run_episodes
from optkit.seeds import method_key, method_stream, stream
from optkit.solution import Solution, Status

FAMILY = "allocate"


def dims(inst) -> dict:
    """Sizes the networks depend on (one model set per preset point, §7.2.7)."""
    return {"grid": [int(inst.grid_rows), int(inst.grid_cols)], "n_uav": int(inst.n_uav), "N": int(inst.N),
            "F": int(inst.n_functions), "C": int(inst.C), "H": int(inst.H), "n_ues": int(inst.n_ues)}


def _fit(model_cls, method: str):
    def fit(training_set, config: dict, seed: int, progress: bool):
        first = training_set.instance(0)
        rng = stream(seed, 100, method_key(method))            # training randomness of this method and seed
        with deterministic(seed):
            model = model_cls(dims(first), config, rng)
            n = int(config["episodes"])
            switch = int(config.get("hl_fraction", 0.0) * n)   # E_HL (§7.2.6)

            def episode(e: int) -> dict:
                inst = first if e == 0 else training_set.instance(e)
                env, sums = model.episode(inst, train=True, high_level=e >= switch)
                metrics = env.evaluation().metrics
                return {**sums, "objective": metrics["objective"], "acc_pct": metrics["acc_pct"]}

            curve = run_episodes(n, episode, label=f"{method} {training_set.preset}",
                                 progress_every=int(config["progress_every"]) if progress else 0)
        return {"model": model.state_dict()}, curve, {"dims": dims(first)}

    return fit


def _obtain(model_cls, method: str, sources, preset: str, seed: int, budget: str, checkpoint, lr, batch_size,
            progress: bool) -> dict:
    config = harness.load_config(FAMILY, method, budget, lr=lr, batch_size=batch_size)
    return harness.obtain(FAMILY, method, preset, config, seed, sources, _fit(model_cls, method),
                          checkpoint=checkpoint, progress=progress)


def solve_with(model_cls, method: str, sources, inst, seed: int, budget: str, checkpoint, lr, batch_size) -> Solution:
    """Load or train the model, then run one online evaluation episode (ε = 0). runtime_s is the decision
    wall time of that episode; training time is reported as info["train_s"]."""
    if checkpoint is None:
        harness.check_preset_instance(inst)
    got = _obtain(model_cls, method, sources, inst.preset, seed, budget, checkpoint, lr, batch_size, False)
    meta = got["meta"]
    if meta.get("dims") != dims(inst):
        raise InputError(f"{method}: the model was trained for sizes {meta.get('dims')}, the instance has "
                         f"{dims(inst)} (one model per preset point)")
    rng = method_stream(inst.seed, method, seed)
    with deterministic(seed):
        model = model_cls(dims(inst), meta["config"], rng)
        model.load_state_dict(got["states"]["model"])
        start = time.perf_counter()
        env, sums = model.episode(inst, train=False)
        runtime = time.perf_counter() - start
    info = {"method_seed": seed, "train_s": meta["train_s"], "cache_hit": got["cache_hit"], "checkpoint": got["path"],
            "budget": meta["budget"], "episodes": meta["episodes"], "curve": meta["curve"], "eval_rewards": sums}
    return Solution(family=FAMILY, method=method, status=Status.FEASIBLE, decisions=env.decisions,
                    runtime_s=runtime, info=info)


def train_with(model_cls, method: str, sources, family: str, scenario: str, point, seed: int, budget: str, out,
               lr, batch_size, progress: bool) -> dict:
    """Train (or fetch from the cache) a model for a preset point; `out` also receives a copy."""
    preset = harness.training_preset(FAMILY, method, family, scenario, point)
    got = _obtain(model_cls, method, sources, preset, seed, budget, None, lr, batch_size, progress)
    path = harness.copy_checkpoint(got["path"], out) if out else got["path"]
    meta = got["meta"]
    return {"path": path, "train_s": meta["train_s"], "episodes": meta["episodes"], "curve": meta["curve"],
            "cache_hit": got["cache_hit"]}


def entry_points(model_cls, method: str, sources):
    """The registry's `solve` and `train` of one learner method (the same model class serves several variants;
    the method id selects its configuration table in _learners.toml)."""

    def solve(inst, *, seed: int = 0, time_limit: float | None = None, budget: str = "quick",
              checkpoint: str | None = None, lr: float | None = None, batch_size: int | None = None) -> Solution:
        """Load `checkpoint`, else the cached model of (preset, config, seed), training it on a miss; then one
        online evaluation episode (ε = 0). time_limit is not used (decisions take milliseconds; training is
        excluded from it)."""
        return solve_with(model_cls, method, sources, inst, seed, budget, checkpoint, lr, batch_size)

    def train(family: str, scenario: str, point: str | None = None, *, seed: int = 0, budget: str = "quick",
              out: str | None = None, lr: float | None = None, batch_size: int | None = None,
              progress: bool = True) -> dict:
        """Train (or fetch from the cache) for a preset point: {path, train_s, episodes, curve, cache_hit}."""
        return train_with(model_cls, method, sources, family, scenario, point, seed, budget, out, lr, batch_size,
                          progress)

    solve.__qualname__ = solve.__name__ = f"solve_{method.replace('-', '_')}"
    train.__qualname__ = train.__name__ = f"train_{method.replace('-', '_')}"
    return solve, train
