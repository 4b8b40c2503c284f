"""Exploration: linear ε decay with a floor and Algorithm 2 (ε-greedy over valid actions, per branch).

allocate spec §7.2.1: ε = 1.0 initially, ε ← max(ε - ε', ε̃) after every decision (ε' = 0.00005, ε̃ = 0.0001).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LinearEpsilon:
    """ε after `steps` decisions: max(start - steps·decrement, floor)."""

    start: float = 1.0
    decrement: float = 0.00005
    floor: float = 0.0001
    steps: int = 0

    @property
    def value(self) -> float:
        return max(self.start - self.steps * self.decrement, self.floor)

    def step(self) -> float:
        """Count one decision; returns the new ε."""
        self.steps += 1
        return self.value


def epsilon_greedy(q: np.ndarray, mask, epsilon: float, rng: np.random.Generator):
    """Algorithm 2. q (A,) -> int, or branching q (n_branches, A) -> (n_branches,) int64, each branch drawn
    independently: ζ ~ U(0,1); ζ > ε: argmax over valid actions (ties: lowest index); else a uniform valid
    action. mask: bool like q, or None (every action valid); each branch needs one valid action."""
    q = np.asarray(q, dtype=float)
    valid = np.ones(q.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if q.ndim == 1:
        return int(_branch(q, valid, epsilon, rng))
    return np.array([_branch(q[i], valid[i], epsilon, rng) for i in range(q.shape[0])], dtype=np.int64)


def _branch(q: np.ndarray, valid: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    options = np.flatnonzero(valid)
    if options.size == 0:
        raise ValueError("epsilon_greedy: no valid action")
    if rng.random() > epsilon:
        return int(options[np.argmax(q[options])])
    return int(options[rng.integers(options.size)])
