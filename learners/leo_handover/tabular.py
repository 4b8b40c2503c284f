"""Methods `sarsa` and `qlearning` of the leo-handover family (§7.1): tabular TD learning on the hashed, rounded
20-value state, one learner whose TD rule is a configuration value.

Reads top to bottom: the configuration (`TabularConfig`, every value from datasets/leo-handover/_learners.toml),
the environment it trains in (the training worlds of the base seed, `training_env`), the training loop (`fit`:
one linear-ε episode after another, §7.1, with the greedy validation monitor of §10 in the curve), the greedy
policy (`greedy_policy`) and the registry entry points.

Q table (N_Q buckets × M slots), initialised to 0; key(s) = blake2b-64 of round(s, 1) (learners/tabular.py).
SARSA: Q[s,a] += α (r + γ(1 − done) Q[s',a'] − Q[s,a]); Q-learning bootstraps on the max over valid slots of s'.
ε per episode, linear from eps_start to eps_end over the run.

Unseen states (D45): with `unseen_fallback = "keep-serving"`, the greedy branch on a state whose key was never
updated keeps the serving satellite when its slot is valid, else takes the nearest candidate (the
`sticky-nearest` rule of §7.2), in training and at test time; the share of such test decisions is
info["unseen_share"]. "lowest-index" is the literal behaviour (the argmax of the all-zero row).

Section (§), equation (E) and decision (D) numbers refer to docs/families/leo-handover.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from optkit.errors import InputError
from optkit.formulations.leo_handover.env import curve_record, sticky_nearest_slot, training_env
from optkit.formulations.leo_handover.generator import training_specs
from optkit.learners import harness, tabular
from optkit.learners.leo_handover import common

SOURCES = harness.source_files(__file__, common.__file__, tabular.__file__, *common.FAMILY_SOURCES)
REPORTS_UNSEEN = True
UNSEEN_FALLBACKS = ("keep-serving", "lowest-index")     # D45 and the literal reading
RULES = ("sarsa", "qlearning")


@dataclass(frozen=True)
class TabularConfig:
    """Hyperparameters of `sarsa` / `qlearning` (§7.1 table); values only in _learners.toml."""

    budget: str                 # training budget name (check, smoke, quick, paper)
    learner: str                # "tabular"
    rule: str                   # "sarsa" or "qlearning"
    buckets: int                # N_Q
    alpha: float                # α
    gamma: float                # γ
    eps_start: float            # ε of the first episode
    eps_end: float              # ε of the last episode
    unseen_fallback: str        # D45: "keep-serving" or "lowest-index"
    episodes: int               # training episodes; 0: the preset's n_train_episodes
    max_episodes: int           # the budget's cap (0: none)
    progress_every: int         # progress line every that many episodes
    validation_points: int      # greedy validation monitor every ⌈E/validation_points⌉ episodes (0: none)
    validation_episodes: int    # validation episodes of stream [S, 800] the monitor rolls out


def config(values: dict) -> TabularConfig:
    """The configuration of a resolved _learners.toml table (every field set, no other key)."""
    cfg = harness.config_from(TabularConfig, values)
    if cfg.rule not in RULES:
        raise InputError(f"rule: must be one of {', '.join(RULES)}, got {cfg.rule!r}")
    if cfg.unseen_fallback not in UNSEEN_FALLBACKS:
        raise InputError(f"unseen_fallback: must be one of {', '.join(UNSEEN_FALLBACKS)}, got "
                         f"{cfg.unseen_fallback!r}")
    return cfg


def unseen_fallback(cfg: TabularConfig):
    """fallback(env) -> slot of D45 ("keep-serving": the serving satellite's slot if valid, else the nearest
    candidate), or None for "lowest-index" (the argmax of the all-zero row)."""
    return sticky_nearest_slot if cfg.unseen_fallback == "keep-serving" else None


def fit(method: str):
    """The harness's fit(training_set, config, seed, progress) -> ({"model": table tensors}, curve, extra)."""

    def fit_tabular(training_set, values: dict, seed: int, progress: bool):
        from optkit.learners.training import deterministic, run_episodes

        cfg = config(values)
        params = common.learner_params(training_set.params)
        S = int(values["base_seed"])
        env = training_env(params, S)
        n = common.n_episodes(params, cfg.episodes, cfg.max_episodes)
        specs = training_specs(params, S, seed, n)
        rng, torch_seed = common.run_seeds(S, seed)
        table = tabular.TabularQ(env.M, cfg.buckets)
        fallback = unseen_fallback(cfg)
        due, validate = common.validation_monitor(params, S, n, cfg.validation_points, cfg.validation_episodes)

        def episode(e: int) -> dict:
            eps = tabular.linear_episode_epsilon(e, n, cfg.eps_start, cfg.eps_end)
            record = tabular.run_tabular_episode(env, specs[e], table, cfg.rule, eps, rng, cfg.alpha, cfg.gamma,
                                                 fallback=fallback)
            row = {**record, "epsilon": eps, **curve_record(env, record["steps"])}
            return {**row, **validate(env, greedy_policy(table, cfg, {}))} if due(e) else row

        with deterministic(torch_seed):
            curve = run_episodes(n, episode, label=f"{method} {training_set.preset}",
                                 progress_every=cfg.progress_every if progress else 0)
        extra = {"obs_dim": env.obs_dim, "decision_steps": int(sum(r["steps"] for r in curve))}
        return {"model": table.to_tensors()}, curve, extra

    return fit_tabular


