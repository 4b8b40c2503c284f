"""What the sagin learners share (`ddqn_csac`, `drl`): run seeds, the measurements of the greedy association rules,
the training run (environment, episode loop of one learner-owned agent, D52 validation monitor, curve rows), the
exact-backend test rollout, and the solve / train entry points with the checkpoint cache.

An agent is any object with act(env, idx, epsilon) -> dict (the env's top, direction, target), observe(env, idx, act,
res), update(), epsilon(e, E), grad_steps, state_dict() and load_state_dict(state); the learner modules define theirs.
Section (§), equation (E) and decision (D) numbers refer to docs/families/sagin.md.

Seeds (§3.2 step 6, §6.4): the learner of instance seed S and method seed ν trains on the instance of seed S of its
training preset (`train.preset`, default the instance's own) with that instance's training starts. Replay sampling
and exploration derive from the instance's "misc" stream: SeedSequence(S).spawn(6)[5] extended by ν, i.e.
SeedSequence(entropy=S, spawn_key=(5, ν)), spawned into (top rng, lower rng, torch seeds); the two torch seeds
(networks of the top and of the lower level) are the two words of the third child's generate_state(2).

Evaluation (§6.4): deterministic policies rolled out with the EXACT backend from the instance's test starts; the
Solution's decisions are `env.decisions()`; runtime_s is the time spent deciding.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from optkit.errors import InputError
from optkit.formulations.sagin import generator as G
from optkit.formulations.sagin.env import SaginEnv
from optkit.learners import ddqn as ddqn_core
from optkit.learners import harness
from optkit.solution import Solution, Status

FAMILY = "sagin"


# ------------------------------------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class RunConfig:
    """The training-run settings every sagin learner's configuration starts with (read by TrainingRun and the entry
    points); values only in _learners.toml (the budget's table sets most of them)."""

    budget: str                 # training budget name (check, smoke, quick, fast, reduced, paper)
    episodes: int               # E: training episodes; 0 = the training preset's train.episodes (the `episodes` option)
    max_episodes: int           # the budget's cap on E (0: none)
    max_episode_steps: int      # steps of one training episode (0: the instance's N_max; a bootstrapped truncation)
    progress_every: int         # progress line every that many episodes (train only)
    validation_points: int      # D52 monitor every ⌈E/validation_points⌉ episodes and after the last (0: none)
    validation_starts: int      # D52: starts of rng_val the monitor flies
    backend: str                # training rate backend; "" = the instance's channel.rate_backend


@dataclass(frozen=True)
class DDQNSettings:
    """The Table II DDQN of every sagin learner (the Remain/Switch level of `ddqn-csac`, the lattice level of `drl`)
    and the network widths, replay and warm-up it shares with the other level; values only in _learners.toml."""

    hidden: list                # hidden widths of every network (Table II)
    buffer: int                 # replay capacity per level (transitions)
    batch: int                  # minibatch size of one gradient step
    learning_starts: int        # warm-up transitions per level (uniform random actions before)
    update_backend: str         # DDQN gradient step: "numpy" | "torch" | "auto"
    ddqn_lr: float              # η1
    ddqn_gamma: float           # γ1
    target_period: int          # hard target copy every that many gradient steps
    eps_start: float            # ε of the first episode
    eps_end: float              # ε floor
    eps_reach_divisor: float    # ε reaches eps_end after E/eps_reach_divisor episodes (D51)

    def ddqn_config(self, buffer: int | None = None) -> ddqn_core.DDQNConfig:
        """The DDQN core's configuration, every field from these settings (`buffer` replaces the replay capacity:
        1 for a policy that only acts)."""
        return ddqn_core.DDQNConfig(
            hidden=tuple(int(h) for h in self.hidden), lr=float(self.ddqn_lr), gamma=float(self.ddqn_gamma),
            buffer=int(buffer or self.buffer), batch=int(self.batch), target_period=int(self.target_period),
            learning_starts=int(self.learning_starts), eps_start=float(self.eps_start), eps_end=float(self.eps_end),
            eps_reach_divisor=float(self.eps_reach_divisor), update_backend=str(self.update_backend))


# ------------------------------------------------------------------------------------------------ seeds
def run_seeds(base_seed: int, run_seed: int) -> tuple[np.random.Generator, np.random.Generator, int, int]:
    """(top rng, lower rng, torch seed of the top networks, torch seed of the lower networks) of instance seed S
    and method seed ν: children of SeedSequence(entropy=S, spawn_key=(misc, ν)), misc = index of the "misc"
    stream of §3.2."""
    misc = G.STREAMS.index("misc")
    run = np.random.SeedSequence(int(base_seed), spawn_key=(misc, int(run_seed)))
    top, low, torch_seq = run.spawn(3)
    t_top, t_low = (int(x) for x in torch_seq.generate_state(2))
    return np.random.default_rng(top), np.random.default_rng(low), t_top, t_low


# ------------------------------------------------------------------------------------------------ measurements
def rsrp_now(env: SaginEnv) -> np.ndarray:
    """RSRP (N, B) dBm of every BS at the UAVs' current (q_n, t_n) with the env's backend (E22; −inf for an
    unavailable satellite): cached raster for GN/AN when the env is cached, exact otherwise; SN always exact."""
    if env.cached is None:
        return env.model.links(env.q, env.t).rsrp_dbm
    return np.concatenate([env.cached.terrestrial_rsrp(env.q), env.model.satellite(env.q, env.t)[0]], axis=1)


def large_scale_sinr(model, rsrp_dbm: np.ndarray) -> np.ndarray:
    """E23 Γ̄_b (N, B) linear from RSRP (N, B) dBm: p_b / (Σ_{j in b's network} p_j − p_b + σ²_b), unavailable
    links (−inf dBm) carry p = 0. Same arithmetic as RadioModel.large_scale_sinr (which starts from its own links)."""
    with np.errstate(under="ignore"):
        p = np.where(np.isfinite(rsrp_dbm), 10.0 ** (rsrp_dbm / 10.0), 0.0)
    out = np.zeros_like(p)
    for g in model.groups:
        tot = p[:, g].sum(axis=1, keepdims=True)
        out[:, g] = p[:, g] / (tot - p[:, g] + model.noise[g])
    return out


def greedy_association(env: SaginEnv, rule: str) -> np.ndarray:
    """b(n+1) (N,) = argmax over available BSs of the rule's measurement at (q_n, t_n) (§7.2, §7.5; ties: lowest
    index): "rsrp" E22, "maxrate" E21, "sinr" E23."""
    if rule == "maxrate":
        score = env.rates_now
    else:
        rsrp = rsrp_now(env)
        score = rsrp if rule == "rsrp" else large_scale_sinr(env.model, rsrp)
    return np.argmax(np.where(env.available_now, score, -np.inf), axis=1).astype(np.int64)


def greedy_switch(env: SaginEnv, idx: np.ndarray, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """The env's (top (N,) int64: SWITCH where the rule's BS differs from b_n, target (N,) int64) for the active UAVs
    idx (K,) under the greedy association `rule` (greedy_association); the other UAVs Remain on b_n."""
    choice = greedy_association(env, rule)
    top = np.zeros(env.n_uavs, dtype=np.int64)
    target = env.b.copy()
    top[idx] = (choice[idx] != env.b[idx]).astype(np.int64)
    target[idx] = choice[idx]
    return top, target


# ------------------------------------------------------------------------------------------------ training
def n_episodes(inst, cfg: RunConfig) -> int:
    """E: cfg.episodes (the `episodes` option), else the instance's train.episodes, capped by cfg.max_episodes (the
    budget's; 0: no cap)."""
    n = int(cfg.episodes or inst.train_episodes)
    cap = int(cfg.max_episodes)
    return min(n, cap) if cap > 0 else n


def training_preset(inst) -> str:
    """The preset the instance's learners train on: train.preset, else the instance's own preset."""
    return inst.train_preset or inst.preset


class TrainingRun:
    """The environment a learner trains in (§7.1 steps 1-9): the N_U UAVs of the training instance form one
    synchronous `SaginEnv` with cfg.backend ("" = the instance's `channel.rate_backend`, "cached" by default, D39);
    episode e starts from the e-th block of training starts (`generator.training_starts`, §3.2 step 4) and ends when
    every UAV has finished or after cfg.max_episode_steps steps (0: N_max; a bootstrapped truncation).

    Validation monitor (D52): every ⌈E / cfg.validation_points⌉ episodes and after the last one, the deterministic
    policy flies the cfg.validation_starts starts of `rng_val` (generator.validation_starts) in a second env of the
    same backend; the row records val_objective (J, E30 with D49's failure penalty) and val_success. It only records
    (the final networks are the model)."""

    def __init__(self, inst, cfg: RunConfig):
        self.inst = inst
        self.backend = str(cfg.backend or inst.channel_rate_backend)
        self.env = SaginEnv(inst, self.backend)
        self.n_episodes = n_episodes(inst, cfg)
        self.starts = G.training_starts(inst, self.n_episodes)
        self.max_steps = int(cfg.max_episode_steps) or self.env.n_max
        self.val_points = int(cfg.validation_points)
        self.val_env = SaginEnv(inst, self.backend) if self.val_points > 0 else None
        self.val_starts = G.validation_starts(inst, int(cfg.validation_starts)) if self.val_points > 0 else None
        self.env_steps = 0

    def episode(self, e: int, agent, epsilon: float) -> tuple[dict, int, int]:
        """Training episode e with exploration `epsilon`: per environment step the agent acts for the active UAVs,
        the env steps, the agent stores the transitions and takes its gradient steps (§7.1 steps 1-9).
        Returns (env.summary(), environment steps, UAV-steps)."""
        env = self.env
        env.reset(self.starts[e])
        steps, uav_steps = 0, 0
        while not env.done and steps < self.max_steps:
            idx = np.flatnonzero(env.active)
            act = agent.act(env, idx, epsilon)
            res = env.step(act["top"], act["direction"], act["target"])
            agent.observe(env, idx, act, res)
            agent.update()
            steps += 1
            uav_steps += idx.size
        self.env_steps += steps
        return env.summary(), steps, uav_steps

    def row(self, e: int, agent, summary: dict, epsilon: float, steps: int, multipliers, alpha: float) -> dict:
        """The curve row of episode e: return_top, return_low (E28 undiscounted sums, mean over UAVs), return
        (= return_low), mu_qos, mu_bnd (`multipliers` after the episode), alpha, epsilon (of the episode), steps,
        grad_steps (per level so far), success, rate_mbps, switches, objective, floor_projections, boundary_events
        (means over the UAVs of `env.summary()`), and val_objective, val_success when the D52 monitor is due, with their
        standard errors over the validation starts (val_objective_se, val_success_se: the noise the monitor compares
        a drop with)."""
        mu_qos, mu_bnd = multipliers
        ret_low = float(summary["return_low"].mean())
        row = {"return_top": float(summary["return_top"].mean()), "return_low": ret_low, "return": ret_low,
               "mu_qos": mu_qos, "mu_bnd": mu_bnd, "alpha": float(alpha), "epsilon": float(epsilon),
               "steps": steps, "grad_steps": agent.grad_steps, "success": float(summary["success"].mean()),
               "rate_mbps": float(summary["rate_mbps"].mean()), "switches": float(summary["switches"].mean()),
               "objective": float(summary["objective"].mean()),
               "floor_projections": float(summary["floor_projections"].mean()),
               "boundary_events": float(summary["boundary_events"].mean())}
        if self.val_points > 0 and harness.validation_due(e, self.n_episodes, self.val_points):      # D52 monitor
            val = deterministic_rollout(self.val_env, agent, self.val_starts)
            row.update(val_objective=float(val["objective"].mean()), val_success=float(val["success"].mean()),
                       val_objective_se=standard_error(val["objective"]), val_success_se=standard_error(val["success"]))
        return row

    def run(self, agent, episode: Callable[[int], dict], seed: int, *, label: str, progress_every: int):
        """Run episode(e) -> curve row for e < E with torch seeded by the top-level torch seed of method seed `seed`
        (run_seeds; one thread, deterministic algorithms). Returns (states {"model": agent.state_dict()}, curve, extra
        metadata: obs_dim, env_steps, grad_steps, backend, train_instance, s_per_env_step)."""
        from optkit.learners.training import deterministic, run_episodes

        _, _, torch_top, _ = run_seeds(self.inst.seed, seed)
        start = time.perf_counter()
        with deterministic(torch_top):
            curve = run_episodes(self.n_episodes, episode, label=label, progress_every=progress_every)
        seconds = time.perf_counter() - start
        extra = {"obs_dim": self.env.obs_dim, "env_steps": self.env_steps, "grad_steps": agent.grad_steps,
                 "backend": self.backend, "train_instance": {"preset": self.inst.preset, "seed": int(self.inst.seed)},
                 "s_per_env_step": seconds / max(self.env_steps, 1)}
        return {"model": agent.state_dict()}, curve, extra


# ------------------------------------------------------------------------------------------------ evaluation
def load_policy(agent, model: dict):
    """`agent` (built with a replay of 1) with the stored networks of `model` loaded: the trained policy."""
    agent.load_state_dict(model)
    return agent


def standard_error(values: np.ndarray) -> float:
    """Standard error of the mean of values (n,): sample std (ddof 1) / sqrt(n); 0 for n < 2."""
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1) / np.sqrt(values.size)) if values.size > 1 else 0.0


