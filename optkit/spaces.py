"""Gymnasium action spaces that sample valid actions only (imports gymnasium: only the Gymnasium wrappers use it).

The environments here raise on a masked action, as their specs require; `check_env` and random agents sample
the action space without a mask, so these spaces draw among the environment's current valid actions, which the
wrapper keeps in `current_mask` after every reset and step.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np


class MaskedDiscrete(gym.spaces.Discrete):
    """Discrete(n) whose sample() without a mask draws among the valid actions of `current_mask` (n,)."""

    def __init__(self, n: int, seed=None):
        super().__init__(n, seed=seed)
        self.current_mask: np.ndarray | None = None

    def sample(self, mask=None, probability=None):
        if mask is None and probability is None and self.current_mask is not None and self.current_mask.any():
            mask = self.current_mask.astype(np.int8)
        return super().sample(mask=mask, probability=probability)


class MaskedMultiDiscrete(gym.spaces.MultiDiscrete):
    """MultiDiscrete(nvec) whose sample() without a mask draws each entry among its valid actions of
    `current_mask` (len(nvec), n)."""

    def __init__(self, nvec, seed=None):
        super().__init__(nvec, seed=seed)
        self.current_mask: np.ndarray | None = None

    def sample(self, mask=None, probability=None):
        if mask is None and probability is None and self.current_mask is not None \
                and self.current_mask.any(axis=1).all():
            mask = tuple(m.astype(np.int8) for m in self.current_mask)
        return super().sample(mask=mask, probability=probability)
