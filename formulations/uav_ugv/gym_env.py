"""Gymnasium form of the `uav-ugv` environment (§7.0), registered as `optkit/UavUgv-v0` by `optkit.envs`.

    import gymnasium, optkit.envs
    env = gymnasium.make("optkit/UavUgv-v0", scenario="quick", seed=0)
    obs, info = env.reset()

Observation: the K-invariant grid state (11U + 3M + 1 + 2G² values); action in [−1, 1]^(3U+2M); reward r_train =
c_r (r[n] − w_c V5[n]); info["reward_mbps"] = r[n] of E22. The episode ends after N steps (terminated).
The instance is fixed: reset's seed only seeds the env's np_random (the dynamics are deterministic).
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from optkit.formulations.uav_ugv.env import STATE_HIGH, STATE_LOW, UavUgvEnv


class UavUgvGymEnv(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, scenario: str = "quick", seed: int = 0, instance=None, point: str | None = None):
        if instance is None:
            from optkit.api import make_instance

            instance = make_instance("uav-ugv", scenario, seed, point=point)
        self.instance = instance
        self.core = UavUgvEnv(instance)
        self.observation_space = gym.spaces.Box(STATE_LOW, STATE_HIGH, shape=(self.core.state_dim,), dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(self.core.action_dim,), dtype=np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.core.reset(), {"slot": 0}

    def step(self, action):
        state, reward, done, info = self.core.step(np.asarray(action, dtype=float))
        return state, float(info["r_train"]), bool(done), False, {"reward_mbps": reward, "v5": info["v5"],
                                                                  "slot": self.core.n}
