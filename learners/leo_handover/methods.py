"""The paper's learners on `leo-handover` (§7.1): tabular SARSA and Q-learning, DQN (two listings) and the
state ablations, trained on the training worlds and evaluated greedily on the instance's test episodes.

Seeds (§3.4): the instance seed is the base seed S, the method seed the run seed ν. Training worlds [S, 100 + w],
training episodes [S, 300, ν], exploration and replay from SeedSequence([S, 500, ν]), torch from its first state
word. The final network (or table) is evaluated without checkpoint selection (D37).

Tabular unseen states (D45): with `unseen_fallback = "keep-serving"`, the greedy branch on a state whose key was
never updated keeps the serving satellite when its slot is valid, else takes the nearest candidate (the
`sticky-nearest` rule of §7.2, i.e. info["serving"] / info["cand_ids"] and the `distance` rule), in training and at
test time; the share of such test decisions is info["unseen_share"]. "lowest-index" is the literal behaviour.

Section (§), equation (E) and decision (D) numbers refer to docs/families/leo-handover.md.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from optkit import formulations
from optkit.errors import InputError
from optkit.formulations.leo_handover.env import HandoverEnv, curve_record, rollout, sticky_nearest_slot, training_env
from optkit.formulations.leo_handover.episode import evaluation_specs, instance_scaler
from optkit.formulations.leo_handover.evaluator import Decisions
from optkit.formulations.leo_handover.generator import normalized_params, training_specs
from optkit.learners import dqn as dqn_core
from optkit.learners import harness, numpy_update, tabular
from optkit.learners.training import single_thread
from optkit.solution import Solution, Status

FAMILY = "leo-handover"
# The code a trained model depends on: the learner cores and the family modules that shape the environment (the
# report, the Gymnasium wrapper, the offline references and the registration do not enter the code version).
_FAMILY_DIR = Path(formulations.__file__).resolve().parent / "leo_handover"
SOURCES = harness.source_files(__file__, dqn_core.__file__, numpy_update.__file__, tabular.__file__,
                               *(_FAMILY_DIR / f"{name}.py" for name in ("env", "episode", "evaluator", "generator",
                                                                        "geometry", "instance", "offline", "world")))
MASK_AT_TEST_VALUE = 0.5          # §7.1 option mask_at_test: the removed feature's value at test time
UNSEEN_FALLBACKS = ("keep-serving", "lowest-index")     # D45 and the literal reading


def unseen_fallback(config: dict):
    """fallback(env) -> slot of D45 ("keep-serving": the serving satellite's slot if valid, else the nearest
    candidate) or None for "lowest-index" (the argmax of the all-zero row)."""
    rule = config.get("unseen_fallback", "lowest-index")
    if rule not in UNSEEN_FALLBACKS:
        raise InputError(f"unseen_fallback: must be one of {', '.join(UNSEEN_FALLBACKS)}, got {rule!r}")
    return sticky_nearest_slot if rule == "keep-serving" else None


def learner_params(params: dict, config: dict) -> dict:
    """Parameters of the learner's environment: the preset's, without the ablated state feature."""
    params = normalized_params(params)
    drop = config.get("drop_feature", "")
    if drop:
        if drop not in params["state_features"]:
            raise InputError(f"drop_feature: '{drop}' is not a state feature of this preset")
        params["state_features"] = tuple(f for f in params["state_features"] if f != drop)
    return params


def run_seeds(base_seed: int, run_seed: int) -> tuple[np.random.Generator, int]:
    """(numpy generator, torch seed) of run seed ν: SeedSequence([S, 500, ν]) (§3.4)."""
    sequence = np.random.SeedSequence([int(base_seed), 500, int(run_seed)])
    torch_seed = int(np.random.SeedSequence([int(base_seed), 500, int(run_seed)]).generate_state(1)[0])
    return np.random.default_rng(sequence), torch_seed


def n_episodes(params: dict, config: dict) -> int:
    """Training episodes: the preset's n_train_episodes (or the `episodes` option), capped by the budget."""
    n = int(config.get("episodes") or params["n_train_episodes"])
    cap = int(config.get("max_episodes", 0))
    return min(n, cap) if cap > 0 else n


