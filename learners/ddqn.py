"""Double-DQN core for synchronous batched environments (docs/families/sagin.md §7.1 top level, §7.2 `drl`; Table II).

Family-agnostic. One learner = online network Q(·; ω), target network Q(·; ω'), Adam, a uniform replay memory
and a numpy generator; all N agents of a synchronous environment act in ONE forward pass (`act_batch`) and share
the networks and the memory (CTDE with parameter sharing, sagin §7, §11 decision 23).

* target (double DQN): a* = argmax over valid a of Q(s', a; ω) (online net, stored mask of s', ties: lowest
  index), y = r + γ (1 − done) Q(s', a*; ω') (target net); loss mean (y − Q(s, a; ω))² over a uniform
  mini-batch; Adam with torch's defaults; no gradient clipping (§7.1 step 6);
* hard copy ω' ← ω after every `target_period`-th gradient step;
* warm-up: while the memory holds fewer than `learning_starts` transitions `act_batch` draws uniform valid actions
  and `update` does nothing; afterwards exactly one gradient step per `update()` call (the caller calls it once
  per environment step, §7.1 step 9);
* ε per episode (§7.1 step 7): ε_e = max(ε_end, ε_start · (ε_end/ε_start)^(k e / E)), k = `eps_reach_divisor`;
  with (0.5, 0.05, 3) this is the §7.1 schedule max(0.05, 0.5 · 0.1^(3e/E)), reaching 0.05 after E/3 episodes;
* `update_backend`: "numpy" (the same update written out in numpy on views of the torch parameters,
  learners/numpy_update.py; several times faster for these small networks on a CPU), "torch" (autograd + torch
  Adam) or "auto" (numpy on the CPU). tests/learners/test_ddqn_core.py checks the two against each other.

Randomness: ε-greedy draws, warm-up actions and replay sampling use the numpy generator `rng`; the network
initialisation uses torch's global RNG, seeded by `torch_seed` right before the networks are built.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F

from optkit.learners.d3ql import double_dqn_targets
from optkit.learners.dqn import adam, plain_qnet
from optkit.learners.numpy_update import NumpyDQNUpdate, backward, forward, linear_views
from optkit.learners.qnet import MASK_VALUE
from optkit.learners.replay import ReplayMemory


@dataclass(frozen=True)
class DDQNConfig:
    """Hyperparameters of one double-DQN learner (defaults: sagin Table II / §7.1)."""

    hidden: tuple = (128, 64)
    """Hidden layer widths (ReLU after each; sagin §7: (128, 64))."""
    lr: float = 5e-4
    """Adam learning rate η1 (sagin Table II: 0.0005)."""
    gamma: float = 0.97
    """Discount factor γ1 (sagin Table II: 0.97)."""
    buffer: int = 50_000
    """Replay capacity (transitions, FIFO; sagin Table II: 50 000)."""
    batch: int = 128
    """Mini-batch size (uniform draws with replacement; sagin Table II: 128)."""
    target_period: int = 200
    """Hard copy ω' ← ω after every this-many-th gradient step (sagin Table II: 200)."""
    learning_starts: int = 1000
    """Warm-up: uniform random actions and no gradient step while the memory holds fewer transitions (§7.1: 1000)."""
    eps_start: float = 0.5
    """ε of the first episode (sagin Table II: 0.5)."""
    eps_end: float = 0.05
    """Floor of ε (sagin Table II: 0.05)."""
    eps_reach_divisor: float = 3.0
    """ε reaches eps_end after E / eps_reach_divisor episodes (sagin §7.1 step 7: a third of the run)."""
    update_backend: str = "auto"
    """"numpy", "torch" or "auto" (numpy on the CPU, torch elsewhere)."""


def episode_epsilon(e: int, n_episodes: int, start: float = 0.5, end: float = 0.05, divisor: float = 3.0) -> float:
    """ε of training episode e (0-based) of n_episodes: max(end, start · (end/start)^(divisor·e/E)); for the
    defaults the §7.1 schedule max(0.05, 0.5 · 0.1^(3e/E)) (sagin §7.1 step 7, check 33)."""
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    if start <= 0 or end <= 0 or end > start:
        raise ValueError(f"epsilon schedule needs 0 < end <= start, got start={start}, end={end}")
    return max(float(end), float(start) * (float(end) / float(start)) ** (float(divisor) * int(e) / int(n_episodes)))