def deterministic_rollout(env: SaginEnv, agent, starts: np.ndarray) -> dict:
    """Fly the deterministic policy (agent.act with epsilon None) from `starts` (N, 3) in `env` to the end;
    env.summary()."""
    env.reset(starts)
    while not env.done:
        idx = np.flatnonzero(env.active)
        act = agent.act(env, idx, None)
        env.step(act["top"], act["direction"], act["target"])
    return env.summary()


def rollout(inst, agent) -> tuple[object, float]:
    """Deterministic rollout of every test UAV with the exact backend (§6.1, §6.4): (Decisions, decision seconds)."""
    env = SaginEnv(inst, "exact")
    env.reset(inst.starts_test)
    seconds = 0.0
    while not env.done:
        idx = np.flatnonzero(env.active)
        start = time.perf_counter()
        act = agent.act(env, idx, None)
        seconds += time.perf_counter() - start
        env.step(act["top"], act["direction"], act["target"])
    return env.decisions(), seconds


# ------------------------------------------------------------------------------------------------ entry points
def entry_points(method: str, *, config_of: Callable, train_on: Callable, greedy_policy: Callable, sources):
    """The registry's solve and train of one learner id: its table in _learners.toml resolved for the budget
    (harness.learner_config), checked by config_of(config) -> the learner's dataclass; train_on(inst, config, seed,
    progress_every=, label=) -> (states, curve, extra) trains on a cache miss (harness.obtain, code version of
    `sources`); greedy_policy(config, obs_dim, base_seed, run_seed, model_state) -> the trained deterministic agent."""

    def fit(training_set, config: dict, seed: int, progress: bool):
        inst = G.generate(training_set.params, int(config["base_seed"]), training_set.preset)
        return train_on(inst, config, seed, label=f"{method} {training_set.preset}",
                        progress_every=int(config["progress_every"]) if progress else 0)

    def solve(inst, *, seed: int = 0, time_limit: float | None = None, budget: str = "quick",
              checkpoint: str | None = None, episodes: int | None = None) -> Solution:
        """Deterministic rollouts of the trained model from the instance's test starts (exact backend); trains on
        a cache miss on the instance's training preset (train.preset) with the instance's seed. episodes overrides
        the number of training episodes. time_limit is accepted and unused (training is excluded from it)."""
        if checkpoint is None:
            harness.check_preset_instance(inst)
        config = harness.learner_config(FAMILY, method, budget, inst.seed, {"episodes": episodes})
        config_of(config)
        got = harness.obtain(FAMILY, method, training_preset(inst), config, seed, sources, fit, checkpoint=checkpoint)
        meta = got["meta"]
        harness.stored_config(config_of, meta, checkpoint)
        obs_dim = inst.n_bs + 4
        if int(meta["obs_dim"]) != obs_dim:
            raise InputError(f"{method}: the model takes {meta['obs_dim']} observation entries, the instance gives "
                             f"{obs_dim}")
        agent = greedy_policy(meta["config"], obs_dim, int(meta["config"]["base_seed"]), int(meta["seed"]),
                              got["states"]["model"])
        from optkit.learners.training import single_thread

        with single_thread():
            decisions, seconds = rollout(inst, agent)
        info = {"method_seed": seed, "train_s": meta["train_s"], "cache_hit": got["cache_hit"],
                "checkpoint": got["path"], "budget": meta["budget"], "episodes": meta["episodes"],
                "curve": meta["curve"], "train_preset": meta["preset"], "env_steps": meta.get("env_steps"),
                "grad_steps": meta.get("grad_steps"), "backend": meta.get("backend")}
        return Solution(family=FAMILY, method=method, status=Status.FEASIBLE, decisions=decisions, runtime_s=seconds,
                        info=info)

    def train(family: str, scenario: str, point: str | None = None, *, seed: int = 0, budget: str = "quick",
              out: str | None = None, base_seed: int = 0, episodes: int | None = None, progress: bool = True) -> dict:
        """Train (or fetch from the cache) on the preset's instance of seed `base_seed`, method seed `seed`:
        {path, train_s, episodes, curve, cache_hit, wall_s}."""
        preset = harness.training_preset(FAMILY, method, family, scenario, point)
        config = harness.learner_config(FAMILY, method, budget, base_seed, {"episodes": episodes})
        config_of(config)
        return harness.train_cached(FAMILY, method, preset, config, seed, sources, fit, out=out, progress=progress)

    return harness.name_entry_points(method, solve, train)