def greedy_policy(table: tabular.TabularQ, cfg: TabularConfig, counts: dict):
    """Greedy policy(env, obs, info) of `table`: the lowest-index argmax over valid slots on a seen key, the D45
    fallback on an unseen one. counts["decisions"] and counts["unseen"] are incremented."""
    fallback = unseen_fallback(cfg)

    def act(env, obs, info):
        key = tabular.state_key(obs, table.n_buckets)
        counts["decisions"] = counts.get("decisions", 0) + 1
        if table.seen(key):
            return table.greedy(key, info["mask"])
        counts["unseen"] = counts.get("unseen", 0) + 1
        return table.greedy(key, info["mask"]) if fallback is None else fallback(env)
    return act


def policy(cfg: TabularConfig, states: dict, env, counts: dict, mask_columns: list[int]):
    """Greedy policy(env, obs, info) of a trained table (`greedy_policy`)."""
    if mask_columns:
        raise InputError("--mask-at-test: only the DQN models take it")
    return greedy_policy(tabular.TabularQ.from_tensors(states), cfg, counts)


def entry_points(method: str):
    """The registry's solve and train of `method` (its table in _learners.toml selects the configuration)."""
    import sys

    module = sys.modules[__name__]

    def solve(inst, *, seed: int = 0, time_limit: float | None = None, budget: str = "quick",
              checkpoint: str | None = None, episodes: int | None = None):
        """Greedy rollouts of the trained table on every test episode (trains on a cache miss); episodes overrides
        the preset's n_train_episodes. time_limit is accepted and unused (training is excluded from it)."""
        return common.solve_with(module, method, inst, seed, budget, checkpoint, {"episodes": episodes})

    def train(family: str, scenario: str, point: str | None = None, *, seed: int = 0, budget: str = "quick",
              out: str | None = None, base_seed: int = 0, episodes: int | None = None, progress: bool = True) -> dict:
        """Train (or fetch from the cache) on the preset's training worlds of base seed `base_seed`, run seed
        `seed`: {path, train_s, episodes, curve, cache_hit}."""
        return common.train_with(module, method, family, scenario, point, seed, budget, out, base_seed,
                                 {"episodes": episodes}, progress)

    return harness.name_entry_points(method, solve, train)


solve_sarsa, train_sarsa = entry_points("sarsa")
solve_qlearning, train_qlearning = entry_points("qlearning")
