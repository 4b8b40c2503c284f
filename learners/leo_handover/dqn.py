"""Methods `dqn`, `dqn-listing-a` and the state ablations `dqn-no-*` of the leo-handover family (§7.1): the paper's
DQN over the M candidate slots.

Reads top to bottom: the configuration (`DqnConfig`, every value from datasets/leo-handover/_learners.toml), the
environment it trains in (the training worlds of the base seed, without the ablated state feature), the training
loop (`fit`: one episode after another, the core's ε schedule, replay and target sync, learners/dqn.py, with the
greedy validation monitor of §10 in the curve), the greedy policy (`greedy_policy`, with the option mask_at_test)
and the registry entry points.

Network Linear(D, 128) – ReLU – Linear(128, 128) – ReLU – Linear(128, M); y = clip(r) + γ(1 − done)·max over valid
slots of Q_θ⁻(s'); one gradient step every `train_every` decision steps once the replay holds `learning_starts`
transitions; hard target copy every `target_sync_episodes` episodes. `dqn`: the experimental-section listing
(replay 10k, batch 32, linear ε per episode); `dqn-listing-a`: the method-section listing (replay 20k, batch 64,
ε = max(0.1, 1.2·0.998^t)). The final network is evaluated (D37).

Section (§), equation (E) and decision (D) numbers refer to docs/families/leo-handover.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from optkit.formulations.leo_handover.env import curve_record, training_env
from optkit.formulations.leo_handover.generator import training_specs
from optkit.learners import dqn as dqn_core
from optkit.learners import harness, numpy_update
from optkit.learners.leo_handover import common

SOURCES = harness.source_files(__file__, common.__file__, dqn_core.__file__, numpy_update.__file__,
                               *common.FAMILY_SOURCES)
REPORTS_UNSEEN = False


@dataclass(frozen=True)
class DqnConfig:
    """Hyperparameters of the DQN learners (§7.1 tables); values only in _learners.toml."""

    budget: str                 # training budget name (check, smoke, quick, paper)
    learner: str                # "dqn"
    hidden: list                # hidden layer widths
    lr: float                   # Adam learning rate
    gamma: float                # γ
    buffer: int                 # replay capacity C_buf (FIFO)
    batch: int                  # minibatch size b_s
    learning_starts: int        # no gradient step while the replay holds fewer transitions
    target_sync_episodes: int   # hard target copy after every this-many-th episode
    reward_clip: float          # the paper's reward clipped to [−reward_clip, reward_clip]; the handover penalty c_HO
                                # of D44 widens the bound by c_HO, so the penalty is never truncated
    eps_schedule: str           # "linear" (per episode) or "listingA" (per decision step)
    eps_start: float            # ε of the first episode / decision step
    eps_end: float              # ε of the last episode ("linear")
    eps_decay: float            # per-decision-step factor ("listingA")
    eps_floor: float            # lower bound of ε ("listingA")
    update_backend: str         # gradient step: "auto" (numpy on the CPU), "numpy" or "torch"
    drop_feature: str           # ablations: the state feature removed from every slot ("" = none)
    episodes: int               # training episodes; 0: the preset's n_train_episodes
    train_every: int            # decision steps between gradient steps; 0: the preset's train_every
    device: str                 # torch device of training ("cpu" or "cuda")
    max_episodes: int           # the budget's cap (0: none)
    progress_every: int         # progress line every that many episodes
    validation_points: int      # greedy validation monitor every ⌈E/validation_points⌉ episodes (0: none)
    validation_episodes: int    # validation episodes of stream [S, 800] the monitor rolls out


def config(values: dict) -> DqnConfig:
    """The configuration of a resolved _learners.toml table (every field set, no other key)."""
    return harness.config_from(DqnConfig, values)


def core_config(cfg: DqnConfig, train_every: int, buffer: int | None = None,
                handover_penalty: float = 0.0) -> dqn_core.DQNConfig:
    """The core's DQNConfig with every field from `cfg` (buffer overridden for a greedy-only model). The stored
    reward r − c_HO·1[handover] (E20-E23) is clipped to ±(reward_clip + c_HO): the paper's reward (in [0, 1] on
    the default weights) keeps the paper's clip, and the D44 penalty keeps its size. With the clip at ±1, every
    c_HO ≥ 2 would train the same learner (r − c_HO < −1 always)."""
    return dqn_core.DQNConfig(
        hidden=tuple(int(h) for h in cfg.hidden), lr=cfg.lr, gamma=cfg.gamma,
        buffer=cfg.buffer if buffer is None else buffer, batch=cfg.batch, learning_starts=cfg.learning_starts,
        train_every=train_every, target_sync_episodes=cfg.target_sync_episodes,
        reward_clip=cfg.reward_clip + float(handover_penalty),
        eps_schedule=cfg.eps_schedule, eps_start=cfg.eps_start, eps_end=cfg.eps_end, eps_decay=cfg.eps_decay,
        eps_floor=cfg.eps_floor, update_backend=cfg.update_backend)


def fit(method: str):
    """The harness's fit(training_set, config, seed, progress) -> ({"model": network states}, curve, extra)."""

    def fit_dqn(training_set, values: dict, seed: int, progress: bool):
        from optkit.learners.training import deterministic, run_episodes

        cfg = config(values)
        params = common.learner_params(training_set.params, cfg.drop_feature)
        S = int(values["base_seed"])
        env = training_env(params, S)
        n = common.n_episodes(params, cfg.episodes, cfg.max_episodes)
        specs = training_specs(params, S, seed, n)
        rng, torch_seed = common.run_seeds(S, seed)
        train_every = cfg.train_every or int(params["train_every"])
        due, validate = common.validation_monitor(params, S, n, cfg.validation_points, cfg.validation_episodes)
        with deterministic(torch_seed):
            model = dqn_core.DQNLearner(env.obs_dim, env.M,
                                        core_config(cfg, train_every, handover_penalty=params["handover_penalty"]),
                                        rng, torch_seed=torch_seed, device=cfg.device)

            def episode(e: int) -> dict:
                eps = model.epsilon(e, n)
                record = dqn_core.run_dqn_episode(env, specs[e], model, e, n)
                row = {**record, "epsilon": eps, "grad_steps": model.grad_steps,      # cumulative
                       **curve_record(env, record["steps"])}
                return {**row, **validate(env, greedy_policy(model, {}, []))} if due(e) else row

            curve = run_episodes(n, episode, label=f"{method} {training_set.preset}",
                                 progress_every=cfg.progress_every if progress else 0)
        extra = {"obs_dim": env.obs_dim, "decision_steps": int(sum(r["steps"] for r in curve)),
                 "grad_steps": model.grad_steps}
        return {"model": model.state_dict()}, curve, extra

    return fit_dqn


