"""Uniform replay memory with numpy storage (spec allocate §7.2.1: minibatches drawn uniformly).

A memory is a ring buffer of named fields, each with a fixed per-item shape and dtype. The usual DQN
transition (obs, action, reward, next_obs, discount, next_mask) is built by `ReplayMemory.transitions`;
the next-state action mask is stored so the double-DQN target can take a masked argmax on o'.
"""
from __future__ import annotations

import numpy as np


class ReplayMemory:
    """Ring buffer of `capacity` items; `fields` maps name -> (shape, dtype). Sampling uses its own seeded RNG."""

    def __init__(self, capacity: int, fields: dict, seed: int | np.random.Generator = 0):
        if capacity < 1:
            raise ValueError("replay capacity must be >= 1")
        self.capacity = int(capacity)
        self.fields = {name: (tuple(shape), np.dtype(dtype)) for name, (shape, dtype) in fields.items()}
        self.data = {name: np.zeros((self.capacity, *shape), dtype=dtype) for name, (shape, dtype) in self.fields.items()}
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.size = 0        # items stored (<= capacity)
        self.next = 0        # slot written by the next `add`

    @classmethod
    def transitions(cls, capacity: int, obs_shape, n_actions: int, *, action_shape=(), seed=0,
                    obs_dtype=np.float32) -> "ReplayMemory":
        """DQN transitions. obs (obs_shape), action (action_shape) int64, reward float32, next_obs, discount
        float32 (γ_k of the transition, 0 at episode end), next_mask (action_shape + (n_actions,)) bool."""
        action_shape = tuple(action_shape)
        return cls(capacity, {
            "obs": (tuple(obs_shape), obs_dtype),
            "action": (action_shape, np.int64),
            "reward": ((), np.float32),
            "next_obs": (tuple(obs_shape), obs_dtype),
            "discount": ((), np.float32),
            "next_mask": (action_shape + (int(n_actions),), np.bool_),
        }, seed)

    def __len__(self) -> int:
        return self.size

    def add(self, **item) -> None:
        """Store one item (every field given); the oldest item is overwritten once the memory is full."""
        if set(item) != set(self.fields):
            raise KeyError(f"replay item needs fields {sorted(self.fields)}, got {sorted(item)}")
        for name, value in item.items():
            self.data[name][self.next] = value
        self.next = (self.next + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def add_batch(self, **items) -> None:
        """Store n items at once (every field given, leading axis n), in order; same result as n `add` calls."""
        if set(items) != set(self.fields):
            raise KeyError(f"replay items need fields {sorted(self.fields)}, got {sorted(items)}")
        arrays = {name: np.asarray(value) for name, value in items.items()}
        n = {a.shape[0] if a.ndim else 1 for a in arrays.values()}
        if len(n) != 1:
            raise ValueError(f"replay items: fields have different lengths {sorted(n)}")
        n = n.pop()
        if n > self.capacity:                                  # only the newest `capacity` items survive
            arrays = {name: a[-self.capacity:] for name, a in arrays.items()}
            self.next = (self.next + n - self.capacity) % self.capacity
            n = self.capacity
        slots = (self.next + np.arange(n)) % self.capacity
        for name, value in arrays.items():
            self.data[name][slots] = value
        self.next = (self.next + n) % self.capacity
        self.size = min(self.size + n, self.capacity)

    def sample(self, batch_size: int) -> dict:
        """Uniform draw with replacement of `batch_size` stored items: name -> array (batch, *shape)."""
        if self.size == 0:
            raise ValueError("cannot sample from an empty replay memory")
        idx = self.rng.integers(0, self.size, size=int(batch_size))
        return {name: array[idx] for name, array in self.data.items()}
