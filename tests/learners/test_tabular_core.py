"""Tabular core (optkit.learners.tabular): state key, ε schedule and ε-greedy, SARSA / Q-learning updates and loops."""
from __future__ import annotations

import hashlib
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from optkit.learners.schedules import epsilon_greedy
from optkit.learners.tabular import TabularQ, linear_episode_epsilon, run_tabular_episode, state_key

from bandit import BanditEnv, policy_return          # tests/learners/bandit.py (pytest puts this folder on sys.path)


# ---------------------------------------------------------------------------------------------- state key
def _manual_key(values_f32, n_buckets=100_000) -> int:
    data = struct.pack(f"<{len(values_f32)}f", *values_f32)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") % n_buckets


def test_state_key_matches_hand_computed_blake2b():
    obs = [0.26, 0.74, 1.0]                              # rounds to (0.3, 0.7, 1.0)
    assert state_key(obs) == _manual_key([0.3, 0.7, 1.0]) == 73270
    assert state_key(np.array(obs, dtype=np.float32)) == 73270   # float32 input rounds in float64 alike
    assert state_key(obs, n_buckets=7) == _manual_key([0.3, 0.7, 1.0], 7)


def test_state_key_is_identical_across_processes():
    code = "from optkit.learners.tabular import state_key; print(state_key([0.26, 0.74, 1.0, 0.13, 0.5]))"
    keys = []
    for salt in ("1", "2"):                              # different salts of the built-in hash
        env = {**os.environ, "PYTHONHASHSEED": salt}
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
        keys.append(int(out.stdout.strip()))
    assert keys[0] == keys[1] == state_key([0.26, 0.74, 1.0, 0.13, 0.5])


def test_rounding_to_one_decimal():
    assert state_key([0.04, 0.5]) == state_key([0.01, 0.5])      # both round to 0.0
    assert state_key([0.06, 0.5]) != state_key([0.04, 0.5])      # 0.1 vs 0.0
    assert 0 <= state_key([0.9, 0.3]) < 100_000


# ---------------------------------------------------------------------------------------------- ε
def test_linear_episode_epsilon():
    assert linear_episode_epsilon(0, 200) == 1.0
    assert linear_episode_epsilon(199, 200) == pytest.approx(0.05, abs=1e-15)
    assert linear_episode_epsilon(100, 201) == pytest.approx(0.525)
    assert linear_episode_epsilon(0, 1) == 1.0
    assert linear_episode_epsilon(9, 10, start=0.5, end=0.1) == pytest.approx(0.1)


def test_epsilon_greedy_never_picks_a_masked_slot():
    rng = np.random.default_rng(0)
    q = np.array([9.0, 1.0, 2.0, 9.0, 0.5])
    mask = np.array([0, 1, 1, 0, 1])
    for eps in (0.0, 0.5, 1.0, 1.2):
        picks = {epsilon_greedy(q, mask, eps, rng) for _ in range(300)}
        assert picks <= {1, 2, 4}
        if eps >= 1.0:
            assert picks == {1, 2, 4}                     # uniform over the valid slots
    with pytest.raises(ValueError):
        epsilon_greedy(q, np.zeros(5, dtype=int), 0.5, rng)


def test_epsilon_greedy_greedy_ties_and_draw_order():
    rng = np.random.default_rng(1)
    q = np.array([5.0, 7.0, 7.0, 7.0])
    assert epsilon_greedy(q, [1, 0, 1, 1], 0.0, rng) == 2         # lowest valid index among the tied maxima
    assert epsilon_greedy(q, [True, True, True, True], 0.0, rng) == 1
    # draw order: one u = random(); u ≤ ε -> valid[integers(n_valid)], else argmax
    mask = np.array([1, 1, 0, 1])
    a, b = np.random.default_rng(7), np.random.default_rng(7)
    for _ in range(200):
        expect = (int(np.flatnonzero(mask)[b.integers(3)]) if b.random() < 0.3 else 1)
        assert epsilon_greedy(q, mask, 0.3, a) == expect


# ---------------------------------------------------------------------------------------------- updates
def test_sarsa_update_by_hand():
    tq = TabularQ(n_actions=3, n_buckets=10)
    tq.table[3, 1], tq.table[7, 2] = 0.5, 2.0
    delta = tq.sarsa_update(3, 1, 1.0, 7, 2, False, alpha=0.1, gamma=0.9)
    assert delta == pytest.approx(2.3) and tq.table[3, 1] == pytest.approx(0.73)    # 0.5 + 0.1(1 + 1.8 − 0.5)
    tq.table[3, 1] = 0.5
    tq.sarsa_update(3, 1, 1.0, 7, None, True, alpha=0.1, gamma=0.9)
    assert tq.table[3, 1] == pytest.approx(0.55)                                    # no bootstrap


def test_q_update_by_hand_with_masked_max():
    tq = TabularQ(n_actions=3, n_buckets=10)
    tq.table[3, 1] = 0.5
    tq.table[7] = [4.0, 2.0, 3.0]
    tq.q_update(3, 1, 1.0, 7, [0, 1, 1], False, alpha=0.1, gamma=0.9)
    assert tq.table[3, 1] == pytest.approx(0.82)                                    # max over valid = 3
    tq.table[3, 1] = 0.5
    tq.q_update(3, 1, 1.0, 7, [0, 0, 0], True, alpha=0.1, gamma=0.9)                # terminal: all-zero mask
    assert tq.table[3, 1] == pytest.approx(0.55)
    assert tq.greedy(7, [0, 1, 1]) == 2 and tq.greedy(7, [1, 1, 1]) == 0


