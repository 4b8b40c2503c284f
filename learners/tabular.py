"""Tabular Q-learning / SARSA core over hashed, rounded states (numpy only).

Family-agnostic. The rules follow §7.1 of docs/families/leo-handover.md:
* key(s) = blake2b-64 (little-endian) of float32 bytes of round(s, 1) (rounded in float64), mod N_Q;
* ε-greedy(q, m): the learners' one masked ε-greedy (`optkit.learners.schedules.epsilon_greedy`): one draw
  u = rng.random(); u ≤ ε: a uniform valid slot (rng.integers over the valid slots); otherwise the lowest-index
  argmax of q over the valid slots;
* SARSA: Q[s,a] += α (r + γ(1 − done) Q[s',a'] − Q[s,a]), a' drawn ε-greedily before the update;
* Q-learning: Q[s,a] += α (r + γ(1 − done) max_{a' valid in s'} Q[s',a'] − Q[s,a]);
* a visit count per bucket records which keys were updated; on a key never updated the greedy branch may take a
  caller's fallback action instead of the lowest-index argmax of the all-zero row (leo-handover D45).

The environment used by `run_tabular_episode` has `reset(spec) -> (obs, info)` and
`step(a) -> (obs, reward, terminated, truncated, info)`, with info["mask"] the (M,) mask of the returned
observation (all zeros at termination) and info["terminated"] set by `reset` when there is no decision step.
"""
from __future__ import annotations

import hashlib
from typing import Callable

import numpy as np

from optkit.learners.schedules import epsilon_greedy

N_BUCKETS = 100_000     # N_Q of §7.1


def state_key(obs, n_buckets: int = N_BUCKETS) -> int:
    """Bucket of an observation (D,): blake2b-64 of float32(round(float64(obs), 1)) bytes, little-endian, mod
    n_buckets. Process-independent (unlike the salted built-in `hash`)."""
    data = np.round(np.asarray(obs, dtype=np.float64), 1).astype(np.float32).tobytes()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") % int(n_buckets)


def linear_episode_epsilon(e: int, n_episodes: int, start: float = 1.0, end: float = 0.05) -> float:
    """ε of episode e (0-based) of E = n_episodes: start − (start − end)·e/(E − 1); start when E = 1."""
    if n_episodes <= 1:
        return float(start)
    return float(start - (start - end) * e / (n_episodes - 1))


def greedy_action(q_row, mask) -> int:
    """Lowest-index argmax of q_row (M,) over the valid slots of mask (M,); ValueError when none is valid."""
    valid = np.flatnonzero(np.asarray(mask).astype(bool))
    if valid.size == 0:
        raise ValueError("greedy_action: no valid slot")
    q_row = np.asarray(q_row)
    return int(valid[np.argmax(q_row[valid])])


