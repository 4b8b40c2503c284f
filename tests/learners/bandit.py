"""A fake two-slot bandit environment with the leo-handover environment interface (learner core tests)."""
from __future__ import annotations

import numpy as np


class BanditEnv:
    """Fake env with the leo-handover interface: 2 slots, slot 1 pays 1 and slot 0 pays 0. Each step's mask is
    drawn from the env's own rng ([1,1] w.p. 0.6, [1,0] 0.2, [0,1] 0.2); obs = (m0, m1, 0.5) float32.
    spec = (seed, length); length 0 means the episode has no decision step (reset reports terminated)."""

    PAD = np.array([1.0, 1.0, 0.0], dtype=np.float32)
    MASKS = np.array([[1, 1], [1, 0], [0, 1]], dtype=np.int64)

    def reset(self, spec):
        seed, self.left = spec
        self.rng = np.random.default_rng(seed)
        self.masks_seen = []
        if self.left == 0:
            self.mask = np.zeros(2, dtype=np.int64)
            return self.PAD.copy(), {"mask": self.mask.copy(), "terminated": True}
        return self._next(), {"mask": self.mask.copy(), "terminated": False}

    def _next(self):
        self.mask = self.MASKS[self.rng.choice(3, p=[0.6, 0.2, 0.2])].copy()
        self.masks_seen.append(self.mask.copy())
        return np.array([self.mask[0], self.mask[1], 0.5], dtype=np.float32)

    def step(self, a):
        if not self.mask[a]:
            raise ValueError(f"slot {a} is masked")
        reward = float(a == 1)
        self.left -= 1
        if self.left == 0:
            self.mask = np.zeros(2, dtype=np.int64)
            return self.PAD.copy(), reward, True, False, {"mask": self.mask.copy()}
        obs = self._next()
        return obs, reward, False, False, {"mask": self.mask.copy()}


def policy_return(env, spec, policy) -> tuple[float, float]:
    """(return of policy(obs, mask) -> slot, best possible return) on one episode."""
    obs, info = env.reset(spec)
    total, done = 0.0, info["terminated"]
    while not done:
        obs, r, done, _, info_next = env.step(policy(obs, info["mask"]))
        total, info = total + r, info_next
    return total, float(sum(m[1] for m in env.masks_seen))
