"""Gymnasium form of the `ntn-relay` environment, registered as `optkit/NtnRelay-v0` by `optkit.envs`.

    import gymnasium, optkit.envs
    env = gymnasium.make("optkit/NtnRelay-v0", scenario="smoke", seed=0)
    obs, info = env.reset()                  # obs: (K, 10·I' + 6), one row per UAV agent
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

The action is one flat index per agent (MultiDiscrete, I'·I'·L² values each); the reward is the team reward E23/E24.
The environment is deterministic: reset(seed=...) only seeds the action space's sampler.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from optkit.formulations.ntn_relay.env import RelayEnv


class NtnRelayGymEnv(gym.Env):
    """One instance, one orbital period per episode."""

    metadata = {"render_modes": []}

    def __init__(self, scenario: str = "smoke", seed: int = 0, instance=None, point: str | None = None):
        if instance is None:
            from optkit.api import make_instance

            instance = make_instance("ntn-relay", scenario, seed, point=point)
        self.instance = instance
        self.core = RelayEnv(instance)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(self.core.K, self.core.obs_dim),
                                                dtype=np.float64)
        self.action_space = gym.spaces.MultiDiscrete([self.core.n_actions] * self.core.K)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        if seed is not None:
            self.action_space.seed(seed)
        return self.core.reset(), {"slot": 0}

    def step(self, action):
        action = np.asarray(action, dtype=np.int64)
        if action.shape != (self.core.K,) or np.any(action < 0) or np.any(action >= self.core.n_actions):
            raise ValueError(f"action: {self.core.K} indices in 0..{self.core.n_actions - 1} expected, got {action}")
        obs, reward, done, info = self.core.step(action)
        info["slot"] = self.core.n
        return obs, reward, done, False, info
