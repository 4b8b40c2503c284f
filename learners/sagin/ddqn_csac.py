"""The hierarchical learner `ddqn-csac` of the sagin family (§7.1) and its ablations (§7.5), which are configurations
of it: a top level choosing the serving BS (association) above a lower level choosing the flight direction.

| method         | top (association)                         | lower (direction)                               |
|----------------|-------------------------------------------|-------------------------------------------------|
| `ddqn-csac`    | "ddqn": DDQN Remain/Switch (§7.1)         | "csac": Lagrangian constrained SAC (§7.1)       |
| `rsrp-csac`    | "rsrp": argmax RSRP at q(n) (§7.5)        | "csac"                                          |
| `maxrate-csac` | "maxrate": argmax rate at q(n) (§7.5)     | "csac"                                          |
| `ddqn-sac`     | "ddqn"                                    | "sac": SAC on r̃ = r^low − 1.0 g^qos − 1.0 g^bnd |
| `ddqn-sl`      | "ddqn"                                    | "straight": v = x̂(n), no learning (§7.5)        |

Reads top to bottom: the configuration (`DdqnCsacConfig`, every value from datasets/sagin/_learners.toml), the agent
(act, observe, update, the D48 multiplier step), the training loop, the greedy policy and the registry entry points.
The training environment, the D52 validation monitor, the exact-backend test rollout and the entry-point plumbing are
shared with `drl` (`common`).

Per environment step (§7.1 steps 1-9): one batched forward pass per level; the Switch target is argmax_c
Q(s_n^(c), Remain) over the candidate set (ties: lowest index, §7.1 step 2); all active UAVs step; their transitions
go into one replay per level (arrival terminal, N_max truncation bootstrapped, UAVs that finished produce no more
transitions); then exactly ONE gradient step per learning level (§7.1 step 9). Warm-up: uniform random actions on
both levels until a level's replay holds `learning_starts` transitions (the learner cores do it). ε per episode
(§7.1 step 7), reaching its floor after 80 % of the episodes (D51). CSAC multipliers (D48): not from the replay batch
(the core's per-step rate is 0) but once per training episode, μ_k ← clip(μ_k + η_λ,ep (ḡ_k − d_k), 0, μ_max), ḡ_k
the mean cost over every UAV-step of the last W = ⌈lambda_window_uavs / N_U⌉ training episodes (the behaviour
policy's own costs). The greedy top levels decide b(n+1) from the measurements at q(n), t_n (the env's backend):
RSRP (E22; the cached raster's GN/AN RSRP plus the exact SN RSRP when training) or rate (E21).

`ddqn-sac` (§7.5, D26): fixed penalties are realised by an unconstrained SAC (n_costs = 0) fed the penalised reward
r^low − p_qos g^qos − p_bnd g^bnd with (p_qos, p_bnd) = `fixed_penalty` (1.0, 1.0) — no multiplier update.
Section (§), equation (E) and decision (D) numbers refer to docs/families/sagin.md.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from optkit.errors import InputError
from optkit.formulations.sagin.env import REMAIN, SWITCH, SaginEnv
from optkit.learners import ddqn as ddqn_core
from optkit.learners import harness
from optkit.learners import sac as sac_core
from optkit.learners.sagin import common
from optkit.sources import import_closure

TOPS = ("ddqn", "rsrp", "maxrate")
LOWERS = ("csac", "sac", "straight")
# The code a trained model depends on: the learner core and every optkit.formulations / optkit.learners module this
# one imports, transitively (environment, radio model, random fields, generator, learner cores, ...).
SOURCES = list(dict.fromkeys(harness.source_files(*import_closure(__file__))))


# ------------------------------------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class DdqnCsacConfig(common.RunConfig, common.DDQNSettings):
    """Hyperparameters of `ddqn-csac` and its ablations (§7.1 table, Table II, §7.5); values only in _learners.toml.
    The training-run fields (common.RunConfig) and the top DDQN's (common.DDQNSettings: hidden, buffer, batch and
    learning_starts serve the SAC too) come first."""

    top: str                    # association level: "ddqn" | "rsrp" | "maxrate"
    lower: str                  # direction level: "csac" | "sac" | "straight"
    sac_lr: float               # η2: actor, critics, temperature
    sac_gamma: float            # γ2
    tau: float                  # soft target update factor
    alpha_init: float           # initial temperature α_T
    sac_autotune: bool          # learn α by the temperature loss
    target_entropy: float       # H_target (−dim(action), D20)
    sac_constraint_mode: str    # "penalised_reward" (§7.1) or "cost_critics"
    sac_update_backend: str     # SAC gradient step: "auto" | "numpy" | "torch"
    lambda_init: float          # initial multipliers μ_k
    lambda_lr: float            # η_λ,ep: one projected dual step per training episode (D48)
    lambda_window_uavs: int     # W = ⌈lambda_window_uavs / N_U⌉ episodes of costs per dual step (D48)
    lambda_max: float           # μ_max
    d_qos: float                # QoS cost threshold (D19)
    d_bnd: float                # boundary cost threshold (D19)
    fixed_penalty: list         # (p_qos, p_bnd) of lower = "sac" (D26)

    def __post_init__(self):
        if self.top not in TOPS:
            raise InputError(f"top: must be one of {', '.join(TOPS)}, got {self.top!r}")
        if self.lower not in LOWERS:
            raise InputError(f"lower: must be one of {', '.join(LOWERS)}, got {self.lower!r}")


def config_of(config: dict) -> DdqnCsacConfig:
    """The dataclass of a resolved configuration (harness.learner_config): every field set, no other key."""
    return harness.config_from(DdqnCsacConfig, config)


# ------------------------------------------------------------------------------------------------ the agent
class Agent:
    """The two levels of one configuration: `top` (DDQNLearner over {Remain, Switch}, or None for a greedy rule) and
    `low` (SACLearner, or None for the straight line)."""

    def __init__(self, cfg: DdqnCsacConfig, obs_dim: int, base_seed: int, run_seed: int, *, buffer: int | None = None):
        self.cfg = cfg
        rng_top, rng_low, torch_top, torch_low = common.run_seeds(base_seed, run_seed)
        self.top = None
        if cfg.top == "ddqn":
            self.top = ddqn_core.DDQNLearner(obs_dim, 2, cfg.ddqn_config(buffer), rng_top, torch_seed=torch_top)
        self.low = None
        if cfg.lower in ("csac", "sac"):
            constrained = cfg.lower == "csac"
            sac = sac_core.SACConfig(
                hidden=tuple(int(h) for h in cfg.hidden), actor_lr=float(cfg.sac_lr), critic_lr=float(cfg.sac_lr),
                alpha_lr=float(cfg.sac_lr), gamma=float(cfg.sac_gamma), tau=float(cfg.tau),
                buffer=int(buffer or cfg.buffer), batch=int(cfg.batch),
                learning_starts=int(cfg.learning_starts), alpha=float(cfg.alpha_init),
                autotune=bool(cfg.sac_autotune), target_entropy=float(cfg.target_entropy),
                constraint_mode=str(cfg.sac_constraint_mode), update_backend=str(cfg.sac_update_backend),
                cost_limits=(float(cfg.d_qos), float(cfg.d_bnd)) if constrained else (),
                lambda_init=float(cfg.lambda_init), lambda_lr=0.0,              # D48: per episode, dual_step
                lambda_max=float(cfg.lambda_max))
            self.low = sac_core.SACLearner(obs_dim, 3, sac, rng_low, torch_seed=torch_low,
                                           n_costs=2 if constrained else 0)

    def epsilon(self, e: int, n_episodes: int) -> float:
        """ε of training episode e of E (the top DDQN's schedule, §7.1 step 7, D51); 0 without a DDQN."""
        return self.top.epsilon(e, n_episodes) if self.top is not None else 0.0

    def act(self, env: SaginEnv, idx: np.ndarray, epsilon: float | None) -> dict:
        """Actions of the active UAVs idx (K,) at the env's current step; epsilon None = deterministic policy.
        Returns the env's (top (N,), direction (N, 3), target (N,)) plus what the transitions need: s (K, D),
        top actions (K,), s1 (K, D) the lower level's state, lower actions (K, 3)."""
        N, explore = env.n_uavs, epsilon is not None
        s = env.observation()[idx]
        if self.top is not None:                                              # §7.1 steps 1-2
            top = np.zeros(N, dtype=np.int64)
            target = env.b.copy()
            a_top = self.top.act_batch(s, epsilon) if explore else self.top.greedy(s)
            sw = idx[a_top == SWITCH]
            if sw.size:
                cand, mask = env.candidate_observations()
                q = self.top.q_values(cand[sw].reshape(-1, env.obs_dim))[:, REMAIN].reshape(sw.size, env.n_bs)
                target[sw] = switch_targets(q, mask[sw])
            top[idx] = a_top
        else:                                                                 # greedy association (§7.5)
            top, target = common.greedy_switch(env, idx, self.cfg.top)
            a_top = top[idx]
        b_next = np.where(top == SWITCH, target, env.b)
        direction = np.zeros((N, 3))
        s1, a_low = s, None
        if self.low is not None:                                              # §7.1 step 3
            s1 = env.observation(serving=b_next)[idx]
            a_low = self.low.act_batch(s1, deterministic=not explore)
            direction[idx] = a_low                                            # ΔP = 1; E24 normalises
        else:                                                                 # straight line x̂(n) (§7.5)
            direction[idx] = env.q_f - env.q[idx]
        return {"top": top, "direction": direction, "target": target, "s": s, "a_top": a_top, "s1": s1,
                "a_low": a_low}

    def observe(self, env: SaginEnv, idx: np.ndarray, act: dict, res) -> None:
        """Store the step's transitions of the UAVs idx that acted (§7.1 step 5); done = arrival only."""
        s_next, done = res.obs[idx], res.terminated[idx]
        if self.top is not None:
            self.top.observe_batch(act["s"], act["a_top"], res.r_top[idx], s_next, done)
        if self.cfg.lower == "csac":
            costs = np.stack([res.g_qos[idx], res.g_bnd[idx]], axis=1)
            self.low.observe_batch(act["s1"], act["a_low"], res.r_low[idx], s_next, done, costs)
        elif self.cfg.lower == "sac":                                         # fixed penalties (D26)
            p_qos, p_bnd = (float(x) for x in self.cfg.fixed_penalty)
            reward = res.r_low[idx] - p_qos * res.g_qos[idx] - p_bnd * res.g_bnd[idx]
            self.low.observe_batch(act["s1"], act["a_low"], reward, s_next, done)

    def update(self) -> None:
        """Exactly one gradient step per learning level (no-op during its warm-up), §7.1 step 9."""
        if self.top is not None:
            self.top.update()
        if self.low is not None:
            self.low.update()

    def dual_step(self, mean_costs: np.ndarray) -> None:
        """D48: one projected dual-ascent step of the CSAC multipliers from the on-policy mean costs (ḡ_qos, ḡ_bnd)
        of the last W training episodes; no-op for the other lower levels."""
        if self.cfg.lower == "csac":
            limits = np.array([float(self.cfg.d_qos), float(self.cfg.d_bnd)])
            mu = sac_core.project_multipliers(self.low.multipliers, np.asarray(mean_costs, dtype=float), limits,
                                              float(self.cfg.lambda_lr), float(self.cfg.lambda_max))
            self.low.set_multipliers(mu)

    def multipliers(self) -> tuple[float, float]:
        """(μ_qos, μ_bnd): the CSAC multipliers, the fixed penalties of `sac`, (0, 0) for the straight line."""
        if self.cfg.lower == "csac":
            return tuple(float(x) for x in self.low.multipliers)
        if self.cfg.lower == "sac":
            return tuple(float(x) for x in self.cfg.fixed_penalty)
        return 0.0, 0.0

    @property
    def alpha(self) -> float:
        """SAC temperature α_T (0 for the straight line)."""
        return float(self.low.alpha) if self.low is not None else 0.0

    @property
    def grad_steps(self) -> int:
        return max([m.grad_steps for m in (self.top, self.low) if m is not None] or [0])

    def state_dict(self) -> dict:
        return {"top": self.top.state_dict() if self.top is not None else {},
                "low": self.low.state_dict() if self.low is not None else {}}

    def load_state_dict(self, state: dict) -> None:
        if self.top is not None:
            self.top.load_state_dict(state["top"], networks_only=True)
        if self.low is not None:
            self.low.load_state_dict(state["low"])


def switch_targets(q_remain: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Switch rule of §7.1 step 2: argmax over candidates c (mask (K, B) bool) of Q(s^(c), Remain) (K, B);
    ties: lowest index. Returns (K,) int64."""
    return np.argmax(np.where(mask, q_remain, -np.inf), axis=1).astype(np.int64)


# ------------------------------------------------------------------------------------------------ training
def train_on(inst, config: dict, seed: int, *, progress_every: int = 0, label: str = "train"):
    """Train the configuration `config` (resolved _learners.toml table) on instance `inst` (its seed S = base seed,
    its training starts) with method seed `seed`. Returns (states {"model": ...}, curve, extra metadata); the curve
    rows are common.TrainingRun.row's, with (mu_qos, mu_bnd) the CSAC multipliers after the episode (the fixed
    penalties of `sac`, 0 for `straight`), alpha the SAC temperature (0 without SAC), epsilon 0 without a DDQN."""
    cfg = config_of(config)
    run = common.TrainingRun(inst, cfg)
    agent = Agent(cfg, run.env.obs_dim, inst.seed, seed)
    window = deque(maxlen=math.ceil(int(cfg.lambda_window_uavs) / run.starts.shape[1]))   # W episodes (D48)

    def episode(e: int) -> dict:
        eps = agent.epsilon(e, run.n_episodes)
        summary, steps, uav_steps = run.episode(e, agent, eps)        # act, step, observe, update per env step
        window.append((summary["sum_g_qos"].sum(), summary["sum_g_bnd"].sum(), uav_steps))
        g_qos, g_bnd, n = (float(sum(w[k] for w in window)) for k in range(3))
        agent.dual_step(np.array([g_qos, g_bnd]) / max(n, 1.0))                          # D48
        return run.row(e, agent, summary, eps, steps, agent.multipliers(), agent.alpha)

    return run.run(agent, episode, seed, label=label, progress_every=progress_every)


# ------------------------------------------------------------------------------------------------ greedy policy
def greedy_policy(config: dict, obs_dim: int, base_seed: int, run_seed: int, model: dict) -> Agent:
    """The trained deterministic policy (greedy Q, tanh(μ); act with epsilon None) of a stored model."""
    return common.load_policy(Agent(config_of(config), obs_dim, base_seed, run_seed, buffer=1), model)


# ------------------------------------------------------------------------------------------------ entry points
def _entry_points(method: str):
    return common.entry_points(method, config_of=config_of, train_on=train_on, greedy_policy=greedy_policy,
                               sources=SOURCES)


solve_ddqn_csac, train_ddqn_csac = _entry_points("ddqn-csac")
solve_rsrp_csac, train_rsrp_csac = _entry_points("rsrp-csac")
solve_maxrate_csac, train_maxrate_csac = _entry_points("maxrate-csac")
solve_ddqn_sac, train_ddqn_sac = _entry_points("ddqn-sac")
solve_ddqn_sl, train_ddqn_sl = _entry_points("ddqn-sl")
