"""Gymnasium form of the `leo-handover` environment, registered as `optkit/LeoHandover-v0` by `optkit.envs`.

    import gymnasium, optkit.envs
    env = gymnasium.make("optkit/LeoHandover-v0", scenario="smoke", seed=0)
    obs, info = env.reset(seed=1)                      # a random episode of the test world
    obs, info = env.reset(options={"episode": 3})      # test episode 3 of the instance

The action space samples valid slots only (`info["mask"]`); a masked action raises ValueError as §4.9 requires.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from optkit.formulations.leo_handover.env import instance_env
from optkit.formulations.leo_handover.episode import evaluation_specs
from optkit.formulations.leo_handover.generator import EpisodeSpec, headings
from optkit.spaces import MaskedDiscrete


class LeoHandoverGymEnv(gym.Env):
    """One instance's test world. reset(options={"episode": i}) plays test episode i; without it, an episode
    (L, k0, ψ) is drawn from the env's np_random with the preset's episode-length range and heading set."""

    metadata = {"render_modes": []}

    def __init__(self, scenario: str = "smoke", seed: int = 0, instance=None, point: str | None = None):
        if instance is None:
            from optkit.api import make_instance

            instance = make_instance("leo-handover", scenario, seed, point=point)
        self.instance = instance
        self.core = instance_env(instance)
        self.observation_space = gym.spaces.Box(0.0, 1.0, shape=(self.core.obs_dim,), dtype=np.float32)
        self.action_space = MaskedDiscrete(self.core.M)
        self._specs = evaluation_specs(instance)
        self._headings = headings(instance.params())

    def _draw_spec(self) -> EpisodeSpec:
        p = self.instance
        L = int(self.np_random.integers(p.ep_len_min, p.ep_len_max + 1))
        k0 = int(self.np_random.integers(0, p.n_steps - L + 1))
        return EpisodeSpec(0, k0, L, int(self._headings[self.np_random.integers(0, self._headings.size)]))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        options = options or {}
        if "episode" in options:
            index = int(options["episode"])
            if not 0 <= index < len(self._specs):
                raise ValueError(f"options['episode']: {index} is not a test episode (0..{len(self._specs) - 1})")
            obs, info = self.core.reset(self._specs[index])
        else:
            obs, info = self.core.reset(self._draw_spec())
            while info["terminated"]:             # a drawn episode without any decision step: draw again
                obs, info = self.core.reset(self._draw_spec())
        self.action_space.current_mask = info["mask"]
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.core.step(int(action))
        self.action_space.current_mask = info["mask"]
        return obs, float(reward), bool(terminated), bool(truncated), info