def _dqn_config(config: dict, params: dict) -> "dqn_core.DQNConfig":
    fields = {k: config[k] for k in ("lr", "gamma", "buffer", "batch", "learning_starts", "target_sync_episodes",
                                     "reward_clip", "eps_schedule", "eps_start", "eps_end", "eps_decay", "eps_floor")
              if k in config}
    train_every = int(config.get("train_every") or params["train_every"])
    return dqn_core.DQNConfig(hidden=tuple(int(h) for h in config["hidden"]), train_every=train_every, **fields)


def _fit(method: str):
    def fit(training_set, config: dict, seed: int, progress: bool):
        from optkit.learners.training import deterministic, run_episodes

        params = learner_params(training_set.params, config)
        S = int(config["base_seed"])
        env = training_env(params, S)
        n = n_episodes(params, config)
        specs = training_specs(params, S, seed, n)
        rng, torch_seed = run_seeds(S, seed)
        with deterministic(torch_seed):
            if config["learner"] == "dqn":
                model = dqn_core.DQNLearner(env.obs_dim, env.M, _dqn_config(config, params), rng,
                                            torch_seed=torch_seed, device=config.get("device", "cpu"))

                def train_episode(e: int) -> dict:
                    eps = model.epsilon(e, n)
                    out = dqn_core.run_dqn_episode(env, specs[e], model, e, n)
                    return {**out, "epsilon": eps, "grad_steps": model.grad_steps}      # cumulative
            else:
                model = tabular.TabularQ(env.M, int(config["buckets"]))
                fallback = unseen_fallback(config)

                def train_episode(e: int) -> dict:
                    eps = tabular.linear_episode_epsilon(e, n, float(config["eps_start"]), float(config["eps_end"]))
                    out = tabular.run_tabular_episode(env, specs[e], model, config["rule"], eps, rng,
                                                      float(config["alpha"]), float(config["gamma"]),
                                                      fallback=fallback)
                    return {**out, "epsilon": eps}

            def episode(e: int) -> dict:
                record = train_episode(e)
                return {**record, **curve_record(env, record["steps"])}

            curve = run_episodes(n, episode, label=f"{method} {training_set.preset}",
                                 progress_every=int(config["progress_every"]) if progress else 0)
        states = model.state_dict() if config["learner"] == "dqn" else model.to_tensors()
        extra = {"obs_dim": env.obs_dim, "decision_steps": int(sum(r["steps"] for r in curve))}
        if config["learner"] == "dqn":
            extra["grad_steps"] = model.grad_steps
        return {"model": states}, curve, extra

    return fit


def _policy(config: dict, states: dict, obs_dim: int, n_actions: int, mask_columns: list[int],
            counts: dict | None = None):
    """Greedy policy(env, obs, info) of a trained model; mask_columns: observation entries set to 0.5 (mask_at_test).
    Tabular: counts["decisions"] and counts["unseen"] (decisions on never-updated keys) are incremented."""
    if config["learner"] == "dqn":
        # Greedy decisions need only the online network; they run on the CPU whatever device trained it.
        model = dqn_core.DQNLearner(obs_dim, n_actions, dqn_core.DQNConfig(hidden=tuple(config["hidden"]), buffer=1),
                                    0, device="cpu")
        model.online.load_state_dict({k: v.cpu() for k, v in states["online"].items()})

        def policy(env, obs, info):
            if mask_columns:
                obs = obs.copy()
                obs[mask_columns] = MASK_AT_TEST_VALUE
            return model.greedy(obs, info["mask"])
        return policy
    table = tabular.TabularQ.from_tensors(states)
    fallback = unseen_fallback(config)
    counts = {} if counts is None else counts

    def policy(env, obs, info):
        key = tabular.state_key(obs, table.n_buckets)
        counts["decisions"] = counts.get("decisions", 0) + 1
        if table.seen(key):
            return table.greedy(key, info["mask"])
        counts["unseen"] = counts.get("unseen", 0) + 1
        return table.greedy(key, info["mask"]) if fallback is None else fallback(env)
    return policy


