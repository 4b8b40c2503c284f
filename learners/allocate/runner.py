"""Train / load / evaluate plumbing shared by the allocate learners (`perfect` and variants, `haddqn` and
`haddqn-literal`).

A model class has: Model(dims, cfg, rng) with cfg its configuration dataclass (class attribute `Config`);
state_dict() / load_state_dict(states); set_episode(e, n_episodes) (exploration schedule);
episode(inst, *, train, high_level=False) -> (OnlineEnv after the episode, {"return": ..., "pl_steps": ...});
validation_episode(inst) -> (OnlineEnv, sums): one greedy episode that leaves the model unchanged.
Training follows D31: a greedy validation on the seeds 5000 + j every ceil(E/20) episodes and after the last,
recorded in the training curve beside the training-mode score (val_objective, val_accepted, val_acc_pct,
val_pl_steps), and the model with the best (objective, accepted) is kept (ties: the later one) unless the
configuration evaluates the final network (select_checkpoint = false).
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


def replay_size(cfg, small: int) -> int:
    """D30: `small` for budgets of at most cfg.replay_large_above episodes, cfg.replay_large above."""
    return int(small) if int(cfg.episodes) <= int(cfg.replay_large_above) else int(cfg.replay_large)


def greedy_metrics(model, inst) -> dict:
    """Metrics of one greedy validation episode (the model is left unchanged)."""
    env, sums = model.validation_episode(inst)
    m = env.evaluation().metrics
    return {"objective": m["objective"], "accepted": m["accepted"], "acc_pct": m["acc_pct"],
            "pl_steps": sums["pl_steps"]}


def train_model(model_cls, method: str, training_set, config: dict, seed: int, progress: bool = False,
                validation_instances=None):
    """The training loop of every allocate learner: returns (model, curve, selector). Validation per D31 on the
    seeds 5000 + j of the training preset, or on `validation_instances` when given (the overfitting check trains
    and validates on one instance). training_set: has .instance(e) and .preset (harness.TrainingSet)."""
    cfg = harness.config_from(model_cls.Config, config)
    first = training_set.instance(0)
    rng = stream(seed, 100, method_key(method))            # training randomness of this method and seed
    if validation_instances is None:
        validation_instances = harness.ValidationSet.of(training_set, n=int(cfg.validation_seeds)).instances
    selector = harness.CheckpointSelector()
    n = int(cfg.episodes)
    switch = int(getattr(cfg, "hl_fraction", 0.0) * n)     # E_HL (§7.2.6)
    with deterministic(seed):
        model = model_cls(dims(first), cfg, rng)

        def episode(e: int) -> dict:
            inst = first if e == 0 else training_set.instance(e)
            model.set_episode(e, n)
            env, sums = model.episode(inst, train=True, high_level=e >= switch)
            m = env.evaluation().metrics
            record = {**sums, "objective": m["objective"], "accepted": m["accepted"], "acc_pct": m["acc_pct"]}
            if harness.validation_due(e, n, int(cfg.validation_points)):
                val = harness.greedy_validation(lambda v: greedy_metrics(model, v), validation_instances)
                record.update(val)
                if cfg.select_checkpoint:
                    selector.offer(e, (val["val_objective"], val["val_accepted"]), model.state_dict)
            return record

        curve = run_episodes(n, episode, label=f"{method} {training_set.preset}",
                             progress_every=int(cfg.progress_every) if progress else 0)
    return model, curve, selector


def _fit(model_cls, method: str):
    def fit(training_set, config: dict, seed: int, progress: bool):
        model, curve, selector = train_model(model_cls, method, training_set, config, seed, progress)
        states = selector.best_states if model.cfg.select_checkpoint else model.state_dict()
        extra = {"dims": dims(training_set.instance(0)), "checkpoint_selection": selector.meta(),
                 **getattr(model, "info", lambda: {})()}
        return {"model": states}, curve, extra

    return fit


def _obtain(model_cls, method: str, sources, preset: str, seed: int, budget: str, checkpoint, lr, batch_size,
            progress: bool) -> dict:
    config = harness.load_config(FAMILY, method, budget, lr=lr, batch_size=batch_size)
    return harness.obtain(FAMILY, method, preset, config, seed, sources, _fit(model_cls, method),
                          checkpoint=checkpoint, progress=progress)


def load_model(model_cls, method: str, inst, config: dict, states: dict | None, seed: int):
    """A model for evaluating on `inst` with the method randomness of (inst.seed, method, seed), as `solve` builds
    it; states None: the untrained network (call inside `deterministic(seed)` for the training seed's init)."""
    cfg = harness.config_from(model_cls.Config, config)
    model = model_cls(dims(inst), cfg, method_stream(inst.seed, method, seed))
    if states is not None:
        model.load_state_dict(states)
    return model


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
        model = model_cls(dims(inst), harness.config_from(model_cls.Config, meta["config"]), rng)
        model.load_state_dict(got["states"]["model"])
        start = time.perf_counter()
        env, sums = model.episode(inst, train=False)
        runtime = time.perf_counter() - start
    selection = meta.get("checkpoint_selection", {})
    info = {"method_seed": seed, "train_s": meta["train_s"], "cache_hit": got["cache_hit"], "checkpoint": got["path"],
            "budget": meta["budget"], "episodes": meta["episodes"], "curve": meta["curve"], "eval_rewards": sums,
            "selected_episode": selection.get("selected_episode")}
    for key in ("action_space",):
        if key in meta:
            info[key] = meta[key]
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

    return harness.name_entry_points(method, solve, train)
