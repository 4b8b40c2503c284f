"""The ntn-relay environment: Gymnasium contract, same physics as the evaluator (check 19), the table-based step
equals the plain model step (check 29), observation layout (§7.1)."""
from __future__ import annotations

import numpy as np
import pytest

from optkit.api import evaluate, make_instance, solve
from optkit.errors import InputError
from optkit.formulations.ntn_relay import model as M
from optkit.formulations.ntn_relay.env import RelayEnv, plain_step


def make(preset="smoke", seed=0, **overrides):
    return make_instance("ntn-relay", preset, seed, overrides=overrides or None)


@pytest.mark.filterwarnings("ignore:.*Box observation space:UserWarning")
def test_gymnasium_contract():
    import gymnasium
    from gymnasium.utils.env_checker import check_env

    import optkit.envs  # noqa: F401  (registers the ids)

    env = gymnasium.make("optkit/NtnRelay-v0", scenario="smoke")
    check_env(env.unwrapped)
    obs, _ = env.reset(seed=3)
    assert obs.shape == (2, 26)
    with pytest.raises(ValueError):
        env.step(np.array([36, 0]))


@pytest.mark.parametrize("reward_mode", ["ee", "fair", "rate"])
def test_episode_reward_equals_the_evaluator(reward_mode):
    inst = make("smoke", reward_mode=reward_mode)
    env = RelayEnv(inst)
    rng = np.random.default_rng(1)
    total, done = 0.0, False
    env.reset()
    while not done:
        _, r, done, _ = env.step(rng.integers(0, env.n_actions, env.K))
        total += r
    ev = evaluate(inst, env.decisions())
    assert ev.metrics["continuous_actions"] == 0.0
    assert total == pytest.approx(ev.metrics["episode_reward"], rel=1e-9)


def test_table_step_equals_plain_step():
    inst = make("smoke")
    env = RelayEnv(inst)
    w = env.w
    rng = np.random.default_rng(2)
    env.reset()
    q, v = w.q0.copy(), w.v0.copy()
    for n in range(w.N):
        act = rng.integers(0, env.n_actions, env.K)
        ca, cb, acc = env.decode(act)
        R, q_next, v_next, aero = plain_step(w, q, v, n, w.cand[0, n, ca], w.cand[1, n, cb], w.accels[acc])
        _, _, _, info = env.step(act)
        assert info["rate_bps"] == pytest.approx(R, rel=1e-12)
        assert np.allclose(env.q, q_next, rtol=1e-12, atol=1e-12) and np.allclose(env.v, v_next, rtol=1e-12)
        assert np.allclose(env.last_aero, aero, rtol=1e-12)
        q, v = q_next, v_next


def test_observation_layout():
    inst = make("smoke")
    env = RelayEnv(inst)
    obs = env.reset()
    w = env.w
    C = 2
    assert np.allclose(obs[0, :3], w.sat_xyz[0, 0, w.cand[0, 0, 0]] / 4000.0)
    assert np.allclose(obs[1, 6 * C:6 * C + 2], w.q0[1] / 4000.0)
    assert np.allclose(obs[0, 6 * C + 2:6 * C + 4], w.v0[0] / 100.0)
    d = np.linalg.norm(w.sat_xyz[1, 0, w.cand[1, 0, 1]] - np.array([*w.q0[0], 20.0])) / 4000.0
    assert obs[0, 6 * C + 4 + C + C + 1] == pytest.approx(d)
    assert obs[0, -1] == 0.0 and obs[0, -2] == 0.0
    # the action index ((c_a I') + c_b) L² + acc
    assert [x.tolist() for x in env.decode(np.array([35, 0]))] == [[1, 0], [1, 0], [8, 0]]


def test_environment_refuses_instances_without_reward():
    with pytest.raises(InputError):
        RelayEnv(make("sat-ground-k2"))
    # K = 1: no distance term; the loiter solution's reward from the evaluator is finite
    inst = make("mobility-k1", n_slots_override=60)
    assert evaluate(inst, solve(inst, "static-loiter")).metrics["reward_distance"] == 0.0
    assert M.world(inst).K == 1
