"""Plain DQN core (CleanRL-style): MLP Q-network, masked max target, uniform replay, hard target sync.

Family-agnostic; the rules follow §7.1 of docs/families/leo-handover.md (`dqn`, `dqn-listingA`) and §11:
* y = clip(r) + γ·where(done, 0, max_{a' valid in s'} Q_θ⁻(s', a')), invalid slots filled with −1e9 before the
  max (a terminal s' has an all-zero mask; `torch.where` keeps its −1e9 out of y, so no NaN/−inf arithmetic);
* loss MSE(Q_θ(s, a), y), Adam, no gradient clipping, no double DQN, no dueling; on the CPU the update is computed
  in numpy on views of the torch parameters (`update_backend`, learners/numpy_update.py), on other devices by
  autograd and torch's Adam (fused kernel where available);
* the global decision-step counter t counts every stored transition (t = 1, 2, ...); once the buffer holds
  ≥ learning_starts transitions, one gradient step after every decision step with t % train_every == 0;
* hard target copy θ⁻ ← θ after every `target_sync_episodes`-th episode;
* ε-greedy (the learners' one masked ε-greedy, `optkit.learners.schedules.epsilon_greedy`) and replay sampling share
  ONE numpy generator (the run seed's); the network initialization uses torch's global RNG (seed it before building).

The environment used by `run_dqn_episode` has `reset(spec) -> (obs, info)` and
`step(a) -> (obs, reward, terminated, truncated, info)`, info["mask"] (M,) being the mask of the returned
observation (all zeros at termination) and info["terminated"] set by `reset` when there is no decision step.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from optkit.learners.numpy_update import NumpyDQNUpdate
from optkit.learners.qnet import MASK_VALUE
from optkit.learners.replay import ReplayMemory
from optkit.learners.schedules import epsilon_greedy
from optkit.learners.tabular import greedy_action, linear_episode_epsilon



@dataclass(frozen=True)
class DQNConfig:
    """Hyperparameters of one DQN learner (defaults: `dqn` of §7.1; `DQNConfig.listing_a()` gives `dqn-listingA`)."""

    hidden: tuple = (128, 128)
    """Hidden layer widths of the MLP (ReLU after each)."""
    lr: float = 1e-4
    """Adam learning rate (default betas)."""
    gamma: float = 0.99
    """Discount factor γ."""
    buffer: int = 10_000
    """Replay capacity (transitions, FIFO)."""
    batch: int = 32
    """Minibatch size of one gradient step (uniform draws with replacement)."""
    learning_starts: int = 1000
    """No gradient step while the buffer holds fewer transitions than this."""
    train_every: int = 4
    """One gradient step after every decision step t with t % train_every == 0 (paper budget: 1)."""
    target_sync_episodes: int = 10
    """Hard copy θ⁻ ← θ after every this-many-th training episode."""
    reward_clip: float = 1.0
    """Stored rewards are clipped to [−reward_clip, reward_clip]."""
    eps_schedule: str = "linear"
    """Either "linear" (per episode, eps_start → eps_end over the run) or "listingA" (eps_start·eps_decay^t, floor eps_floor)."""
    eps_start: float = 1.0
    """ε of the first episode ("linear") or of decision step t = 0 ("listingA"; exploration prob. min(1, ε))."""
    eps_end: float = 0.05
    """ε of the last episode ("linear" only)."""
    eps_decay: float = 0.998
    """Per-decision-step factor ("listingA" only)."""
    eps_floor: float = 0.1
    """Lower bound of ε ("listingA" only)."""
    update_backend: str = "auto"
    """Where the gradient step is computed: "torch" (autograd + torch Adam), "numpy" (the same update written out
    in numpy on views of the torch parameters, several times faster for these small networks on a CPU; see
    learners/numpy_update.py) or "auto" (numpy on the CPU, torch on other devices)."""

    @classmethod
    def listing_a(cls, **overrides) -> "DQNConfig":
        """`dqn-listingA` of §7.1: replay 20,000, batch 64, ε = max(0.1, 1.2·0.998^t); overrides applied last."""
        return replace(cls(buffer=20_000, batch=64, eps_schedule="listingA", eps_start=1.2), **overrides)


def plain_qnet(n_obs: int, n_actions: int, hidden=(128, 128)) -> nn.Sequential:
    """Linear(n_obs, h1) – ReLU – ... – Linear(h_last, n_actions), PyTorch default init. (B, n_obs) -> (B, n_actions)."""
    layers, width = [], int(n_obs)
    for h in hidden:
        layers += [nn.Linear(width, int(h)), nn.ReLU()]
        width = int(h)
    layers.append(nn.Linear(width, int(n_actions)))
    return nn.Sequential(*layers)


def masked_max(q: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """max over the last axis of q (..., A) among slots with mask true (invalid -> −1e9); an all-zero mask gives −1e9."""
    return torch.where(mask.bool(), q, torch.full_like(q, MASK_VALUE)).max(dim=-1).values


def dqn_targets(q_next_target: torch.Tensor, reward: torch.Tensor, done: torch.Tensor, next_mask: torch.Tensor,
                gamma: float) -> torch.Tensor:
    """y (B,) = reward + γ·where(done, 0, masked_max(Q_θ⁻(s'), next_mask)). q_next_target (B, A); reward (B,)
    float; done (B,) bool (or 0/1); next_mask (B, A) bool or 0/1."""
    best = masked_max(q_next_target, next_mask)
    return reward + gamma * torch.where(done.bool(), torch.zeros_like(best), best)


def adam(params, lr: float) -> torch.optim.Adam:
    """Adam with default betas/eps; the fused kernel where torch supports it for these parameters (CPU from
    torch 2.4; about 20 % less time per DQN update than the default for-loop kernel), else the default one.
    Same algorithm either way; float rounding may differ in the last bits between the two kernels."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except RuntimeError:            # torch < 2.4 on CPU: "`fused=True` requires ... supported devices"
        return torch.optim.Adam(params, lr=lr)


class DQNLearner:
    """Online and target Q-networks, Adam, a replay memory, the global decision-step counter t and the numpy rng.

    n_obs D, n_actions M; rng: numpy Generator (or seed) shared by ε-greedy draws and replay sampling;
    torch_seed: if given, `torch.manual_seed(torch_seed)` right before the network is built; device "cpu"/"cuda".
    """

    def __init__(self, n_obs: int, n_actions: int, config: DQNConfig | None = None,
                 rng: np.random.Generator | int = 0, *, torch_seed: int | None = None, device: str = "cpu"):
        self.config = config or DQNConfig()
        if self.config.eps_schedule not in ("linear", "listingA"):
            raise ValueError(f"unknown eps_schedule {self.config.eps_schedule!r}")
        self.n_obs, self.n_actions = int(n_obs), int(n_actions)
        self.device = torch.device(device)
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if torch_seed is not None:
            torch.manual_seed(int(torch_seed))
        self.online = plain_qnet(self.n_obs, self.n_actions, self.config.hidden).to(self.device)
        self._layers = None     # numpy views of the online parameters (CPU forward pass of q_values)
        self.target = copy.deepcopy(self.online)
        self.target.requires_grad_(False)
        backend = self.config.update_backend
        if backend not in ("auto", "torch", "numpy"):
            raise ValueError(f"unknown update_backend {backend!r}")
        if backend == "numpy" and self.device.type != "cpu":
            raise ValueError("update_backend 'numpy' needs device 'cpu'")
        self._numpy_update = None
        if backend == "numpy" or (backend == "auto" and self.device.type == "cpu"):
            self._numpy_update = NumpyDQNUpdate(self.online, self.target, self.config.lr)
            self.optimizer = None
        else:
            self.optimizer = adam(self.online.parameters(), self.config.lr)
        self.memory = ReplayMemory(self.config.buffer, {
            "obs": ((self.n_obs,), np.float32),
            "action": ((), np.int64),
            "reward": ((), np.float32),
            "next_obs": ((self.n_obs,), np.float32),
            "done": ((), np.bool_),
            "next_mask": ((self.n_actions,), np.bool_),
        }, self.rng)
        self.t = 0              # decision steps observed over the whole run
        self.grad_steps = 0     # gradient steps taken
        self.target_syncs = 0   # hard target copies made

    # ------------------------------------------------------------------------------------------ acting
    def epsilon(self, e: int, n_episodes: int) -> float:
        """ε for the next decision: "linear": eps_start → eps_end over episodes e = 0..n_episodes−1;
        "listingA": max(eps_floor, eps_start·eps_decay^t) with t the decision steps observed so far."""
        c = self.config
        if c.eps_schedule == "linear":
            return linear_episode_epsilon(e, n_episodes, c.eps_start, c.eps_end)
        return max(c.eps_floor, c.eps_start * c.eps_decay ** self.t)

    @torch.no_grad()
    def q_values(self, obs) -> np.ndarray:
        """Q_θ(obs) of one observation (D,) -> (M,) float32 numpy. On the CPU the forward pass runs in numpy on
        views of the parameters (they share memory, so every optimizer step and load is seen): a single
        observation costs about a tenth of torch's per-call overhead."""
        x = np.asarray(obs, dtype=np.float32)
        if self.device.type == "cpu":
            if self._layers is None:
                self._layers = self._numpy_layers()
            layers = self._layers
            for weight, bias in layers[:-1]:
                x = np.maximum(weight @ x + bias, 0.0)
            weight, bias = layers[-1]
            return weight @ x + bias
        return self.online(torch.as_tensor(x, device=self.device).unsqueeze(0))[0].cpu().numpy()

    def _numpy_layers(self) -> list:
        """(weight (out, in), bias (out,)) numpy views of the online network's Linear layers."""
        linear = [m for m in self.online if isinstance(m, nn.Linear)]
        return [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in linear]

    def act(self, obs, mask, epsilon: float) -> int:
        """ε-greedy over the valid slots of mask (M,) (`schedules.epsilon_greedy`): u = rng.random(); u ≤ ε: a
        uniform valid slot (rng.integers); else the lowest-index argmax of Q_θ(obs) over valid slots (forward pass
        only then)."""
        return epsilon_greedy(None, mask, float(epsilon), self.rng, greedy=lambda: self.greedy(obs, mask))

    def greedy(self, obs, mask) -> int:
        """Lowest-index argmax of Q_θ(obs) over the valid slots of mask (M,); uses no randomness."""
        return greedy_action(self.q_values(obs), mask)

    # ------------------------------------------------------------------------------------------ learning
    def observe(self, obs, a: int, r: float, next_obs, next_mask, done: bool) -> float | None:
        """Store (obs, a, clip(r), next_obs, done, next_mask), count t += 1 and, once the buffer holds
        ≥ learning_starts transitions and t % train_every == 0, take one gradient step (returns its loss)."""
        c = self.config
        self.memory.add(obs=obs, action=a, reward=float(np.clip(r, -c.reward_clip, c.reward_clip)),
                        next_obs=next_obs, done=bool(done), next_mask=np.asarray(next_mask).astype(bool))
        self.t += 1
        if len(self.memory) >= c.learning_starts and self.t % c.train_every == 0:
            return self.train_step()
        return None

    def train_step(self) -> float:
        """One Adam step on the MSE of Q_θ(s, a) against `dqn_targets` over a uniform minibatch; returns the loss."""
        sample = self.memory.sample(self.config.batch)
        if self._numpy_update is not None:
            loss = self._numpy_update.step(sample, self.config.gamma)
            self.grad_steps += 1
            return loss
        b = {k: torch.from_numpy(v).to(self.device) for k, v in sample.items()}
        q_taken = self.online(b["obs"]).gather(1, b["action"].unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            y = dqn_targets(self.target(b["next_obs"]), b["reward"], b["done"], b["next_mask"], self.config.gamma)
        loss = F.mse_loss(q_taken, y)
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.grad_steps += 1
        return float(loss.item())

    @property
    def optimizer_steps(self) -> int:
        """Adam steps actually taken, by the optimizer's own counter (0 before the first step)."""
        if self._numpy_update is not None:
            return self._numpy_update.adam.t
        state = self.optimizer.state
        p = next(self.online.parameters())
        return int(state[p]["step"]) if p in state else 0

    def sync_target(self) -> None:
        """θ⁻ ← θ (hard copy)."""
        self.target.load_state_dict(self.online.state_dict())
        self.target_syncs += 1

    def end_episode(self, e: int) -> bool:
        """Call after training episode e (0-based, also for skipped episodes): hard sync when
        (e + 1) % target_sync_episodes == 0. Returns whether it synced."""
        if (int(e) + 1) % self.config.target_sync_episodes == 0:
            self.sync_target()
            return True
        return False

    # ------------------------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Networks, optimizer and counters (tensors only; loadable with torch.load(weights_only=True)).
        The replay memory and the numpy rng are not included."""
        if self._numpy_update is not None:
            adam_state = self._numpy_update.state()
            optimizer = {"m": [torch.from_numpy(m) for m in adam_state["m"]],
                         "v": [torch.from_numpy(v) for v in adam_state["v"]], "t": torch.tensor(adam_state["t"])}
        else:
            optimizer = self.optimizer.state_dict()
        return {"online": self.online.state_dict(), "target": self.target.state_dict(),
                "optimizer": optimizer, "t": torch.tensor(self.t),
                "grad_steps": torch.tensor(self.grad_steps), "target_syncs": torch.tensor(self.target_syncs)}

    def load_state_dict(self, state: dict) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        optimizer = state["optimizer"]
        numpy_state = isinstance(optimizer, dict) and "m" in optimizer
        if self._numpy_update is not None and numpy_state:
            self._numpy_update.load_state({"m": [m.numpy() for m in optimizer["m"]],
                                           "v": [v.numpy() for v in optimizer["v"]], "t": int(optimizer["t"])})
        elif self._numpy_update is None and not numpy_state:
            self.optimizer.load_state_dict(optimizer)
        else:
            raise ValueError("checkpoint optimizer state was written by the other update backend")
        self.t = int(state["t"])
        self.grad_steps = int(state["grad_steps"])
        self.target_syncs = int(state.get("target_syncs", 0))


def run_dqn_episode(env, spec, learner: DQNLearner, e: int, n_episodes: int) -> dict:
    """Training episode e of n_episodes: act ε-greedily, observe every transition, then `learner.end_episode(e)`.
    Returns {"return": Σ r (raw, unclipped), "steps": decision steps}; an episode whose reset reports
    terminated has no step (0 / 0) but still counts (end_episode is called)."""
    obs, info = env.reset(spec)
    total, steps = 0.0, 0
    if not info.get("terminated", False):
        mask = info["mask"]
        while True:
            a = learner.act(obs, mask, learner.epsilon(e, n_episodes))
            next_obs, r, terminated, truncated, info = env.step(a)
            learner.observe(obs, a, r, next_obs, info["mask"], terminated)
            total += float(r)
            steps += 1
            if terminated or truncated:
                break
            obs, mask = next_obs, info["mask"]
    learner.end_episode(e)
    return {"return": total, "steps": steps}