def solve_with(method: str, inst, seed: int, budget: str, checkpoint, mask_at_test: str | None,
               options: dict) -> Solution:
    """Load or train (training worlds of the instance's base seed, run seed = `seed`), then roll the greedy policy
    out on every test episode. runtime_s is the decision time; training time is info["train_s"]."""
    if checkpoint is None:
        harness.check_preset_instance(inst)
    config = harness.learner_config(FAMILY, method, budget, inst.seed, options)
    got = harness.obtain(FAMILY, method, inst.preset, config, seed, SOURCES, _fit(method), checkpoint=checkpoint)
    meta = got["meta"]
    params = learner_params(inst.params(), meta["config"])
    env = HandoverEnv([inst.orbits()], params, instance_scaler(inst))
    if env.obs_dim != int(meta["obs_dim"]):
        raise InputError(f"{method}: the model takes {meta['obs_dim']} observation entries, the instance gives "
                         f"{env.obs_dim}")
    mask_columns = []
    if mask_at_test:
        if meta["config"].get("drop_feature") or mask_at_test not in params["state_features"]:
            raise InputError(f"--mask-at-test: '{mask_at_test}' must be a feature of the full-state model")
        column = list(params["state_features"]).index(mask_at_test)
        F = len(params["state_features"])
        mask_columns = [m * F + column for m in range(env.M)]
    counts = {"decisions": 0, "unseen": 0}
    policy = _policy(meta["config"], got["states"]["model"], env.obs_dim, env.M, mask_columns, counts)
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
    if meta["config"]["learner"] != "dqn":
        info["unseen_share"] = counts["unseen"] / max(counts["decisions"], 1)
    return Solution(family=FAMILY, method=method, status=Status.FEASIBLE, decisions=Decisions(tuple(srv)),
                    runtime_s=seconds, info=info)


def entry_points(method: str, *, mask_option: bool = False):
    """The registry's solve and train of one learner id (its table in _learners.toml selects the configuration)."""

    def solve(inst, *, seed: int = 0, time_limit: float | None = None, budget: str = "quick",
              checkpoint: str | None = None,
              episodes: int | None = None, train_every: int | None = None, device: str | None = None) -> Solution:
        """Greedy rollouts of the trained model on every test episode (trains on a cache miss). episodes and
        train_every override the preset's n_train_episodes and train_every; device: cpu or cuda. time_limit is
        accepted and unused (training is excluded from it; decisions take microseconds)."""
        return solve_with(method, inst, seed, budget, checkpoint, None,
                          {"episodes": episodes, "train_every": train_every, "device": device})

    def solve_masked(inst, *, seed: int = 0, time_limit: float | None = None, budget: str = "quick",
                     checkpoint: str | None = None,
                     episodes: int | None = None, train_every: int | None = None, device: str | None = None,
                     mask_at_test: str | None = None) -> Solution:
        """As solve; mask_at_test: a state feature set to 0.5 at test time in the full-state model (§7.1)."""
        return solve_with(method, inst, seed, budget, checkpoint, mask_at_test,
                          {"episodes": episodes, "train_every": train_every, "device": device})

    def train(family: str, scenario: str, point: str | None = None, *, seed: int = 0, budget: str = "quick",
              out: str | None = None, base_seed: int = 0, episodes: int | None = None,
              train_every: int | None = None, device: str | None = None, progress: bool = True) -> dict:
        """Train (or fetch from the cache) on the preset's training worlds of base seed `base_seed`, run seed
        `seed`: {path, train_s, episodes, curve, cache_hit}."""
        preset = harness.training_preset(FAMILY, method, family, scenario, point)
        options = {"episodes": episodes, "train_every": train_every, "device": device}
        config = harness.learner_config(FAMILY, method, budget, base_seed, options)
        return harness.train_cached(FAMILY, method, preset, config, seed, SOURCES, _fit(method), out=out,
                                    progress=progress)

    chosen = solve_masked if mask_option else solve
    name = method.replace("-", "_")
    chosen.__name__ = chosen.__qualname__ = f"solve_{name}"
    train.__name__ = train.__qualname__ = f"train_{name}"
    return chosen, train


solve_sarsa, train_sarsa = entry_points("sarsa")
solve_qlearning, train_qlearning = entry_points("qlearning")
solve_dqn, train_dqn = entry_points("dqn", mask_option=True)
solve_dqn_listing_a, train_dqn_listing_a = entry_points("dqn-listing-a")
solve_dqn_no_dirdiff, train_dqn_no_dirdiff = entry_points("dqn-no-dirdiff")
solve_dqn_no_elev, train_dqn_no_elev = entry_points("dqn-no-elev")
solve_dqn_no_range, train_dqn_no_range = entry_points("dqn-no-range")
solve_dqn_no_azimuth, train_dqn_no_azimuth = entry_points("dqn-no-azimuth")