def greedy_policy(model: dqn_core.DQNLearner, counts: dict, mask_columns: list[int]):
    """Greedy policy(env, obs, info) of the online network over the valid slots; mask_columns: observation entries
    set to 0.5 (mask_at_test). counts["decisions"] is incremented."""
    def act(env, obs, info):
        counts["decisions"] = counts.get("decisions", 0) + 1
        if mask_columns:
            obs = obs.copy()
            obs[mask_columns] = common.MASK_AT_TEST_VALUE
        return model.greedy(obs, info["mask"])
    return act


def policy(cfg: DqnConfig, states: dict, env, counts: dict, mask_columns: list[int]):
    """Greedy policy(env, obs, info) of a trained network (`greedy_policy`). Greedy decisions need only the online
    network; they run on the CPU whatever device trained it."""
    model = dqn_core.DQNLearner(env.obs_dim, env.M, core_config(cfg, 1, buffer=1), 0, device="cpu")
    model.online.load_state_dict({k: v.cpu() for k, v in states["online"].items()})
    return greedy_policy(model, counts, mask_columns)


def entry_points(method: str, *, mask_option: bool = False):
    """The registry's solve and train of `method` (its table in _learners.toml selects the configuration);
    mask_option: the solve entry takes mask_at_test (the full-state `dqn`)."""
    import sys

    module = sys.modules[__name__]

    def solve(inst, *, seed: int = 0, time_limit: float | None = None, budget: str = "quick",
              checkpoint: str | None = None,
              episodes: int | None = None, train_every: int | None = None, device: str | None = None):
        """Greedy rollouts of the trained model on every test episode (trains on a cache miss). episodes and
        train_every override the preset's n_train_episodes and train_every; device: cpu or cuda. time_limit is
        accepted and unused (training is excluded from it; decisions take microseconds)."""
        return common.solve_with(module, method, inst, seed, budget, checkpoint,
                                 {"episodes": episodes, "train_every": train_every, "device": device})

    def solve_masked(inst, *, seed: int = 0, time_limit: float | None = None, budget: str = "quick",
                     checkpoint: str | None = None,
                     episodes: int | None = None, train_every: int | None = None, device: str | None = None,
                     mask_at_test: str | None = None):
        """As solve; mask_at_test: a state feature set to 0.5 at test time in the full-state model (§7.1)."""
        return common.solve_with(module, method, inst, seed, budget, checkpoint,
                                 {"episodes": episodes, "train_every": train_every, "device": device}, mask_at_test)

    def train(family: str, scenario: str, point: str | None = None, *, seed: int = 0, budget: str = "quick",
              out: str | None = None, base_seed: int = 0, episodes: int | None = None,
              train_every: int | None = None, device: str | None = None, progress: bool = True) -> dict:
        """Train (or fetch from the cache) on the preset's training worlds of base seed `base_seed`, run seed
        `seed`: {path, train_s, episodes, curve, cache_hit}."""
        return common.train_with(module, method, family, scenario, point, seed, budget, out, base_seed,
                                 {"episodes": episodes, "train_every": train_every, "device": device}, progress)

    return harness.name_entry_points(method, solve_masked if mask_option else solve, train)


solve_dqn, train_dqn = entry_points("dqn", mask_option=True)
solve_dqn_listing_a, train_dqn_listing_a = entry_points("dqn-listing-a")
solve_dqn_no_dirdiff, train_dqn_no_dirdiff = entry_points("dqn-no-dirdiff")
solve_dqn_no_elev, train_dqn_no_elev = entry_points("dqn-no-elev")
solve_dqn_no_range, train_dqn_no_range = entry_points("dqn-no-range")
solve_dqn_no_azimuth, train_dqn_no_azimuth = entry_points("dqn-no-azimuth")
