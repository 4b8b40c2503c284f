"""Double-DQN core (learners/ddqn.py): target arithmetic by hand, numpy update = torch autograd, ε schedule
(sagin check 33), masking, warm-up, hard target copy, determinism and checkpoint round trip."""
import io
import math

import numpy as np
import pytest
import torch

from optkit.learners.ddqn import DDQNConfig, DDQNLearner, episode_epsilon


def _linear_learner(backend="numpy"):
    """A learner with a linear Q (hidden ()) whose online and target weights are set by hand."""
    cfg = DDQNConfig(hidden=(), batch=1, learning_starts=1, update_backend=backend, lr=1e-3)
    agent = DDQNLearner(2, 2, cfg, rng=0, torch_seed=0)
    with torch.no_grad():
        agent.online[0].weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 0.5]]))
        agent.online[0].bias.zero_()
        agent.target[0].weight.copy_(torch.tensor([[0.0, 10.0], [0.0, 20.0]]))
        agent.target[0].bias.zero_()
    return agent


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("mask, done, y", [
    ([True, True], False, 1.0 + 0.97 * 10.0),     # a* = argmax online Q(s') = 0; evaluated by the target: 10
    ([False, True], False, 1.0 + 0.97 * 20.0),    # action 0 invalid at s': a* = 1
    ([True, True], True, 1.0),                    # terminal: no bootstrap
])
def test_double_dqn_target_by_hand(backend, mask, done, y):
    agent = _linear_learner(backend)
    agent.observe_batch([[1.0, 0.0]], [0], [1.0], [[0.0, 1.0]], [done], [mask])
    out = agent.update()
    q_sa = 1.0                                     # online Q(s = e1, a = 0) = W[0, 0]
    assert out["loss"] == pytest.approx((q_sa - y) ** 2, rel=1e-6)
    assert agent.grad_steps == 1


def _data(n=400, d=6, a=4, seed=1):
    rng = np.random.default_rng(seed)
    mask = rng.random((n, a)) < 0.7
    mask[np.arange(n), rng.integers(0, a, n)] = True
    return (rng.normal(size=(n, d)).astype(np.float32), rng.integers(0, a, n), rng.normal(size=n),
            rng.normal(size=(n, d)).astype(np.float32), rng.random(n) < 0.1, mask)


def test_numpy_update_equals_torch_autograd():
    cfg = dict(hidden=(16, 8), batch=32, learning_starts=10, target_period=3)
    agents = [DDQNLearner(6, 4, DDQNConfig(update_backend=b, **cfg), rng=5, torch_seed=7) for b in ("numpy", "torch")]
    for agent in agents:
        agent.observe_batch(*_data())
        for _ in range(7):
            agent.update()
    for name in ("online", "target"):
        a, b = (getattr(x, name).state_dict() for x in agents)
        for key in a:
            assert torch.allclose(a[key], b[key], atol=2e-5), (name, key)
    assert agents[0].target_syncs == agents[1].target_syncs == 2


@pytest.mark.parametrize("n_episodes", [2, 3, 10, 15, 20, 50, 300, 1000, 3000])
def test_epsilon_reaches_floor_after_a_third(n_episodes):
    """Check 33: ε_e = max(0.05, 0.5·0.1^(3e/E)) is above 0.05 before E/3 and 0.05 from E/3 on, for every budget."""
    eps = [episode_epsilon(e, n_episodes) for e in range(n_episodes)]
    assert eps[0] == 0.5
    assert all(b <= a for a, b in zip(eps, eps[1:]))
    third = math.ceil(n_episodes / 3)
    assert all(x > 0.05 for x in eps[:third])          # e < E/3
    assert all(x == 0.05 for x in eps[third:])         # e >= E/3


def test_epsilon_decay_factor_of_the_paper_budget():
    assert episode_epsilon(1, 3000) / episode_epsilon(0, 3000) == pytest.approx(0.1 ** (1 / 1000))
    assert 0.1 ** (1 / 1000) == pytest.approx(0.9977, abs=1e-4)


