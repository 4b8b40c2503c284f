"""Plain DQN core (optkit.learners.dqn): targets, network, gradient-step and target-sync timing, ε schedules,
learning on a fake bandit env, determinism and checkpoints."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from torch import nn

from optkit.learners.dqn import DQNConfig, DQNLearner, dqn_targets, masked_max, plain_qnet, run_dqn_episode
from optkit.learners.schedules import epsilon_greedy

from bandit import BanditEnv, policy_return          # tests/learners/bandit.py (pytest puts this folder on sys.path)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def small_config(**overrides) -> DQNConfig:
    base = dict(hidden=(32, 32), lr=1e-3, gamma=0.9, buffer=1000, batch=32, learning_starts=50, train_every=1,
                target_sync_episodes=2)
    return DQNConfig(**{**base, **overrides})


def adam_steps(learner) -> int:
    """Adam steps actually taken (the optimizer's own counter; 0 before the first step)."""
    return learner.optimizer_steps


def feed(learner, n, rng, reward=0.5):
    for _ in range(n):
        obs = rng.random(3).astype(np.float32)
        learner.observe(obs, int(rng.integers(2)), reward, rng.random(3).astype(np.float32), [1, 1], False)


# ---------------------------------------------------------------------------------------------- targets, net
def test_dqn_targets_terminal_gives_exactly_r_without_nan():
    q_next = torch.tensor([[1.0, 5.0, 3.0], [2.0, -1.0, 4.0], [float("1e30"), 0.0, 0.0]])
    mask = torch.tensor([[1, 0, 1], [0, 0, 0], [0, 0, 0]], dtype=torch.bool)
    done = torch.tensor([False, True, True])
    reward = torch.tensor([0.5, -1.0, 0.25])
    y = dqn_targets(q_next, reward, done, mask, gamma=0.9)
    assert not torch.isnan(y).any()
    assert y[0].item() == pytest.approx(0.5 + 0.9 * 3.0)                  # masked max ignores the 5
    assert y[1].item() == -1.0 and y[2].item() == 0.25                      # exactly r
    assert masked_max(q_next, mask)[1].item() == -1e9


def test_plain_qnet_shape_and_default_init():
    torch.manual_seed(0)
    net = plain_qnet(20, 5, (128, 128))
    assert [type(m) for m in net] == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [(m.in_features, m.out_features) for m in net if isinstance(m, nn.Linear)] == [(20, 128), (128, 128),
                                                                                          (128, 5)]
    torch.manual_seed(0)
    ref = [nn.Linear(20, 128), nn.Linear(128, 128), nn.Linear(128, 5)]      # PyTorch default init, same draws
    for mine, theirs in zip([m for m in net if isinstance(m, nn.Linear)], ref):
        assert torch.equal(mine.weight, theirs.weight) and torch.equal(mine.bias, theirs.bias)
    assert net(torch.zeros(7, 20)).shape == (7, 5)


def test_listing_a_config():
    c = DQNConfig.listing_a()
    assert (c.buffer, c.batch, c.eps_schedule, c.eps_start, c.eps_decay, c.eps_floor) == (20_000, 64, "listingA",
                                                                                         1.2, 0.998, 0.1)
    assert (c.lr, c.gamma, c.learning_starts, c.target_sync_episodes) == (1e-4, 0.99, 1000, 10)
    d = DQNConfig()
    assert (d.hidden, d.buffer, d.batch, d.train_every, d.eps_start, d.eps_end) == ((128, 128), 10_000, 32, 4, 1.0,
                                                                                    0.05)


# ---------------------------------------------------------------------------------------------- ε
def test_epsilon_schedules():
    lin = DQNLearner(3, 2, DQNConfig(hidden=(8,)), rng=0)
    assert lin.epsilon(0, 200) == 1.0 and lin.epsilon(199, 200) == pytest.approx(0.05)
    assert lin.epsilon(0, 1) == 1.0
    la = DQNLearner(3, 2, DQNConfig.listing_a(hidden=(8,), learning_starts=10**9), rng=0)
    assert la.epsilon(0, 200) == 1.2
    crossing = next(t for t in range(10_000) if 1.2 * 0.998 ** t <= 0.1)
    assert crossing == 1242                       # 1.2·0.998^1241 = 0.100042 > 0.1 ≥ 1.2·0.998^1242
    feed(la, crossing - 1, np.random.default_rng(0))
    assert la.t == 1241 and la.epsilon(0, 200) == pytest.approx(0.1000421, abs=1e-7) and la.epsilon(0, 200) > 0.1
    feed(la, 1, np.random.default_rng(1))
    assert la.epsilon(0, 200) == 0.1
    feed(la, 100, np.random.default_rng(2))
    assert la.epsilon(5, 200) == 0.1              # floor, and per-step (episode index irrelevant)


def test_act_follows_the_tabular_rule_and_never_picks_masked_slots():
    learner = DQNLearner(3, 4, DQNConfig(hidden=(16,)), rng=5)
    ref_rng = np.random.default_rng(5)
    obs_rng = np.random.default_rng(0)
    for i in range(300):
        obs = obs_rng.random(3).astype(np.float32)
        mask = np.array([1, 0, 1, 1]) if i % 2 else np.array([0, 1, 1, 0])
        eps = (0.0, 0.4, 1.2)[i % 3]
        expected = epsilon_greedy(learner.q_values(obs), mask, eps, ref_rng)
        a = learner.act(obs, mask, eps)
        assert a == expected and mask[a] == 1
    with pytest.raises(ValueError):
        learner.act(np.zeros(3), [0, 0, 0, 0], 0.5)


def test_greedy_ties_go_to_the_lowest_valid_index():
    learner = DQNLearner(3, 5, DQNConfig(hidden=(4,)), rng=0)
    last = learner.online[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.copy_(torch.tensor([1.0, 3.0, 3.0, 3.0, 0.0]))
    assert learner.greedy(np.zeros(3), [1, 0, 1, 1, 1]) == 2
    assert learner.act(np.zeros(3), [1, 1, 1, 1, 1], 0.0) == 1
    assert learner.greedy(np.zeros(3), [1, 0, 0, 0, 1]) == 0


# ---------------------------------------------------------------------------------------------- timing
@pytest.mark.parametrize("learning_starts,train_every", [(10, 3), (12, 4), (5, 1)])
def test_gradient_steps_start_after_learning_starts_and_follow_train_every(learning_starts, train_every):
    learner = DQNLearner(3, 2, DQNConfig(hidden=(8,), batch=4, learning_starts=learning_starts,
                                         train_every=train_every), rng=0)
    before = [p.detach().clone() for p in learner.online.parameters()]
    rng = np.random.default_rng(1)
    for t in range(1, 41):
        feed(learner, 1, rng)
        expected = len([s for s in range(learning_starts, t + 1) if s % train_every == 0])
        assert learner.t == t and learner.grad_steps == expected == adam_steps(learner)
        if t < learning_starts:
            assert all(torch.equal(p, q) for p, q in zip(learner.online.parameters(), before))
    assert expected == 40 // train_every - (learning_starts - 1) // train_every
    assert not all(torch.equal(p, q) for p, q in zip(learner.online.parameters(), before))


def test_rewards_are_clipped_when_stored():
    learner = DQNLearner(3, 2, DQNConfig(hidden=(8,), learning_starts=100), rng=0)
    for r in (5.0, -3.0, 0.25):
        learner.observe(np.zeros(3), 0, r, np.zeros(3), [1, 0], False)
    assert learner.memory.data["reward"][:3].tolist() == [1.0, -1.0, 0.25]
    assert learner.memory.data["next_mask"][0].tolist() == [True, False]


def test_target_sync_after_every_tenth_episode_including_skipped_ones():
    env = BanditEnv()
    learner = DQNLearner(3, 2, small_config(target_sync_episodes=10, learning_starts=20), rng=0, torch_seed=0)
    synced_after = []
    for e in range(25):
        spec = (e, 0) if e == 9 else (e, 5)                       # episode 9 has no decision step
        t_before = learner.t
        out = run_dqn_episode(env, spec, learner, e, 25)
        if e == 9:
            assert out == {"return": 0.0, "steps": 0} and learner.t == t_before
        same = all(torch.equal(p, q) for p, q in zip(learner.online.parameters(), learner.target.parameters()))
        if same:
            synced_after.append(e)
    assert learner.target_syncs == 2
    assert synced_after[-2:] == [9, 19] and 24 not in synced_after and learner.grad_steps > 0


# ---------------------------------------------------------------------------------------------- learning
def train_bandit(seed: int, n_episodes: int = 20, length: int = 20) -> tuple[DQNLearner, list]:
    torch.manual_seed(seed)
    learner = DQNLearner(3, 2, small_config(), rng=np.random.default_rng(seed))
    env = BanditEnv()
    curve = [run_dqn_episode(env, (100 + e, length), learner, e, n_episodes) for e in range(n_episodes)]
    return learner, curve


def test_dqn_learns_the_bandit():
    learner, curve = train_bandit(0)                              # 400 decision steps, 351 gradient steps
    assert sum(c["steps"] for c in curve) == 400 and learner.grad_steps == 351
    env, policy_rng = BanditEnv(), np.random.default_rng(99)
    greedy = random = best = 0.0
    for i in range(20):
        spec = (10_000 + i, 20)
        g, b = policy_return(env, spec, learner.greedy)
        r, _ = policy_return(env, spec, lambda o, m: epsilon_greedy(np.zeros(2), m, 1.0, policy_rng))
        greedy, random, best = greedy + g, random + r, best + b
    assert greedy >= 0.95 * best
    assert greedy > 1.3 * random


def test_two_runs_with_the_same_seeds_are_identical():
    a, curve_a = train_bandit(3, n_episodes=8)
    b, curve_b = train_bandit(3, n_episodes=8)
    assert curve_a == curve_b and a.grad_steps == b.grad_steps > 0
    for p, q in zip(a.online.parameters(), b.online.parameters()):
        assert torch.equal(p, q)
    c, _ = train_bandit(4, n_episodes=8)
    assert not all(torch.equal(p, q) for p, q in zip(a.online.parameters(), c.online.parameters()))


def test_state_dict_roundtrip_through_torch_save():
    learner, _ = train_bandit(1, n_episodes=5)
    buf = io.BytesIO()
    torch.save(learner.state_dict(), buf)
    buf.seek(0)
    other = DQNLearner(3, 2, small_config(), rng=0)
    other.load_state_dict(torch.load(buf, weights_only=True))
    assert (other.t, other.grad_steps, other.target_syncs) == (learner.t, learner.grad_steps, learner.target_syncs)
    x = torch.rand(6, 3)
    assert torch.equal(other.online(x), learner.online(x)) and torch.equal(other.target(x), learner.target(x))
