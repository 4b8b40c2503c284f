"""Exploration: ε schedules and Algorithm 2 (ε-greedy over valid actions, per branch).

* `episode_epsilon` / `EpisodeEpsilon` (allocate D29, the toolkit default): ε_e = max(ε̃, 1 - (1 - ε̃)·e/(reach·E))
  per training episode e of a budget of E episodes: the floor ε̃ is reached at `reach` (0.8) of any budget.
* `LinearEpsilon` (the source paper's per-decision schedule, `eps_schedule = "paper"`): ε = 1.0 initially,
  ε ← max(ε - ε', ε̃) after every decision (ε' = 0.00005, ε̃ = 0.0001).
* `floor_fraction(schedule, E, decisions_per_episode)`: the fraction of a budget after which ε sits at its floor
  (the learning check "floor no earlier than 75 % of every budget").
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


def episode_epsilon(e: int, n_episodes: int, *, start: float = 1.0, floor: float = 0.02,
                    reach: float = 0.8) -> float:
    """ε of training episode e (0-based) in a budget of n_episodes: linear from `start` at e = 0 to `floor` at
    e = reach·n_episodes, then `floor` (allocate D29)."""
    horizon = max(float(reach) * int(n_episodes), 1e-12)
    return max(float(floor), float(start) - (float(start) - float(floor)) * int(e) / horizon)


@dataclass
class EpisodeEpsilon:
    """Per-episode schedule of D29 with the interface of LinearEpsilon: `value` is ε of the current episode;
    `set_episode(e)` moves to episode e; `step()` (one decision) changes nothing."""

    n_episodes: int
    start: float = 1.0
    floor: float = 0.02
    reach: float = 0.8
    episode: int = 0

    @property
    def value(self) -> float:
        return episode_epsilon(self.episode, self.n_episodes, start=self.start, floor=self.floor, reach=self.reach)

    def set_episode(self, e: int) -> None:
        self.episode = int(e)

    def step(self) -> float:
        return self.value

    @property
    def steps(self) -> int:          # checkpoint compatibility with LinearEpsilon: the episode index
        return self.episode

    @steps.setter
    def steps(self, value: int) -> None:
        self.episode = int(value)


def floor_fraction(schedule, n_episodes: int, decisions_per_episode: float = 1.0) -> float:
    """Fraction of a budget of n_episodes after which ε stays at its floor. schedule: an EpisodeEpsilon, or a
    LinearEpsilon whose decisions per episode are given (a measured or nominal count)."""
    if isinstance(schedule, EpisodeEpsilon):
        for e in range(int(n_episodes)):
            if episode_epsilon(e, n_episodes, start=schedule.start, floor=schedule.floor,
                               reach=schedule.reach) <= schedule.floor + 1e-12:
                return e / int(n_episodes)
        return 1.0
    if schedule.decrement <= 0:
        return 1.0
    decisions = max(0.0, (schedule.start - schedule.floor) / schedule.decrement)
    return min(1.0, decisions / max(float(decisions_per_episode), 1e-12) / int(n_episodes))


def epsilon_greedy(q: np.ndarray | None, mask, epsilon: float, rng: np.random.Generator, greedy=None):
    """The masked ε-greedy of every learner (Algorithm 2 of allocate; §7.1 of leo-handover). q (A,) -> int, or
    branching q (n_branches, A) -> (n_branches,) int64, each branch drawn independently: ζ ~ U(0,1); ζ > ε: the
    greedy action, else a uniform valid action (one more draw, rng.integers over the valid actions). The greedy
    action is the lowest-index argmax of q over the valid actions, or greedy() when given (then q may be None:
    a caller that computes Q-values only when it needs them, or a fallback rule of its own). mask: bool or 0/1
    like q, or None (every action valid); each branch needs one valid action. ε ≥ 1 always explores."""
    if greedy is not None:
        return int(_branch(q, np.asarray(mask).astype(bool), epsilon, rng, greedy))
    q = np.asarray(q, dtype=float)
    valid = np.ones(q.shape, dtype=bool) if mask is None else np.asarray(mask).astype(bool)
    if q.ndim == 1:
        return int(_branch(q, valid, epsilon, rng))
    return np.array([_branch(q[i], valid[i], epsilon, rng) for i in range(q.shape[0])], dtype=np.int64)


def _branch(q: np.ndarray | None, valid: np.ndarray, epsilon: float, rng: np.random.Generator, greedy=None) -> int:
    options = np.flatnonzero(valid)
    if options.size == 0:
        raise ValueError("epsilon_greedy: no valid action")
    if rng.random() > epsilon:
        return int(greedy()) if greedy is not None else int(options[np.argmax(q[options])])
    return int(options[rng.integers(options.size)])