def test_act_batch_masking_warmup_and_greedy():
    agent = DDQNLearner(3, 5, DDQNConfig(hidden=(8,), learning_starts=20, batch=4), rng=0, torch_seed=0)
    obs = np.random.default_rng(0).normal(size=(200, 3))
    mask = np.zeros((200, 5), dtype=bool)
    mask[:, [1, 3]] = True
    a = agent.act_batch(obs, epsilon=0.0, mask=mask)          # warm-up: uniform over the valid slots
    assert set(np.unique(a)) == {1, 3}
    agent.observe_batch(obs[:20], a[:20], np.zeros(20), obs[:20], np.zeros(20, bool))
    assert agent.ready
    greedy = agent.act_batch(obs, epsilon=0.0, mask=mask)
    assert np.array_equal(greedy, agent.greedy(obs, mask)) and set(np.unique(greedy)) <= {1, 3}
    q = agent.q_values(obs)
    assert np.array_equal(greedy, np.where(q[:, 1] >= q[:, 3], 1, 3))     # ties: lowest index
    explored = agent.act_batch(obs, epsilon=1.0, mask=mask)
    assert set(np.unique(explored)) == {1, 3}


def test_hard_target_copy_every_period():
    agent = DDQNLearner(6, 4, DDQNConfig(hidden=(8,), batch=8, learning_starts=8, target_period=5), rng=0,
                        torch_seed=0)
    agent.observe_batch(*_data(n=50))
    for step in range(1, 11):
        agent.update()
        same = all(torch.equal(p, q) for p, q in zip(agent.online.parameters(), agent.target.parameters()))
        assert same == (step % 5 == 0)
    assert agent.target_syncs == 2


def _run(seed):
    agent = DDQNLearner(6, 4, DDQNConfig(hidden=(16, 8), batch=16, learning_starts=50), rng=seed, torch_seed=seed)
    obs, act, rew, nxt, done, mask = _data()
    actions = []
    for i in range(0, 400, 40):
        actions.append(agent.act_batch(obs[i:i + 40], 0.3, mask[i:i + 40]))
        agent.observe_batch(obs[i:i + 40], act[i:i + 40], rew[i:i + 40], nxt[i:i + 40], done[i:i + 40],
                            mask[i:i + 40])
        agent.update()
    return agent, np.concatenate(actions)


def test_deterministic_under_a_seed():
    (a, acts_a), (b, acts_b) = _run(3), _run(3)
    assert np.array_equal(acts_a, acts_b)
    assert all(torch.equal(p, q) for p, q in zip(a.online.parameters(), b.online.parameters()))
    _, acts_c = _run(4)
    assert not np.array_equal(acts_a, acts_c)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_checkpoint_round_trip(backend):
    cfg = DDQNConfig(hidden=(16, 8), batch=16, learning_starts=50, update_backend=backend)
    agent = DDQNLearner(6, 4, cfg, rng=0, torch_seed=0)
    agent.observe_batch(*_data())
    for _ in range(30):
        agent.update()
    buf = io.BytesIO()
    torch.save(agent.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    other = DDQNLearner(6, 4, cfg, rng=0, torch_seed=99)
    other.load_state_dict(state)
    obs = _data()[0]
    q0 = agent.q_values(obs)
    assert np.array_equal(q0, other.q_values(obs))
    assert (other.grad_steps, other.t, other.target_syncs) == (30, 400, 0)
    # the optimizer state came along: one more identical step on the same batch gives identical weights
    batch = agent.memory.sample(16)
    agent.memory = other.memory = _Fixed(batch, len(agent.memory))
    agent.update()
    other.update()
    assert all(torch.allclose(p, q) for p, q in zip(agent.online.parameters(), other.online.parameters()))
    actor = DDQNLearner(6, 4, cfg, rng=0, torch_seed=5)
    actor.load_state_dict(state, networks_only=True)
    assert np.array_equal(actor.q_values(obs), q0)


class _Fixed:
    """A memory that always returns the same batch (to compare one optimizer step)."""

    def __init__(self, batch, size):
        self.batch, self.size = batch, size

    def __len__(self):
        return self.size

    def sample(self, n):
        return self.batch

