"""Soft actor-critic core (CleanRL `sac_continuous_action.py` style) with the Lagrangian constrained variant (CSAC).

Family-agnostic; the rules follow docs/families/sagin.md §7.1 (lower level of `ddqn_csac`) and §11 items 19, 20, 22:
* actor: obs -> (μ, log σ), log σ clipped to [−20, 2]; a = tanh(u), u = μ + σ ξ, ξ ~ N(0, I) (reparameterised);
  log π(a|s) = Σ_j [log N(u_j; μ_j, σ_j) − log(1 − tanh²(u_j) + 1e−6)] (change of variables, §7.1 step 6);
  actions are returned in [−1, 1]^A (the caller scales them, e.g. by ΔP = 1);
* twin critics Q(s, a; θ_i), i = 1, 2, with Polyak targets θ'_i ← τ θ_i + (1 − τ) θ'_i after every gradient step;
  y = r̃ + γ (1 − done)(min_i Q(s', a'; θ'_i) − α log π(a'|s')), a' ~ π(·|s'); loss Σ_i mean (Q(s, a; θ_i) − y)²;
* actor loss mean(α log π(ã|s) − min_i Q(s, ã; θ_i) [+ Σ_k λ_k Q_c,k(s, ã)]), ã reparameterised;
* automatic temperature: loss mean(−log α · (log π(ã|s) + H_target)), H_target = −dim(A) by default (§11.20);
* CSAC (n_costs K > 0): multipliers λ_k ← clip(λ_k + η_λ (mean_batch g_k − d_k), 0, λ_max) once per gradient step
  from the mini-batch mean cost (§7.1 step 6, §11.19). Two ways to bring them into the policy (`constraint_mode`):
  "penalised_reward" (the §7.1 form, default): r̃ = r − Σ_k λ_k g_k with the current multipliers, no cost
  critics; "cost_critics": r̃ = r, one cost critic Q_c,k per constraint (with a Polyak target, TD target
  g_k + γ (1 − done) Q_c,k(s', a'; θ'_c,k)) and the actor loss adds Σ_k λ_k Q_c,k(s, ã).
* one gradient step per `update()` call (critics, cost critics, actor, temperature, soft targets, multipliers; the
  multipliers move last, so the step's r̃ uses the values from before it); `update()` does nothing while the
  buffer holds fewer than `learning_starts` transitions, and `act()` draws uniform random actions until then.

Backends (`SACConfig.update_backend`): on the CPU the gradient step is computed in numpy on views of the torch
parameters (learners/numpy_sac.py: the same algorithm, noise and step order written out; about 3x faster at the
sagin sizes on one thread, benchmarks/results/sac_update.md), on other devices by autograd and torch's Adam.
Checkpoints have the same format in both (the numpy Adam moments are written as torch.optim.Adam state) and load
into either.

Randomness: replay sampling and warm-up actions use the numpy generator `rng`; the network initialisation uses
torch's global RNG (seeded by `torch_seed` when given); the policy noise ξ uses the learner's own torch.Generator
(seeded from `torch_seed`, else from `rng`), so acting and updating do not depend on outside torch draws; both
update backends draw it alike (ξ' of the critic target, then ξ of the actor loss, (B, A) each), so a run is
deterministic in either backend and the two backends differ only by float32 rounding.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from optkit.learners.dqn import adam, plain_qnet
from optkit.learners.numpy_sac import NumpySACUpdate
from optkit.learners.replay import ReplayMemory

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0   # log σ clip (sagin §7.1 step 3)
TANH_EPS = 1e-6                         # inside log(1 − tanh²(u) + eps) (sagin §7.1 step 6)


@dataclass(frozen=True)
class SACConfig:
    """Hyperparameters of one SAC / CSAC learner (defaults: sagin §7.1 table; CleanRL's where §7.1 is silent)."""

    hidden: tuple = (128, 64)
    """Hidden layer widths of actor and critics (ReLU after each; sagin §7: (128, 64))."""
    actor_lr: float = 3e-4
    """Adam learning rate of the actor (sagin §7.1: 3e−4)."""
    critic_lr: float = 3e-4
    """Adam learning rate of the reward critics and cost critics (sagin §7.1: 3e−4; CleanRL 1e−3)."""
    alpha_lr: float = 3e-4
    """Adam learning rate of log α (sagin §7.1: 3e−4)."""
    gamma: float = 0.99
    """Discount factor γ2 (sagin §7.1: 0.99)."""
    tau: float = 0.005
    """Polyak factor of the soft target update θ' ← τ θ + (1 − τ) θ' (sagin §7.1: 0.005)."""
    buffer: int = 50_000
    """Replay capacity (transitions, FIFO; sagin §7.1: 50 000)."""
    batch: int = 128
    """Minibatch size of one gradient step (uniform draws with replacement; sagin §7.1: 128)."""
    learning_starts: int = 1000
    """Warm-up: uniform random actions and no gradient step while the buffer holds fewer transitions (§7.1: 1000)."""
    alpha: float = 0.2
    """Initial temperature α (fixed when autotune is False; sagin §7.1: 0.2)."""
    autotune: bool = True
    """Learn α by the temperature loss mean(−log α (log π + H_target)) (sagin §7.1; CleanRL default True)."""
    target_entropy: float | None = None
    """H_target; None means −dim(A) (sagin §11.20: −3 for the 3-D direction)."""
    cost_limits: tuple = ()
    """Thresholds d_k, one per constraint; () means 0 for every constraint (sagin: d_qos = 0, d_bnd = 0.01)."""
    lambda_init: float = 0.0
    """Initial multipliers λ_k (sagin §7.1: 0)."""
    lambda_lr: float = 1e-3
    """Step size η_λ of the projected ascent λ ← clip(λ + η_λ (mean g − d), 0, λ_max) (sagin §7.1: 1e−3)."""
    lambda_max: float = 100.0
    """Upper clip λ_max of the multipliers (sagin §7.1: 100)."""
    constraint_mode: str = "penalised_reward"
    """How the multipliers enter the policy: "penalised_reward" (r̃ = r − Σ λ_k g_k in the critic target, sagin §7.1)
    or "cost_critics" (one cost critic per constraint, actor loss + Σ λ_k Q_c,k)."""
    update_backend: str = "auto"
    """Where the gradient step is computed: "torch" (autograd + torch Adam), "numpy" (the same step written out in
    numpy on views of the torch parameters, several times faster for these small networks on a CPU; see
    learners/numpy_sac.py) or "auto" (numpy on the CPU, torch on other devices)."""


class Actor(nn.Module):
    """Squashed-Gaussian policy: trunk MLP -> (μ (B, A), log σ (B, A)), log σ clipped to [−20, 2]."""

    def __init__(self, obs_dim: int, act_dim: int, hidden=(128, 64)):
        super().__init__()
        layers, width = [], int(obs_dim)
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        self.trunk = nn.Sequential(*layers)
        self.fc_mean = nn.Linear(width, int(act_dim))
        self.fc_logstd = nn.Linear(width, int(act_dim))

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """obs (B, D) -> (μ (B, A), log σ (B, A))."""
        x = self.trunk(obs)
        return self.fc_mean(x), torch.clamp(self.fc_logstd(x), LOG_STD_MIN, LOG_STD_MAX)

    def get_action(self, obs: torch.Tensor, generator: torch.Generator | None = None):
        """Reparameterised sample: (a = tanh(u) (B, A), log π(a|s) (B,), tanh(μ) (B, A))."""
        mean, log_std = self(obs)
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        u = mean + log_std.exp() * noise
        return torch.tanh(u), squashed_log_prob(u, mean, log_std), torch.tanh(mean)


def squashed_log_prob(u: torch.Tensor, mean: torch.Tensor, log_std: torch.Tensor) -> torch.Tensor:
    """log π(tanh(u)) (B,) of the pre-squash sample u (B, A) under N(μ, σ²) with the tanh change of variables:
    Σ_j [log N(u_j; μ_j, σ_j) − log(1 − tanh²(u_j) + 1e−6)] (sagin §7.1 step 6)."""
    normal = -0.5 * ((u - mean) / log_std.exp()) ** 2 - log_std - 0.5 * math.log(2.0 * math.pi)
    return (normal - torch.log(1.0 - torch.tanh(u) ** 2 + TANH_EPS)).sum(dim=-1)


class QNetwork(nn.Module):
    """Q(s, a): MLP on the concatenation [obs (B, D), act (B, A)] -> (B,)."""

    def __init__(self, obs_dim: int, act_dim: int, hidden=(128, 64)):
        super().__init__()
        self.net = plain_qnet(int(obs_dim) + int(act_dim), 1, hidden)

    def forward(self, obs: torch.Tensor, act: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([obs, act], dim=-1)).squeeze(-1)


@torch.no_grad()
def polyak_update(target: nn.Module, online: nn.Module, tau: float) -> None:
    """θ' ← τ θ + (1 − τ) θ' for every parameter pair (sagin §7.1 soft target update)."""
    for tp, p in zip(target.parameters(), online.parameters()):
        tp.mul_(1.0 - tau).add_(p, alpha=tau)


def project_multipliers(lam: np.ndarray, mean_cost: np.ndarray, limits: np.ndarray, lr: float,
                        lam_max: float) -> np.ndarray:
    """One projected dual-ascent step λ ← clip(λ + η_λ (mean g − d), 0, λ_max) (sagin §7.1 step 6). All (K,)."""
    return np.clip(lam + lr * (mean_cost - limits), 0.0, lam_max)


class SACLearner:
    """Actor, twin critics + targets, temperature, replay memory and (n_costs > 0) the CSAC multipliers.

    obs_dim D, act_dim A, n_costs K; rng: numpy Generator (or seed) for replay sampling and warm-up actions;
    torch_seed: if given, `torch.manual_seed(torch_seed)` right before the networks are built and the seed of the
    policy-noise generator; device "cpu"/"cuda".
    """

    def __init__(self, obs_dim: int, act_dim: int, config: SACConfig | None = None,
                 rng: np.random.Generator | int = 0, *, torch_seed: int | None = None, device: str = "cpu",
                 n_costs: int = 0):
        c = self.config = config or SACConfig()
        if c.constraint_mode not in ("penalised_reward", "cost_critics"):
            raise ValueError(f"unknown constraint_mode {c.constraint_mode!r}")
        if c.update_backend not in ("auto", "torch", "numpy"):
            raise ValueError(f"unknown update_backend {c.update_backend!r}")
        self.obs_dim, self.act_dim, self.n_costs = int(obs_dim), int(act_dim), int(n_costs)
        if c.cost_limits and len(c.cost_limits) != self.n_costs:
            raise ValueError(f"cost_limits has {len(c.cost_limits)} entries for {self.n_costs} costs")
        self.device = torch.device(device)
        if c.update_backend == "numpy" and self.device.type != "cpu":
            raise ValueError("update_backend 'numpy' needs device 'cpu'")
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if torch_seed is not None:
            torch.manual_seed(int(torch_seed))
        noise_seed = int(torch_seed) if torch_seed is not None else int(self.rng.integers(2**62))
        self.generator = torch.Generator(device=self.device).manual_seed(noise_seed)

        hid = c.hidden
        self.actor = Actor(self.obs_dim, self.act_dim, hid).to(self.device)
        self.qf1 = QNetwork(self.obs_dim, self.act_dim, hid).to(self.device)
        self.qf2 = QNetwork(self.obs_dim, self.act_dim, hid).to(self.device)
        self.qf1_target, self.qf2_target = self._target(self.qf1), self._target(self.qf2)
        self.cost_critics = nn.ModuleList()
        if self.n_costs and c.constraint_mode == "cost_critics":
            self.cost_critics = nn.ModuleList(QNetwork(self.obs_dim, self.act_dim, hid)
                                              for _ in range(self.n_costs)).to(self.device)
        self.cost_targets = self._target(self.cost_critics)
        self.q_optimizer = adam(list(self.qf1.parameters()) + list(self.qf2.parameters()), c.critic_lr)
        self.actor_optimizer = adam(self.actor.parameters(), c.actor_lr)
        self.cost_optimizer = adam(self.cost_critics.parameters(), c.critic_lr) if len(self.cost_critics) else None
        self.target_entropy = float(-self.act_dim if c.target_entropy is None else c.target_entropy)
        self.log_alpha = torch.tensor([math.log(c.alpha)], device=self.device, requires_grad=True)
        self.alpha_optimizer = adam([self.log_alpha], c.alpha_lr) if c.autotune else None
        self.cost_limits = np.asarray(c.cost_limits or [0.0] * self.n_costs, dtype=np.float64)
        self._lambda = np.full(self.n_costs, float(c.lambda_init), dtype=np.float64)
        # numpy backend: the torch optimizers are kept for their state_dict format only (never stepped)
        self._numpy = None
        if c.update_backend == "numpy" or (c.update_backend == "auto" and self.device.type == "cpu"):
            self._numpy = NumpySACUpdate(self)

        self.memory = ReplayMemory(c.buffer, {
            "obs": ((self.obs_dim,), np.float32),
            "action": ((self.act_dim,), np.float32),
            "reward": ((), np.float32),
            "costs": ((self.n_costs,), np.float32),
            "next_obs": ((self.obs_dim,), np.float32),
            "done": ((), np.float32),
        }, self.rng)
        self.t = 0              # transitions observed
        self.grad_steps = 0     # gradient steps taken

    def __getstate__(self) -> dict:
        """copy.deepcopy and pickle: the numpy backend's views would not survive a copy, so its Adam moments travel
        in torch format and `__setstate__` rebuilds it on the copy's parameters."""
        state = self.__dict__.copy()
        if self._numpy is not None:
            state["_numpy"] = {name: self._numpy.optimizer_state_dict(name, getattr(self, name))
                               for name in self._numpy.groups}
        return state

    def __setstate__(self, state: dict) -> None:
        moments = state.get("_numpy")
        self.__dict__.update(state, _numpy=None)
        if moments is not None:
            self._numpy = NumpySACUpdate(self)
            for name, optimizer_state in moments.items():
                self._numpy.load_optimizer_state_dict(name, getattr(self, name), optimizer_state)

    @staticmethod
    def _target(module: nn.Module) -> nn.Module:
        target = copy.deepcopy(module)
        target.requires_grad_(False)
        return target

    # ------------------------------------------------------------------------------------------ properties
    @property
    def alpha(self) -> float:
        """Current temperature α = exp(log α)."""
        return float(self.log_alpha.exp().item())

    @property
    def multipliers(self) -> np.ndarray:
        """Lagrange multipliers λ (K,) float64 (a copy)."""
        return self._lambda.copy()

    def set_multipliers(self, values) -> None:
        """Set λ (K,) from outside (e.g. an on-policy per-episode dual step, sagin D48; use lambda_lr = 0 so that
        the gradient steps leave them alone)."""
        values = np.asarray(values, dtype=np.float64).reshape(self.n_costs)
        self._lambda = np.clip(values, 0.0, self.config.lambda_max)

    @property
    def ready(self) -> bool:
        """Whether the warm-up is over (buffer holds ≥ learning_starts transitions)."""
        return len(self.memory) >= self.config.learning_starts

    # ------------------------------------------------------------------------------------------ acting
    @torch.no_grad()
    def act(self, obs, deterministic: bool = False) -> np.ndarray:
        """Action (A,) float32 in [−1, 1] for one observation (D,): tanh(μ) if deterministic; else a uniform
        random action (numpy rng) during warm-up, a squashed-Gaussian sample afterwards."""
        if not deterministic and not self.ready:
            return self.rng.uniform(-1.0, 1.0, size=self.act_dim).astype(np.float32)
        x = torch.as_tensor(np.asarray(obs, dtype=np.float32), device=self.device).unsqueeze(0)
        if deterministic:
            return torch.tanh(self.actor(x)[0])[0].cpu().numpy()
        return self.actor.get_action(x, self.generator)[0][0].cpu().numpy()

    @torch.no_grad()
    def act_batch(self, obs, deterministic: bool = False) -> np.ndarray:
        """Actions (N, A) float32 in [−1, 1] for observations (N, D), one batched forward pass (the synchronous
        UAVs of a CTDE environment share the policy): tanh(μ) if deterministic; uniform random during warm-up;
        squashed-Gaussian samples afterwards."""
        obs = np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_dim)
        if not deterministic and not self.ready:
            return self.rng.uniform(-1.0, 1.0, size=(obs.shape[0], self.act_dim)).astype(np.float32)
        x = torch.as_tensor(obs, device=self.device)
        if deterministic:
            return torch.tanh(self.actor(x)[0]).cpu().numpy()
        return self.actor.get_action(x, self.generator)[0].cpu().numpy()

    # ------------------------------------------------------------------------------------------ learning
    def observe_batch(self, obs, action, reward, next_obs, done, costs=None) -> None:
        """Store N transitions at once (leading axis N; same as N `observe` calls in order)."""
        obs = np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_dim)
        n = obs.shape[0]
        if self.n_costs and costs is None:
            raise ValueError("observe_batch: costs needed for a constrained learner")
        costs = np.zeros((n, 0), np.float32) if costs is None else np.asarray(costs, np.float32).reshape(n, -1)
        self.memory.add_batch(obs=obs, action=np.asarray(action, np.float32).reshape(n, self.act_dim),
                              reward=np.asarray(reward, np.float32).reshape(n), costs=costs,
                              next_obs=np.asarray(next_obs, np.float32).reshape(n, self.obs_dim),
                              done=np.asarray(done, bool).reshape(n).astype(np.float32))
        self.t += n

    def observe(self, obs, action, reward: float, next_obs, done: bool, costs=None) -> None:
        """Store one transition; done = termination only (time-limit truncation is bootstrapped, sagin §7.1 step 4).
        costs (K,) is required when n_costs > 0."""
        if self.n_costs and costs is None:
            raise ValueError("observe: costs needed for a constrained learner")
        self.memory.add(obs=obs, action=action, reward=float(reward),
                        costs=np.zeros(0) if costs is None else np.asarray(costs, dtype=np.float32),
                        next_obs=next_obs, done=float(bool(done)))
        self.t += 1

    def update(self) -> dict:
        """One gradient step on critics, actor, α and (CSAC) cost critics and multipliers; {} during warm-up.
        Returns floats: qf_loss, qf1, [cost_loss], actor_loss, [alpha_loss], alpha, [mean_cost_k, lambda_k]."""
        if not self.ready:
            return {}
        c = self.config
        sample = self.memory.sample(c.batch)
        if self._numpy is not None:
            # the policy noise of a' then ã, drawn as the torch path draws it (same generator, shape and order)
            shape, dtype = (c.batch, self.act_dim), self.actor.fc_mean.weight.dtype
            xi_next = torch.randn(shape, generator=self.generator, dtype=dtype).numpy()
            xi = torch.randn(shape, generator=self.generator, dtype=dtype).numpy()
            out = self._numpy.step(sample, xi_next, xi, self._lambda.astype(np.float32))
            out["alpha"] = self.alpha
            costs = torch.from_numpy(sample["costs"])
        else:
            b = {k: torch.from_numpy(v).to(self.device) for k, v in sample.items()}
            out = self._torch_step(b)
            costs = b["costs"]

        # the multipliers last (from the mini-batch mean cost)
        if self.n_costs:
            mean_cost = costs.mean(dim=0).double().cpu().numpy()
            self._lambda = project_multipliers(self._lambda, mean_cost, self.cost_limits, c.lambda_lr, c.lambda_max)
            for k in range(self.n_costs):
                out[f"mean_cost_{k}"] = float(mean_cost[k])
                out[f"lambda_{k}"] = float(self._lambda[k])
        self.grad_steps += 1
        return out

    def _torch_step(self, b: dict) -> dict:
        """Critics, cost critics, actor, α and soft target updates by autograd and torch Adam on the minibatch b
        (tensors on the device)."""
        c = self.config
        alpha = self.log_alpha.exp().detach()
        lam = torch.as_tensor(self._lambda, dtype=torch.float32, device=self.device)
        penalised = self.n_costs > 0 and c.constraint_mode == "penalised_reward"
        reward = b["reward"] - (b["costs"] @ lam if penalised else 0.0)          # r̃ (B,)

        # critics: y = r̃ + γ (1 − done)(min_i Q'_i(s', a') − α log π(a'|s'))
        with torch.no_grad():
            next_a, next_logp, _ = self.actor.get_action(b["next_obs"], self.generator)
            min_next = torch.min(self.qf1_target(b["next_obs"], next_a), self.qf2_target(b["next_obs"], next_a))
            y = reward + c.gamma * (1.0 - b["done"]) * (min_next - alpha * next_logp)
        qf1_a, qf2_a = self.qf1(b["obs"], b["action"]), self.qf2(b["obs"], b["action"])
        qf_loss = F.mse_loss(qf1_a, y) + F.mse_loss(qf2_a, y)
        self.q_optimizer.zero_grad()
        qf_loss.backward()
        self.q_optimizer.step()
        out = {"qf_loss": float(qf_loss.item()), "qf1": float(qf1_a.mean().item())}

        # cost critics: y_c,k = g_k + γ (1 − done) Q'_c,k(s', a')  ("cost_critics" mode only)
        if self.cost_optimizer is not None:
            with torch.no_grad():
                y_c = [b["costs"][:, k] + c.gamma * (1.0 - b["done"]) * qc(b["next_obs"], next_a)
                       for k, qc in enumerate(self.cost_targets)]
            cost_loss = sum(F.mse_loss(qc(b["obs"], b["action"]), y_c[k]) for k, qc in enumerate(self.cost_critics))
            self.cost_optimizer.zero_grad()
            cost_loss.backward()
            self.cost_optimizer.step()
            out["cost_loss"] = float(cost_loss.item())

        # actor: mean(α log π(ã|s) − min_i Q_i(s, ã) + Σ_k λ_k Q_c,k(s, ã))
        pi, logp, _ = self.actor.get_action(b["obs"], self.generator)
        actor_loss = alpha * logp - torch.min(self.qf1(b["obs"], pi), self.qf2(b["obs"], pi))
        for k, qc in enumerate(self.cost_critics):
            actor_loss = actor_loss + lam[k] * qc(b["obs"], pi)
        actor_loss = actor_loss.mean()
        self.actor_optimizer.zero_grad()
        actor_loss.backward()
        self.actor_optimizer.step()
        out["actor_loss"] = float(actor_loss.item())

        # temperature: mean(−log α (log π(ã|s) + H_target))
        if self.alpha_optimizer is not None:
            alpha_loss = (-self.log_alpha * (logp.detach() + self.target_entropy)).mean()
            self.alpha_optimizer.zero_grad()
            alpha_loss.backward()
            self.alpha_optimizer.step()
            out["alpha_loss"] = float(alpha_loss.item())
        out["alpha"] = self.alpha

        # soft target updates
        polyak_update(self.qf1_target, self.qf1, c.tau)
        polyak_update(self.qf2_target, self.qf2, c.tau)
        polyak_update(self.cost_targets, self.cost_critics, c.tau)
        return out

    # ------------------------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Networks, optimizers, log α, multipliers, noise-generator state and counters (tensors only; loadable with
        torch.load(weights_only=True)). The replay memory and the numpy rng are not included."""
        state = {"actor": self.actor.state_dict(), "qf1": self.qf1.state_dict(), "qf2": self.qf2.state_dict(),
                 "qf1_target": self.qf1_target.state_dict(), "qf2_target": self.qf2_target.state_dict(),
                 "cost_critics": self.cost_critics.state_dict(), "cost_targets": self.cost_targets.state_dict(),
                 "q_optimizer": self._optimizer_state("q_optimizer"),
                 "actor_optimizer": self._optimizer_state("actor_optimizer"),
                 "log_alpha": self.log_alpha.detach().clone(), "multipliers": torch.from_numpy(self._lambda.copy()),
                 "generator": self.generator.get_state(), "t": torch.tensor(self.t),
                 "grad_steps": torch.tensor(self.grad_steps)}
        if self.alpha_optimizer is not None:
            state["alpha_optimizer"] = self._optimizer_state("alpha_optimizer")
        if self.cost_optimizer is not None:
            state["cost_optimizer"] = self._optimizer_state("cost_optimizer")
        return state

    def _optimizer_state(self, name: str) -> dict:
        """torch.optim.Adam state_dict of optimizer `name` (from the numpy moments in the numpy backend)."""
        optimizer = getattr(self, name)
        return optimizer.state_dict() if self._numpy is None else self._numpy.optimizer_state_dict(name, optimizer)

    def _load_optimizer_state(self, name: str, state: dict) -> None:
        optimizer = getattr(self, name)
        if self._numpy is None:
            optimizer.load_state_dict(state)
        else:
            self._numpy.load_optimizer_state_dict(name, optimizer, state)

    def load_state_dict(self, state: dict) -> None:
        """Restore a `state_dict` (written by either update backend)."""
        for name in ("actor", "qf1", "qf2", "qf1_target", "qf2_target", "cost_critics", "cost_targets"):
            getattr(self, name).load_state_dict(state[name])
        for name in ("q_optimizer", "actor_optimizer", "alpha_optimizer", "cost_optimizer"):
            if getattr(self, name) is not None:
                self._load_optimizer_state(name, state[name])
        with torch.no_grad():
            self.log_alpha.copy_(state["log_alpha"])
        self._lambda = state["multipliers"].double().numpy().copy()
        self.generator.set_state(state["generator"])
        self.t = int(state["t"])
        self.grad_steps = int(state["grad_steps"])
