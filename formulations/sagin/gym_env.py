"""Gymnasium forms of the `sagin` environment (§4.6-4.8, §7.1), over the core `SaginEnv`.

    from optkit.formulations.sagin.gym_env import SaginGymEnv, SaginMultiGymEnv
    env = SaginGymEnv(scenario="quick", seed=0)             # one UAV
    obs, info = env.reset(seed=1)                           # a random training start (generator.training_starts)
    obs, info = env.reset(options={"split": "test", "uav": 2})
    obs, r, terminated, truncated, info = env.step({"top": 0, "direction": np.array([1, 0, 0], np.float32),
                                                     "target": 0})

Hybrid action (Dict): "top" Remain (0) / Switch (1); "direction" in [-1, 1]^3 (the SAC output a = tanh(.), E24
normalises it); "target" the BS to switch to, read only when top = 1 and required to be a candidate (available,
not the serving BS; §7.1 step 2), else ValueError. The target space samples among the current candidates.
Scalar reward: r^low (default, shifted E28) or r^top (`reward="top"`); info carries both, the costs g^qos, g^bnd
(E29), R_{n+1}, the measurement report `rates` (B,) Mbit/s and the candidate mask `candidates` (B,).
`SaginMultiGymEnv` is the CTDE form (§7, D23): all N_U UAVs of an episode in one env, observations
(N_U, D), per-UAV actions, per-UAV rewards and costs in info, scalar reward = mean over the UAVs that acted.
reset options: {"split": "train" | "test", "episode": e (train), "uav": u (single env)}; without "episode" a
training episode in 0..train_episodes-1 is drawn from the env's np_random.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from optkit.errors import InputError
from optkit.formulations.sagin.env import SaginEnv
from optkit.formulations.sagin.generator import training_starts
from optkit.spaces import MaskedDiscrete, MaskedMultiDiscrete

REWARDS = ("low", "top")
OPTION_KEYS = ("split", "episode", "uav")


def _instance(scenario: str, seed: int):
    """The registered preset `scenario` ("name" or "name:point" of a sweep preset) with master seed `seed`."""
    from optkit.api import make_instance

    name, _, point = str(scenario).partition(":")
    return make_instance("sagin", name, int(seed), point=point or None)


class _Base(gym.Env):
    metadata = {"render_modes": []}

    def __init__(self, scenario: str, seed: int, instance, backend: str, reward: str, cached_map):
        if reward not in REWARDS:
            raise InputError(f"reward: must be one of {', '.join(REWARDS)}, got {reward!r}")
        self.instance = instance if instance is not None else _instance(scenario, seed)
        self.core = SaginEnv(self.instance, backend, cached_map=cached_map)
        self.reward_level = reward
        self._train = np.zeros((0, int(self.instance.uav_n_uavs), 3))
        D, B = self.core.obs_dim, self.core.n_bs
        box, scale = self.core.box, self.core.q_scale
        self._low = np.zeros(D, dtype=np.float32)
        self._high = np.ones(D, dtype=np.float32)
        self._high[B] = np.finfo(np.float32).max                # R/R_max^E may exceed 1 off the E31 lattice
        self._low[B + 1:] = np.minimum(box[0] / scale, box[1] / scale)
        self._high[B + 1:] = np.maximum(box[0] / scale, box[1] / scale)

    def _options(self, options) -> dict:
        options = dict(options or {})
        unknown = sorted(set(options) - set(OPTION_KEYS))
        if unknown:
            raise InputError(f"options: unknown keys {unknown} (known: {', '.join(OPTION_KEYS)})")
        split = options.get("split", "train")
        if split not in ("train", "test"):
            raise InputError(f"options['split']: must be 'train' or 'test', got {split!r}")
        options["split"] = split
        return options

    def _episode_starts(self, options: dict) -> np.ndarray:
        """(N_U, 3) m starts of the requested episode."""
        if options["split"] == "test":
            return np.asarray(self.instance.starts_test, dtype=float)
        n_ep = max(int(self.instance.train_episodes), 1)
        e = options.get("episode")
        if e is None:
            e = int(self.np_random.integers(n_ep))
        if isinstance(e, bool) or not isinstance(e, (int, np.integer)) or e < 0:
            raise InputError(f"options['episode']: must be a non-negative integer, got {e!r}")
        if e >= self._train.shape[0]:                            # the stream is sequential: grow the prefix
            self._train = training_starts(self.instance, max(int(e) + 1, min(2 * self._train.shape[0] + 16, n_ep)))
        return self._train[int(e)]

    def _pick(self, info: dict) -> float:
        return info["r_low"] if self.reward_level == "low" else info["r_top"]


class SaginGymEnv(_Base):
    """One UAV of a `sagin` instance. Observation (D,) float32, D = B_tot + 4 (§7 state s_n)."""

    def __init__(self, scenario: str = "quick", seed: int = 0, instance=None, backend: str = "exact",
                 reward: str = "low", cached_map=None):
        super().__init__(scenario, seed, instance, backend, reward, cached_map)
        B = self.core.n_bs
        self.observation_space = gym.spaces.Box(self._low, self._high, dtype=np.float32)
        self.action_space = gym.spaces.Dict({
            "top": gym.spaces.Discrete(2),
            "direction": gym.spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32),
            "target": MaskedDiscrete(B)})

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        options = self._options(options)
        starts = self._episode_starts(options)
        u = options.get("uav")
        if u is None:
            u = int(self.np_random.integers(starts.shape[0])) if options["split"] == "train" else 0
        if isinstance(u, bool) or not isinstance(u, (int, np.integer)) or not 0 <= u < starts.shape[0]:
            raise InputError(f"options['uav']: must be an integer in 0..{starts.shape[0] - 1}, got {u!r}")
        obs = self.core.reset(starts[int(u)][None, :])
        self.action_space["target"].current_mask = self.core.candidate_mask()[0]
        return obs[0], {"t": float(self.core.t[0]), "serving": int(self.core.b[0]),
                        "rates": self.core.rates_now[0].copy(), "candidates": self.core.candidate_mask()[0],
                        "done": bool(self.core.done)}

    def step(self, action):
        if not isinstance(action, dict) or not {"top", "direction"} <= set(action):
            raise ValueError("action: expected a dict with keys 'top', 'direction' (and 'target' for Switch)")
        target = action.get("target")
        res = self.core.step(np.reshape(action["top"], 1), np.reshape(np.asarray(action["direction"], dtype=float),
                                                                       (1, 3)),
                             None if target is None else np.reshape(target, 1))
        c = self.core
        info = {"r_top": float(res.r_top[0]), "r_low": float(res.r_low[0]), "g_qos": float(res.g_qos[0]),
                "g_bnd": float(res.g_bnd[0]), "rate": float(res.rate[0]), "serving": int(res.serving[0]),
                "switched": bool(res.switched[0]), "projected": bool(res.projected[0]), "out": bool(res.out[0]),
                "t": float(c.t[0]), "rates": c.rates_now[0].copy(), "candidates": c.candidate_mask()[0]}
        self.action_space["target"].current_mask = info["candidates"]
        return res.obs[0], float(self._pick(info)), bool(res.terminated[0]), bool(res.truncated[0]), info


class SaginMultiGymEnv(_Base):
    """All N_U UAVs of an episode (CTDE, shared networks act on each row). Observation (N_U, D) float32; action
    {"top": (N_U,) in {0, 1}, "direction": (N_U, 3), "target": (N_U,)}; entries of finished UAVs are ignored."""

    def __init__(self, scenario: str = "quick", seed: int = 0, instance=None, backend: str = "exact",
                 reward: str = "low", cached_map=None):
        super().__init__(scenario, seed, instance, backend, reward, cached_map)
        N, B = int(self.instance.uav_n_uavs), self.core.n_bs
        self.n_uavs = N
        self.observation_space = gym.spaces.Box(np.tile(self._low, (N, 1)), np.tile(self._high, (N, 1)),
                                                dtype=np.float32)
        self.action_space = gym.spaces.Dict({
            "top": gym.spaces.MultiDiscrete([2] * N),
            "direction": gym.spaces.Box(-1.0, 1.0, shape=(N, 3), dtype=np.float32),
            "target": MaskedMultiDiscrete([B] * N)})

    def _report(self) -> dict:
        c = self.core
        return {"t": c.t.copy(), "serving": c.b.copy(), "rates": c.rates_now.copy(),
                "candidates": c.candidate_mask(), "active": c.active.copy()}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        options = self._options(options)
        if "uav" in options:
            raise InputError("options['uav']: not used by the multi-UAV env (every UAV of the episode flies)")
        obs = self.core.reset(self._episode_starts(options))
        info = self._report()
        self.action_space["target"].current_mask = info["candidates"]
        return obs, info

    def step(self, action):
        if not isinstance(action, dict) or not {"top", "direction"} <= set(action):
            raise ValueError("action: expected a dict with keys 'top', 'direction' (and 'target' for Switch)")
        res = self.core.step(action["top"], np.asarray(action["direction"], dtype=float), action.get("target"))
        info = self._report()
        info.update(r_top=res.r_top, r_low=res.r_low, g_qos=res.g_qos, g_bnd=res.g_bnd, rate=res.rate,
                    acted=res.acted, arrived=res.terminated, truncated_uav=res.truncated, switched=res.switched,
                    projected=res.projected, out=res.out)
        self.action_space["target"].current_mask = info["candidates"]
        per = self._pick(info)
        reward = float(per[res.acted].mean()) if res.acted.any() else 0.0
        done = self.core.done
        terminated = bool(done and self.core.arrived.all())
        truncated = bool(done and not terminated)
        return res.obs, reward, terminated, truncated, info
