"""The direct RL baseline `drl` of the sagin family (§7.2): association by the max large-scale SINR (E23) at q(n),
and one DDQN over the 26 lattice directions m/‖m‖, m ∈ {−1, 0, 1}³ \\ {0}; directions with m·x̂(n) ≤ 0 are masked
in acting and in the double-DQN argmax on s', so the direction rule holds without projection. Reward
r^low − κ_qos max(0, g^qos) − g^bnd (shifted r^low, constraints as fixed penalties, D24).

Reads top to bottom: the configuration (`DrlConfig`, every value from datasets/sagin/_learners.toml), the lattice and
its mask, the agent (act, observe, update), the training loop, the greedy policy and the registry entry points. The
training environment, the D52 validation monitor, the exact-backend test rollout and the entry-point plumbing are
shared with `ddqn_csac` (`common`). Per environment step: one batched forward pass, all active UAVs step, their
transitions go into one replay (arrival terminal, N_max truncation bootstrapped), then exactly ONE gradient step
(no-op during the warm-up of uniform random valid directions); ε per episode, reaching its floor after 80 % of the
episodes (D51).
Section (§), equation (E) and decision (D) numbers refer to docs/families/sagin.md.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optkit.formulations.sagin.env import SaginEnv
from optkit.learners import ddqn as ddqn_core
from optkit.learners import harness
from optkit.learners.sagin import common
from optkit.sources import import_closure

# The code a trained model depends on (see ddqn_csac.SOURCES).
SOURCES = list(dict.fromkeys(harness.source_files(*import_closure(__file__))))
# The 26 lattice directions m ∈ {−1, 0, 1}³ \ {0} (§7.2), in lexicographic order of m.
LATTICE = np.array([(i, j, k) for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1) if (i, j, k) != (0, 0, 0)],
                   dtype=float)
LATTICE_UNIT = LATTICE / np.linalg.norm(LATTICE, axis=1, keepdims=True)


# ------------------------------------------------------------------------------------------------ configuration
@dataclass(frozen=True)
class DrlConfig(common.RunConfig, common.DDQNSettings):
    """Hyperparameters of `drl` (§7.2); values only in _learners.toml. The training-run fields (common.RunConfig)
    and the Table II DDQN settings of the lattice DDQN (common.DDQNSettings) come first."""

    kappa_qos: float            # κ_qos, weight of the QoS penalty in the reward (D24)


def config_of(config: dict) -> DrlConfig:
    """The dataclass of a resolved configuration (harness.learner_config): every field set, no other key."""
    return harness.config_from(DrlConfig, config)


def lattice_mask(q: np.ndarray, q_f: np.ndarray) -> np.ndarray:
    """Valid directions (K, 26) bool at positions q (K, 3) m: m·x̂ > 0 (§7.2). An active UAV is never at q_f (it
    would have arrived), so at least 9 directions are valid."""
    return (np.asarray(q_f, dtype=float) - np.asarray(q, dtype=float).reshape(-1, 3)) @ LATTICE.T > 0.0


# ------------------------------------------------------------------------------------------------ the agent
class Agent:
    """The max-SINR association rule and `low`, the DDQNLearner over LATTICE."""

    def __init__(self, cfg: DrlConfig, obs_dim: int, base_seed: int, run_seed: int, *, buffer: int | None = None):
        self.cfg = cfg
        _, rng_low, _, torch_low = common.run_seeds(base_seed, run_seed)
        self.low = ddqn_core.DDQNLearner(obs_dim, len(LATTICE), cfg.ddqn_config(buffer), rng_low, torch_seed=torch_low)

    def epsilon(self, e: int, n_episodes: int) -> float:
        """ε of training episode e of E (§7.1 step 7, D51)."""
        return self.low.epsilon(e, n_episodes)

    def act(self, env: SaginEnv, idx: np.ndarray, epsilon: float | None) -> dict:
        """Actions of the active UAVs idx (K,) at the env's current step; epsilon None = deterministic policy.
        Returns the env's (top (N,), direction (N, 3), target (N,)) plus what the transition needs: s (K, D) and the
        lattice indices a_low (K,)."""
        top, target = common.greedy_switch(env, idx, "sinr")                 # argmax Γ̄_b at q(n) (E23)
        s = env.observation()[idx]
        mask = lattice_mask(env.q[idx], env.q_f)
        a_low = self.low.act_batch(s, epsilon, mask) if epsilon is not None else self.low.greedy(s, mask)
        direction = np.zeros((env.n_uavs, 3))
        direction[idx] = LATTICE_UNIT[a_low]
        return {"top": top, "direction": direction, "target": target, "s": s, "a_low": a_low}

    def observe(self, env: SaginEnv, idx: np.ndarray, act: dict, res) -> None:
        """Store the step's transitions of the UAVs idx that acted with the penalised reward (D24) and the mask of
        s' (the double-DQN argmax); done = arrival only."""
        reward = res.r_low[idx] - float(self.cfg.kappa_qos) * np.maximum(0.0, res.g_qos[idx]) - res.g_bnd[idx]
        self.low.observe_batch(act["s"], act["a_low"], reward, res.obs[idx], res.terminated[idx],
                               lattice_mask(env.q[idx], env.q_f))

    def update(self) -> None:
        """Exactly one gradient step (no-op during the warm-up)."""
        self.low.update()

    @property
    def grad_steps(self) -> int:
        return self.low.grad_steps

    def state_dict(self) -> dict:
        return {"top": {}, "low": self.low.state_dict()}               # the checkpoint layout of every sagin learner

    def load_state_dict(self, state: dict) -> None:
        self.low.load_state_dict(state["low"], networks_only=True)


# ------------------------------------------------------------------------------------------------ training
def train_on(inst, config: dict, seed: int, *, progress_every: int = 0, label: str = "train"):
    """Train `drl` (config: the resolved _learners.toml table) on instance `inst` (its seed S = base seed, its
    training starts) with method seed `seed`. Returns (states {"model": ...}, curve, extra metadata); the curve rows
    are common.TrainingRun.row's, with (mu_qos, mu_bnd) = (κ_qos, 1) the fixed penalties and alpha 0."""
    cfg = config_of(config)
    run = common.TrainingRun(inst, cfg)
    agent = Agent(cfg, run.env.obs_dim, inst.seed, seed)

    def episode(e: int) -> dict:
        eps = agent.epsilon(e, run.n_episodes)
        summary, steps, _ = run.episode(e, agent, eps)                # act, step, observe, update per env step
        return run.row(e, agent, summary, eps, steps, (float(cfg.kappa_qos), 1.0), 0.0)

    return run.run(agent, episode, seed, label=label, progress_every=progress_every)


# ------------------------------------------------------------------------------------------------ greedy policy
def greedy_policy(config: dict, obs_dim: int, base_seed: int, run_seed: int, model: dict) -> Agent:
    """The trained deterministic policy (greedy masked Q; act with epsilon None) of a stored model."""
    return common.load_policy(Agent(config_of(config), obs_dim, base_seed, run_seed, buffer=1), model)


# ------------------------------------------------------------------------------------------------ entry points
solve_drl, train_drl = common.entry_points("drl", config_of=config_of, train_on=train_on, greedy_policy=greedy_policy,
                                           sources=SOURCES)