class TabularQ:
    """Q table of shape (n_buckets, n_actions), float64, initialized to 0; rows are indexed by state keys.
    visits (n_buckets,) int64 counts the updates of each row."""

    def __init__(self, n_actions: int, n_buckets: int = N_BUCKETS):
        self.n_buckets, self.n_actions = int(n_buckets), int(n_actions)
        self.table = np.zeros((self.n_buckets, self.n_actions), dtype=np.float64)
        self.visits = np.zeros(self.n_buckets, dtype=np.int64)

    def seen(self, key: int) -> bool:
        """Whether row `key` was updated at least once."""
        return bool(self.visits[key] > 0)

    def sarsa_update(self, key: int, a: int, r: float, next_key: int, next_a: int | None, done: bool,
                     alpha: float, gamma: float) -> float:
        """Q[key,a] += α(r + γ(1 − done)Q[next_key,next_a] − Q[key,a]); next_a is ignored (may be None) when
        done. Returns the TD error."""
        boot = 0.0 if done else gamma * self.table[next_key, next_a]
        delta = r + boot - self.table[key, a]
        self.table[key, a] += alpha * delta
        self.visits[key] += 1
        return float(delta)

    def q_update(self, key: int, a: int, r: float, next_key: int, next_mask, done: bool,
                 alpha: float, gamma: float) -> float:
        """Q[key,a] += α(r + γ(1 − done)·max over valid slots of next_mask of Q[next_key] − Q[key,a]);
        next_mask is ignored when done. Returns the TD error."""
        if done:
            boot = 0.0
        else:
            valid = np.asarray(next_mask).astype(bool)
            if not valid.any():
                raise ValueError("q_update: non-terminal next state without a valid slot")
            boot = gamma * self.table[next_key][valid].max()
        delta = r + boot - self.table[key, a]
        self.table[key, a] += alpha * delta
        self.visits[key] += 1
        return float(delta)

    def greedy(self, key: int, mask) -> int:
        """Lowest-index argmax of Q[key] over the valid slots of mask (M,)."""
        return greedy_action(self.table[key], mask)

    def state_dict(self) -> dict:
        """{"table": (n_buckets, n_actions) float64, "visits": (n_buckets,) int64} ndarrays (copies)."""
        return {"table": self.table.copy(), "visits": self.visits.copy()}

    def load_state_dict(self, state: dict) -> None:
        """Load {"table": array-like (n_buckets, n_actions)[, "visits": (n_buckets,)]}; the shape must match.
        Without visits, a row counts as updated when it is not all zero."""
        table = np.asarray(state["table"], dtype=np.float64)
        if table.shape != self.table.shape:
            raise ValueError(f"table shape {table.shape} does not match {self.table.shape}")
        self.table = table.copy()
        visits = state.get("visits")
        self.visits = (np.asarray(visits, dtype=np.int64).copy() if visits is not None
                       else np.any(table != 0.0, axis=1).astype(np.int64))

    def to_tensors(self) -> dict:
        """{"table": float64, "visits": int64} torch tensors for `torch.save` checkpoints (torch imported lazily)."""
        import torch
        return {"table": torch.from_numpy(self.table.copy()), "visits": torch.from_numpy(self.visits.copy())}

    @classmethod
    def from_tensors(cls, state: dict) -> "TabularQ":
        """A TabularQ from {"table": torch tensor (n_buckets, n_actions)[, "visits"]} (as written by `to_tensors`)."""
        table = state["table"].detach().cpu().numpy()
        q = cls(n_actions=table.shape[1], n_buckets=table.shape[0])
        visits = state.get("visits")
        q.load_state_dict({"table": table, "visits": None if visits is None else visits.detach().cpu().numpy()})
        return q


def run_tabular_episode(env, spec, table: TabularQ, rule: str, epsilon: float, rng: np.random.Generator,
                        alpha: float = 0.1, gamma: float = 0.99,
                        key_fn: Callable | None = None, fallback: Callable | None = None) -> dict:
    """One training episode of `rule` ("sarsa" or "qlearning") with a fixed ε, updating `table` in place.

    key_fn(obs) -> row index (default: state_key with table.n_buckets). fallback(env) -> action: the greedy
    branch's action on a key never updated (None: the lowest-index argmax of its all-zero row). Returns
    {"return": Σ r (raw rewards), "steps": decision steps}, plus "unseen" (greedy decisions that used the
    fallback) when a fallback is given.
    An episode whose reset reports terminated returns 0 / 0 without update.
    """
    if rule not in ("sarsa", "qlearning"):
        raise ValueError(f"unknown tabular rule {rule!r}")
    if key_fn is None:
        n_buckets = table.n_buckets
        key_fn = lambda o: state_key(o, n_buckets)      # noqa: E731
    obs, info = env.reset(spec)
    if info.get("terminated", False):
        return {"return": 0.0, "steps": 0} if fallback is None else {"return": 0.0, "steps": 0, "unseen": 0}
    unseen = [0]

    def act(key, mask):
        if fallback is None or table.seen(key):
            return epsilon_greedy(table.table[key], mask, epsilon, rng)

        def use_fallback():
            unseen[0] += 1
            return fallback(env)
        return epsilon_greedy(None, mask, epsilon, rng, greedy=use_fallback)

    key, mask = key_fn(obs), info["mask"]
    total, steps = 0.0, 0
    a = act(key, mask)
    while True:
        obs, r, terminated, truncated, info = env.step(a)
        next_mask = info["mask"]
        next_key = key_fn(obs)
        total += float(r)
        steps += 1
        if rule == "sarsa":
            next_a = None if terminated else act(next_key, next_mask)
            table.sarsa_update(key, a, float(r), next_key, next_a, bool(terminated), alpha, gamma)
        else:
            table.q_update(key, a, float(r), next_key, next_mask, bool(terminated), alpha, gamma)
        if terminated or truncated:
            break
        key, mask = next_key, next_mask
        a = next_a if rule == "sarsa" else act(key, mask)
    out = {"return": total, "steps": steps}
    return out if fallback is None else {**out, "unseen": unseen[0]}
