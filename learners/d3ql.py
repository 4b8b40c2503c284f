"""Double-DQN learning core shared by the D3QL / DDQN learners (§7.2.1 and D13 of docs/families/allocate.md).

* target: a* = argmax over VALID actions of Q(o', ·; W) (online net, stored mask of o'),
  y = r + γ_k · Q(o', a*; W⁻) (target net), γ_k the per-transition discount (0 at episode end);
* branching networks (Decision D15): y = r + γ_k · (1/n_branches) Σ_n Q_n(o', a*_n; W⁻) and the loss is the
  mean over branches of (y - Q_n(o, a_n))²;
* loss: MSE over a uniform minibatch; Adam; gradient-norm clipping 10; target copied every 200 gradient steps;
  one gradient step per `train_step` call once the memory holds >= batch_size items.
"""
from __future__ import annotations

import copy
from typing import Callable

import numpy as np
import torch
from torch import nn

from optkit.learners.qnet import masked_argmax
from optkit.learners.schedules import epsilon_greedy


def double_dqn_targets(q_next_online: torch.Tensor, q_next_target: torch.Tensor, reward: torch.Tensor,
                       discount: torch.Tensor, next_mask: torch.Tensor | None = None) -> torch.Tensor:
    """y (B,) from Q(o',·) of the online and target nets, shaped (B, A) or branching (B, n_branches, A);
    reward, discount (B,); next_mask like the Q-values (bool) or None (every action valid)."""
    best = masked_argmax(q_next_online, next_mask)                              # (B,) or (B, n)
    q_best = q_next_target.gather(-1, best.unsqueeze(-1)).squeeze(-1)           # (B,) or (B, n)
    if q_best.dim() == 2:                                                       # branching: mean over branches
        q_best = q_best.mean(dim=1)
    return reward + discount * q_best


def td_loss(net: nn.Module, target_net: nn.Module, batch: dict) -> torch.Tensor:
    """MSE of Q(o, a) against the double-DQN target (no gradient through the target); works for plain
    (action (B,)) and branching (action (B, n_branches)) networks."""
    q = net(batch["obs"])
    q_taken = q.gather(-1, batch["action"].unsqueeze(-1)).squeeze(-1)           # (B,) or (B, n)
    with torch.no_grad():
        y = double_dqn_targets(net(batch["next_obs"]), target_net(batch["next_obs"]), batch["reward"],
                               batch["discount"], batch.get("next_mask"))
    if q_taken.dim() == 2:
        y = y.unsqueeze(1)                                                      # same y for every branch
    return ((y - q_taken) ** 2).mean()


class DQNAgent:
    """Online net W, target net W⁻, Adam, a replay memory and the update rule.

    net: maps an observation batch to (B, A) or (B, n_branches, A). loss_fn(net, target_net, batch) -> scalar
    tensor (default `td_loss`). Observations go through `obs_to_tensor` (float32 tensors by default).
    """

    def __init__(self, net: nn.Module, memory, *, lr: float = 1e-3, batch_size: int = 32, grad_clip: float = 10.0,
                 target_sync: int = 200, loss_fn: Callable = td_loss):
        self.net = net
        self.target_net = copy.deepcopy(net)
        self.target_net.requires_grad_(False)
        self.memory = memory
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.batch_size, self.grad_clip, self.target_sync = int(batch_size), float(grad_clip), int(target_sync)
        self.loss_fn = loss_fn
        self.grad_steps = 0

    @torch.no_grad()
    def q_values(self, obs) -> np.ndarray:
        """Q of a batch of observations (numpy in, numpy out)."""
        return self.net(_tensor(obs)).numpy()

    def act(self, obs, mask, epsilon: float, rng: np.random.Generator):
        """Algorithm 2 on ONE observation (no batch axis): int for a plain net, (n_branches,) ints for a
        branching net; mask (A,) / (n_branches, A) bool or None."""
        q = self.q_values(np.asarray(obs)[None])[0]
        return epsilon_greedy(q, mask, epsilon, rng)

    def train_step(self) -> float | None:
        """One gradient step on a uniform minibatch; None while the memory holds fewer than batch_size items."""
        if len(self.memory) < self.batch_size:
            return None
        batch = {k: _tensor(v) for k, v in self.memory.sample(self.batch_size).items()}
        loss = self.loss_fn(self.net, self.target_net, batch)
        self.optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(self.net.parameters(), self.grad_clip)
        self.optimizer.step()
        self.grad_steps += 1
        if self.grad_steps % self.target_sync == 0:
            self.sync_target()
        return float(loss.item())

    def sync_target(self) -> None:
        self.target_net.load_state_dict(self.net.state_dict())

    def state_dict(self) -> dict:
        return {"net": self.net.state_dict(), "target_net": self.target_net.state_dict(),
                "optimizer": self.optimizer.state_dict(), "grad_steps": torch.tensor(self.grad_steps)}

    def load_state_dict(self, state: dict) -> None:
        self.net.load_state_dict(state["net"])
        self.target_net.load_state_dict(state["target_net"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.grad_steps = int(state["grad_steps"])


def _tensor(value) -> torch.Tensor:
    """numpy -> tensor: floats as float32, ints as int64, bools as bool."""
    array = np.asarray(value)
    if array.dtype == np.bool_:
        return torch.from_numpy(array.copy())
    if np.issubdtype(array.dtype, np.integer):
        return torch.from_numpy(array.astype(np.int64))
    return torch.from_numpy(array.astype(np.float32))
