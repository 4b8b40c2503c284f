"""What the `leo-handover` learners share: run seeds, the training budget in episodes, the state features of the
learner's environment, and the evaluation of a greedy policy on the instance's test episodes with the registry's
solve/train entry points. Each learner (`tabular`, `dqn`) brings its configuration, its training loop (`fit`) and
its greedy policy (`policy`).

Seeds (§3.4): the instance seed is the base seed S, the method seed the run seed ν. Training worlds [S, 100 + w],
training episodes [S, 300, ν], exploration and replay from SeedSequence([S, 500, ν]), torch from its first state
word. The final network (or table) is evaluated without checkpoint selection (D37).

Section (§), equation (E) and decision (D) numbers refer to docs/families/leo-handover.md.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from optkit import formulations
from optkit.errors import InputError
from optkit.formulations.leo_handover.env import HandoverEnv, rollout
from optkit.formulations.leo_handover.episode import evaluation_specs, instance_scaler
from optkit.formulations.leo_handover.evaluator import Decisions, episode_metrics
from optkit.formulations.leo_handover.generator import normalized_params, validation_specs
from optkit.learners import harness
from optkit.learners.training import single_thread
from optkit.solution import Solution, Status

FAMILY = "leo-handover"
MASK_AT_TEST_VALUE = 0.5          # §7.1 option mask_at_test: the removed feature's value at test time
# The family modules that shape a learner's environment (the report, the Gymnasium wrapper, the offline references
# and the registration do not enter the code version of a trained model).
FAMILY_SOURCES = tuple(Path(formulations.__file__).resolve().parent / "leo_handover" / f"{name}.py"
                       for name in ("env", "episode", "evaluator", "generator", "geometry", "instance", "offline",
                                    "world"))


def run_seeds(base_seed: int, run_seed: int) -> tuple[np.random.Generator, int]:
    """(numpy generator, torch seed) of run seed ν: SeedSequence([S, 500, ν]) (§3.4)."""
    sequence = np.random.SeedSequence([int(base_seed), 500, int(run_seed)])
    torch_seed = int(np.random.SeedSequence([int(base_seed), 500, int(run_seed)]).generate_state(1)[0])
    return np.random.default_rng(sequence), torch_seed


def n_episodes(params: dict, episodes: int, max_episodes: int) -> int:
    """Training episodes: `episodes` (0: the preset's n_train_episodes), capped by the budget's max_episodes
    (0: no cap)."""
    n = int(episodes) or int(params["n_train_episodes"])
    return min(n, int(max_episodes)) if int(max_episodes) > 0 else n


def validation_monitor(params: dict, base_seed: int, n_train: int, points: int, n_val: int):
    """The greedy validation monitor (§10 "No collapse"): due(e) is true every ⌈n_train / points⌉ training episodes
    and after the last one (never when points = 0); score(env, policy) rolls policy(env, obs, info) greedily out on
    the n_val validation episodes of stream [S, 800] in the training env and returns the curve's validation columns
    {val_reward (mean G), val_handover_freq, val_link_duration, val_handovers}."""
    on = points > 0 and n_val > 0
    specs = validation_specs(params, base_seed, n_val) if on else []

    def due(e: int) -> bool:
        return on and harness.validation_due(e, n_train, points)

    def score(env, policy) -> dict:
        rows = []
        for spec in specs:
            srv, _ = rollout(env, spec, policy)
            rows.append(episode_metrics(env.table, srv))          # env.table: the episode just rolled out
        return {f"val_{key}": float(np.nanmean([row[key] for row in rows]))
                for key in ("reward", "handover_freq", "link_duration", "handovers")}
    return due, score


def learner_params(params: dict, drop_feature: str = "") -> dict:
    """Parameters of the learner's environment: the preset's, without the ablated state feature `drop_feature`."""
    params = normalized_params(params)
    if drop_feature:
        if drop_feature not in params["state_features"]:
            raise InputError(f"drop_feature: '{drop_feature}' is not a state feature of this preset")
        params["state_features"] = tuple(f for f in params["state_features"] if f != drop_feature)
    return params


def masked_columns(params: dict, n_slots: int, feature: str) -> list[int]:
    """Observation entries (one per candidate slot) of state feature `feature` (§7.1 option mask_at_test)."""
    if feature not in params["state_features"]:
        raise InputError(f"--mask-at-test: '{feature}' must be a feature of the full-state model")
    column = list(params["state_features"]).index(feature)
    F = len(params["state_features"])
    return [m * F + column for m in range(n_slots)]


def solve_with(learner, method: str, inst, seed: int, budget: str, checkpoint, options: dict,
               mask_at_test: str | None = None) -> Solution:
    """Load or train `method` of module `learner` (training worlds of the instance's base seed, run seed `seed`),
    then roll its greedy policy out on every test episode. runtime_s is the decision time; training time is
    info["train_s"]. learner: a module with SOURCES, REPORTS_UNSEEN, config(dict) -> its configuration,
    fit(method) -> the harness's fit, policy(config, states, env, counts, mask_columns) -> policy(env, obs, info)."""
    if checkpoint is None:
        harness.check_preset_instance(inst)
    config = harness.learner_config(FAMILY, method, budget, inst.seed, options)
    learner.config(config)                                   # every key checked before any training
    got = harness.obtain(FAMILY, method, inst.preset, config, seed, learner.SOURCES, learner.fit(method),
                         checkpoint=checkpoint)
    meta = got["meta"]
    cfg = harness.stored_config(learner.config, meta, checkpoint)
    params = learner_params(inst.params(), getattr(cfg, "drop_feature", ""))
    env = HandoverEnv([inst.orbits()], params, instance_scaler(inst))
    if env.obs_dim != int(meta["obs_dim"]):
        raise InputError(f"{method}: the model takes {meta['obs_dim']} observation entries, the instance gives "
                         f"{env.obs_dim}")
    mask_columns = []
    if mask_at_test:
        if getattr(cfg, "drop_feature", ""):
            raise InputError(f"--mask-at-test: '{mask_at_test}' must be a feature of the full-state model")
        mask_columns = masked_columns(params, env.M, mask_at_test)
    counts = {"decisions": 0, "unseen": 0}
    policy = learner.policy(cfg, got["states"]["model"], env, counts, mask_columns)
    srv, seconds = [], 0.0
    with single_thread():
        for spec in evaluation_specs(inst):
            s, dt = rollout(env, spec, policy)
            srv.append(s)
            seconds += dt
    info = {"method_seed": seed, "train_s": meta["train_s"], "cache_hit": got["cache_hit"], "checkpoint": got["path"],
            "budget": meta["budget"], "episodes": meta["episodes"], "curve": meta["curve"],
            "decision_steps": meta.get("decision_steps"), "grad_steps": meta.get("grad_steps"),
            "mask_at_test": mask_at_test or ""}
    if learner.REPORTS_UNSEEN:                               # D45
        info["unseen_share"] = counts["unseen"] / max(counts["decisions"], 1)
    return Solution(family=FAMILY, method=method, status=Status.FEASIBLE, decisions=Decisions(tuple(srv)),
                    runtime_s=seconds, info=info)


def train_with(learner, method: str, family: str, scenario: str, point: str | None, seed: int, budget: str,
               out: str | None, base_seed: int, options: dict, progress: bool) -> dict:
    """`optkit train` of `method` of module `learner`: train (or fetch from the cache) on the preset's training
    worlds of base seed `base_seed`, run seed `seed`: {path, train_s, episodes, curve, cache_hit}."""
    preset = harness.training_preset(FAMILY, method, family, scenario, point)
    config = harness.learner_config(FAMILY, method, budget, base_seed, options)
    learner.config(config)
    return harness.train_cached(FAMILY, method, preset, config, seed, learner.SOURCES, learner.fit(method), out=out,
                                progress=progress)


def learner_module(values: dict):
    """The module (`tabular` or `dqn`) of the learner of a resolved configuration, by its "learner" key."""
    import importlib

    kind = values.get("learner")
    if kind not in ("tabular", "dqn"):
        raise InputError(f"learner: must be 'tabular' or 'dqn', got {kind!r}")
    return importlib.import_module(f"optkit.learners.leo_handover.{kind}")


def greedy_policy(values: dict, states: dict, env, counts: dict | None = None, mask_columns: list[int] = ()):
    """Greedy policy(env, obs, info) of a trained model of the resolved configuration `values` (either learner)."""
    learner = learner_module(values)
    return learner.policy(learner.config(values), states, env, {} if counts is None else counts, list(mask_columns))