def test_state_dict_and_tensor_roundtrip():
    tq = TabularQ(n_actions=2, n_buckets=5)
    tq.table[:] = np.arange(10).reshape(5, 2)
    other = TabularQ(n_actions=2, n_buckets=5)
    other.load_state_dict(tq.state_dict())
    assert np.array_equal(other.table, tq.table)
    back = TabularQ.from_tensors(tq.to_tensors())
    assert back.table.dtype == np.float64 and np.array_equal(back.table, tq.table)
    with pytest.raises(ValueError):
        TabularQ(n_actions=3, n_buckets=5).load_state_dict(tq.state_dict())


# ---------------------------------------------------------------------------------------------- episodes
@pytest.mark.parametrize("rule", ["sarsa", "qlearning"])
def test_episode_counts_steps_and_draws_one_uniform_per_decision(rule):
    env, tq = BanditEnv(), TabularQ(n_actions=2, n_buckets=1000)
    rng = np.random.default_rng(3)
    out = run_tabular_episode(env, (5, 12), tq, rule, 0.0, rng, alpha=0.1, gamma=0.99)
    assert out["steps"] == 12
    ref = np.random.default_rng(3)
    ref.random(12)                                                 # exactly one rng.random() per decision at ε = 0
    assert rng.bit_generator.state == ref.bit_generator.state


def test_episode_skipped_when_reset_reports_terminated():
    env, tq = BanditEnv(), TabularQ(n_actions=2, n_buckets=1000)
    rng = np.random.default_rng(0)
    state = rng.bit_generator.state
    assert run_tabular_episode(env, (0, 0), tq, "sarsa", 0.5, rng) == {"return": 0.0, "steps": 0}
    assert not tq.table.any() and rng.bit_generator.state == state


class ScriptEnv:
    """Two decision steps, both masks [1, 1]; obs = (k, 0.5) so the two states have different keys; reward =
    slot index + 1 (1 or 2)."""

    def reset(self, spec):
        self.k = 0
        return np.array([0.0, 0.5], dtype=np.float32), {"mask": np.ones(2, dtype=np.int64), "terminated": False}

    def step(self, a):
        self.k += 1
        done = self.k == 2
        mask = np.zeros(2, dtype=np.int64) if done else np.ones(2, dtype=np.int64)
        return np.array([self.k, 0.5], dtype=np.float32), float(a + 1), done, False, {"mask": mask}


@pytest.mark.parametrize("rule", ["sarsa", "qlearning"])
def test_sarsa_bootstraps_on_the_drawn_action_and_qlearning_on_the_max(rule):
    key = lambda o: int(o[0])                                     # noqa: E731  (rows 0, 1, 2)
    tq = TabularQ(n_actions=2, n_buckets=3)
    tq.table[1] = [0.0, 10.0]                                     # in s1 the max is slot 1 (Q = 10)
    seed = next(s for s in range(100) if _uniform_actions(s) == (0, 0))   # ε = 1 draws a0 = 0, a1 = 0
    out = run_tabular_episode(ScriptEnv(), None, tq, rule, 1.0, np.random.default_rng(seed),
                              alpha=0.5, gamma=0.9, key_fn=key)
    assert out == {"return": 2.0, "steps": 2}
    boot = 0.0 if rule == "sarsa" else 10.0                       # Q[s1, a1 = 0] vs max Q[s1]
    assert tq.table[0, 0] == pytest.approx(0.5 * (1.0 + 0.9 * boot))
    assert tq.table[1, 0] == pytest.approx(0.5 * 1.0)             # terminal: no bootstrap
    assert tq.table[1, 1] == 10.0 and tq.table[0, 1] == 0.0


def _uniform_actions(seed):
    """The two slots ε-greedy draws at ε = 1 from default_rng(seed) (random() then integers(2), twice)."""
    rng = np.random.default_rng(seed)
    rng.random()
    a0 = int(rng.integers(2))
    rng.random()
    return a0, int(rng.integers(2))


@pytest.mark.parametrize("rule", ["qlearning", "sarsa"])
def test_tabular_learns_the_bandit(rule):
    env, tq = BanditEnv(), TabularQ(n_actions=2, n_buckets=1000)
    rng = np.random.default_rng(0)
    n_episodes = 15
    steps = 0
    for e in range(n_episodes):                                   # 15 × 20 = 300 decision steps
        eps = linear_episode_epsilon(e, n_episodes)
        steps += run_tabular_episode(env, (e, 20), tq, rule, eps, rng, alpha=0.1, gamma=0.99)["steps"]
    assert steps == 300
    policy_rng = np.random.default_rng(99)
    greedy = random = best = 0.0
    for i in range(20):
        spec = (10_000 + i, 20)
        g, b = policy_return(env, spec, lambda o, m: tq.greedy(state_key(o, 1000), m))
        r, _ = policy_return(env, spec, lambda o, m: epsilon_greedy(np.zeros(2), m, 1.0, policy_rng))
        greedy, random, best = greedy + g, random + r, best + b
    assert greedy == best                                         # optimal: slot 1 whenever valid
    assert greedy > 1.3 * random
