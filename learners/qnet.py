"""Q-network building blocks: MLP trunk, dueling head, branching dueling head, action masking.

Shapes: a plain Q-network maps a batch (B, ...) to (B, A); a branching network (D15 of
docs/families/allocate.md) maps it to (B, n_branches, A), one |A|-way branch per sub-action.
"""
from __future__ import annotations

import torch
from torch import nn

MASK_VALUE = -1e9   # Q-value of invalid actions before every masked argmax and max, in every learner (allocate §7.2.5)


def mlp(sizes, activation=nn.LeakyReLU, final_activation: bool = True) -> nn.Sequential:
    """Fully connected layers sizes[0] -> sizes[1] -> ...; `activation` after every layer (also the last one
    when final_activation). LeakyReLU uses PyTorch's default slope 0.01."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if final_activation or i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


class DuelingHead(nn.Module):
    """Q(o,a) = V(o) + A(o,a) - mean_{a'} A(o,a'), the mean over the WHOLE action set (allocate §7.2.1),
    valid or not. features (B, F) -> Q (B, n_actions)."""

    def __init__(self, n_features: int, n_actions: int):
        super().__init__()
        self.value = nn.Linear(n_features, 1)
        self.advantage = nn.Linear(n_features, n_actions)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        adv = self.advantage(features)
        return self.value(features) + adv - adv.mean(dim=-1, keepdim=True)


class BranchingDuelingHead(nn.Module):
    """One shared value V(o) and one advantage head per branch (Decision D15):
    Q_n(o,a) = V(o) + A_n(o,a) - mean_a A_n(o,·). features (B, F) -> Q (B, n_branches, n_actions).
    forward(features, prior=None): `prior` (B, n_branches, n_actions) is added to the advantages before the mean
    is taken (allocate D32's stay prior)."""

    def __init__(self, n_features: int, n_branches: int, n_actions: int):
        super().__init__()
        self.n_branches, self.n_actions = int(n_branches), int(n_actions)
        self.value = nn.Linear(n_features, 1)
        self.advantage = nn.Linear(n_features, self.n_branches * self.n_actions)

    def forward(self, features: torch.Tensor, prior: torch.Tensor | None = None) -> torch.Tensor:
        adv = self.advantage(features).view(-1, self.n_branches, self.n_actions)
        if prior is not None:
            adv = adv + prior
        return self.value(features).unsqueeze(-1) + adv - adv.mean(dim=-1, keepdim=True)


class QHead(nn.Module):
    """Plain (non-dueling) linear Q head: features (B, F) -> Q (B, n_actions)."""

    def __init__(self, n_features: int, n_actions: int):
        super().__init__()
        self.q = nn.Linear(n_features, n_actions)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.q(features)


class MLPQNet(nn.Module):
    """Vector observation (B, n_obs) -> MLP trunk (hidden sizes, LeakyReLU) -> dueling or plain head (B, n_actions)."""

    def __init__(self, n_obs: int, n_actions: int, hidden=(512, 256, 128), dueling: bool = True):
        super().__init__()
        self.trunk = mlp([int(n_obs), *hidden], activation=nn.LeakyReLU)
        head = DuelingHead if dueling else QHead
        self.head = head(hidden[-1], int(n_actions))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.trunk(obs))


def masked(q: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Q-values with invalid actions (mask False) replaced by MASK_VALUE; mask broadcasts against q."""
    if mask is None:
        return q
    return torch.where(mask, q, torch.full_like(q, MASK_VALUE))


def masked_argmax(q: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """argmax over the last axis among valid actions (ties: lowest index). q (..., A) -> (...) int64."""
    return masked(q, mask).argmax(dim=-1)