def masked_argmax(q: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Lowest-index argmax over the last axis among valid entries. q (..., A), mask like q (bool) or None."""
    if mask is None:
        return np.argmax(q, axis=-1)
    return np.argmax(np.where(mask, q, MASK_VALUE), axis=-1)


class NumpyDoubleDQNUpdate(NumpyDQNUpdate):
    """The double-DQN gradient step in numpy on views of the torch parameters (see NumpyDQNUpdate)."""

    def step(self, batch: dict, gamma: float) -> float:
        """batch: obs (B, D), action (B,), reward (B,), next_obs (B, D), done (B,) float 0/1, next_mask (B, A).
        Returns the loss before the step."""
        q_next_online, _ = forward(self.online, batch["next_obs"])
        best = masked_argmax(q_next_online, batch["next_mask"])                          # a* (B,)
        q_next_target, _ = forward(self.target, batch["next_obs"])
        rows = np.arange(best.shape[0])
        y = batch["reward"] + gamma * (1.0 - batch["done"]) * q_next_target[rows, best]
        q, inputs = forward(self.online, batch["obs"])
        error = q[rows, batch["action"]] - y
        grad_out = np.zeros_like(q)
        grad_out[rows, batch["action"]] = (2.0 / q.shape[0]) * error                    # d mean((q − y)²) / dq
        backward(self.online, inputs, grad_out.astype(np.float32, copy=False), self.grad_views)
        self.adam.step(self.grad)
        return float(np.mean(error * error))


class DDQNLearner:
    """Batched double-DQN learner (see the module docstring).

    obs_dim D, n_actions A; rng: numpy Generator (or seed) for ε-greedy, warm-up actions and replay sampling;
    torch_seed: `torch.manual_seed(torch_seed)` right before the networks are built (if given)."""

    def __init__(self, obs_dim: int, n_actions: int, config: DDQNConfig | None = None,
                 rng: np.random.Generator | int = 0, *, torch_seed: int | None = None, device: str = "cpu"):
        c = self.config = config or DDQNConfig()
        if c.update_backend not in ("auto", "numpy", "torch"):
            raise ValueError(f"unknown update_backend {c.update_backend!r}")
        self.obs_dim, self.n_actions = int(obs_dim), int(n_actions)
        self.device = torch.device(device)
        if c.update_backend == "numpy" and self.device.type != "cpu":
            raise ValueError("update_backend 'numpy' needs device 'cpu'")
        self.rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        if torch_seed is not None:
            torch.manual_seed(int(torch_seed))
        self.online = plain_qnet(self.obs_dim, self.n_actions, c.hidden).to(self.device)
        self.target = copy.deepcopy(self.online)
        self.target.requires_grad_(False)
        self._numpy = None
        self.optimizer = None
        if c.update_backend == "numpy" or (c.update_backend == "auto" and self.device.type == "cpu"):
            self._numpy = NumpyDoubleDQNUpdate(self.online, self.target, c.lr)
        else:
            self.optimizer = adam(self.online.parameters(), c.lr)
        self._layers = linear_views(self.online) if self.device.type == "cpu" else None
        self.memory = ReplayMemory(c.buffer, {
            "obs": ((self.obs_dim,), np.float32),
            "action": ((), np.int64),
            "reward": ((), np.float32),
            "next_obs": ((self.obs_dim,), np.float32),
            "done": ((), np.float32),
            "next_mask": ((self.n_actions,), np.bool_),
        }, self.rng)
        self.t = 0              # transitions stored
        self.grad_steps = 0     # gradient steps taken
        self.target_syncs = 0   # hard copies made

    # ------------------------------------------------------------------------------------------ acting
    @property
    def ready(self) -> bool:
        """Whether the warm-up is over (memory holds ≥ learning_starts transitions)."""
        return len(self.memory) >= self.config.learning_starts

    def epsilon(self, e: int, n_episodes: int) -> float:
        """ε of training episode e of n_episodes (`episode_epsilon` with this config)."""
        c = self.config
        return episode_epsilon(e, n_episodes, c.eps_start, c.eps_end, c.eps_reach_divisor)

    @torch.no_grad()
    def q_values(self, obs) -> np.ndarray:
        """Q(obs; ω) (N, A) float32 for observations (N, D) (numpy forward pass on the CPU)."""
        x = np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_dim)
        if self._layers is not None:
            return forward(self._layers, x)[0]
        return self.online(torch.as_tensor(x, device=self.device)).cpu().numpy()

    def greedy(self, obs, mask=None) -> np.ndarray:
        """Lowest-index argmax of Q(obs) over valid actions: (N,) int64; mask (N, A) bool or None."""
        return masked_argmax(self.q_values(obs), mask).astype(np.int64)

    def act_batch(self, obs, epsilon: float, mask=None) -> np.ndarray:
        """ε-greedy actions (N,) int64 for observations (N, D): agent i explores when u_i < ε (u ~ U(0,1) drawn for
        all N first), then picks a uniform valid action (one more uniform draw each); the others act greedily.
        During the warm-up every agent picks a uniform valid action. mask (N, A) bool or None (all valid)."""
        obs = np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_dim)
        n = obs.shape[0]
        valid = np.ones((n, self.n_actions), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        count = valid.sum(axis=1)
        if np.any(count == 0):
            raise ValueError("act_batch: an agent has no valid action")
        explore = self.rng.random(n) < (1.0 if not self.ready else float(epsilon))
        pick = np.minimum((self.rng.random(n) * count).astype(np.int64), count - 1)      # k-th valid action
        random_action = np.argmax(np.cumsum(valid, axis=1) > pick[:, None], axis=1)
        if explore.all():
            return random_action.astype(np.int64)
        return np.where(explore, random_action, self.greedy(obs, valid)).astype(np.int64)

    # ------------------------------------------------------------------------------------------ learning
    def observe_batch(self, obs, action, reward, next_obs, done, next_mask=None) -> None:
        """Store N transitions (leading axis N). done = termination only (time-limit truncation is bootstrapped);
        next_mask (N, A) bool: valid actions at s' (None: all valid)."""
        obs = np.asarray(obs, dtype=np.float32).reshape(-1, self.obs_dim)
        n = obs.shape[0]
        if next_mask is None:
            next_mask = np.ones((n, self.n_actions), dtype=bool)
        self.memory.add_batch(obs=obs, action=np.asarray(action, np.int64).reshape(n),
                              reward=np.asarray(reward, np.float32).reshape(n),
                              next_obs=np.asarray(next_obs, np.float32).reshape(n, self.obs_dim),
                              done=np.asarray(done, bool).reshape(n).astype(np.float32),
                              next_mask=np.asarray(next_mask, bool).reshape(n, self.n_actions))
        self.t += n

    def update(self) -> dict:
        """One gradient step on a uniform mini-batch (and the hard copy when due); {} during the warm-up.
        Returns {"loss": float before the step, "q": mean Q(s, a) of the batch}."""
        if not self.ready:
            return {}
        c = self.config
        b = self.memory.sample(c.batch)
        if self._numpy is not None:
            loss = self._numpy.step(b, c.gamma)
        else:
            t = {k: torch.from_numpy(v).to(self.device) for k, v in b.items()}
            q_taken = self.online(t["obs"]).gather(1, t["action"].unsqueeze(1)).squeeze(1)
            with torch.no_grad():
                y = double_dqn_targets(self.online(t["next_obs"]), self.target(t["next_obs"]), t["reward"],
                                       c.gamma * (1.0 - t["done"]), t["next_mask"])
            loss_t = F.mse_loss(q_taken, y)
            self.optimizer.zero_grad()
            loss_t.backward()
            self.optimizer.step()
            loss = float(loss_t.item())
        self.grad_steps += 1
        if self.grad_steps % c.target_period == 0:
            self.sync_target()
        return {"loss": loss}

    def sync_target(self) -> None:
        """ω' ← ω (hard copy, in place: the numpy views of the target stay valid)."""
        self.target.load_state_dict(self.online.state_dict())
        self.target_syncs += 1

    # ------------------------------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """Networks, optimizer state and counters (tensors only; loadable with torch.load(weights_only=True)).
        The replay memory and the numpy rng are not included."""
        if self._numpy is not None:
            s = self._numpy.state()
            optimizer = {"m": [torch.from_numpy(s["m"][0])], "v": [torch.from_numpy(s["v"][0])],
                         "t": torch.tensor(s["t"])}
        else:
            optimizer = self.optimizer.state_dict()
        return {"online": self.online.state_dict(), "target": self.target.state_dict(), "optimizer": optimizer,
                "t": torch.tensor(self.t), "grad_steps": torch.tensor(self.grad_steps),
                "target_syncs": torch.tensor(self.target_syncs)}

    def load_state_dict(self, state: dict, *, networks_only: bool = False) -> None:
        """Load `state_dict()` output; networks_only: only the online and target networks (acting)."""
        with torch.no_grad():                      # copy in place: the numpy views keep pointing at the weights
            for name in ("online", "target"):
                own = getattr(self, name).state_dict()
                for key, value in state[name].items():
                    own[key].copy_(value)
        if networks_only:
            return
        optimizer = state["optimizer"]
        numpy_state = isinstance(optimizer, dict) and "m" in optimizer
        if self._numpy is not None and numpy_state:
            self._numpy.load_state({"m": [optimizer["m"][0].numpy()], "v": [optimizer["v"][0].numpy()],
                                    "t": int(optimizer["t"])})
        elif self._numpy is None and not numpy_state:
            self.optimizer.load_state_dict(optimizer)
        else:
            raise ValueError("checkpoint optimizer state was written by the other update backend")
        self.t = int(state["t"])
        self.grad_steps = int(state["grad_steps"])
        self.target_syncs = int(state["target_syncs"])
