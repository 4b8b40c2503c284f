"""SAC / CSAC core (optkit.learners.sac): squashed-Gaussian log-prob, Polyak arithmetic, temperature and multiplier
updates, warm-up, determinism, checkpoints, and learning on a 1-D continuous bandit (sagin §7.1); the learner-level
tests run with both update backends (`backend` fixture: numpy, the CPU default, and torch)."""
from __future__ import annotations

import copy
import io
import math

import numpy as np
import pytest
import torch
from torch import nn

from optkit.learners.sac import (SACConfig, SACLearner, polyak_update, project_multipliers, squashed_log_prob)
from optkit.learners.training import single_thread

OBS = np.ones(1, dtype=np.float32)      # the bandit's single state


@pytest.fixture(autouse=True)
def one_thread():
    with single_thread():
        yield


@pytest.fixture(params=["numpy", "torch"])
def backend(request) -> str:
    return request.param


def small_config(**overrides) -> SACConfig:
    base = dict(hidden=(32, 32), actor_lr=3e-3, critic_lr=3e-3, alpha_lr=3e-3, buffer=5000, batch=64,
                learning_starts=64)
    return SACConfig(**{**base, **overrides})


def fill(learner: SACLearner, n: int, cost: float | None = None) -> None:
    """n random bandit transitions (reward −(a − 0.5)², constant cost when given)."""
    for _ in range(n):
        a = learner.rng.uniform(-1, 1, size=learner.act_dim).astype(np.float32)
        costs = None if cost is None else [cost] * learner.n_costs
        learner.observe(np.ones(learner.obs_dim, np.float32), a, -float((a[0] - 0.5) ** 2),
                        np.ones(learner.obs_dim, np.float32), True, costs)


# ------------------------------------------------------------------------------------------ building blocks
def test_squashed_log_prob_matches_change_of_variables():
    """p_A(a) = d/da Φ((atanh(a) − μ)/σ) numerically, per dimension; log π sums the dimensions."""
    mean = torch.tensor([[0.3, -1.2]], dtype=torch.float64)
    log_std = torch.tensor([[-0.4, 0.5]], dtype=torch.float64)
    for a in ([0.1, -0.5], [0.7, 0.95], [-0.9, 0.0]):
        a = torch.tensor([a], dtype=torch.float64)
        u = torch.atanh(a)
        got = float(squashed_log_prob(u, mean, log_std)[0])
        h, expected = 1e-6, 0.0
        for j in range(2):
            def cdf(x):
                z = (math.atanh(x) - float(mean[0, j])) / math.exp(float(log_std[0, j]))
                return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
            aj = float(a[0, j])
            expected += math.log((cdf(aj + h) - cdf(aj - h)) / (2 * h))
        assert got == pytest.approx(expected, abs=1e-4)


def test_get_action_log_prob_consistent_and_bounded():
    torch.manual_seed(0)
    learner = SACLearner(3, 2, small_config(), rng=0, torch_seed=0)
    obs = torch.randn(16, 3)
    a, logp, mean_action = learner.actor.get_action(obs, learner.generator)
    assert a.shape == (16, 2) and logp.shape == (16,) and mean_action.shape == (16, 2)
    assert torch.all(a.abs() <= 1.0)
    mu, log_std = learner.actor(obs)
    assert torch.all(log_std >= -20.0) and torch.all(log_std <= 2.0)
    assert torch.allclose(logp, squashed_log_prob(torch.atanh(a.clamp(-1 + 1e-7, 1 - 1e-7)), mu, log_std),
                          atol=1e-2)


def test_polyak_update_arithmetic():
    online, target = nn.Linear(2, 1), nn.Linear(2, 1)
    with torch.no_grad():
        online.weight.fill_(1.0), online.bias.fill_(2.0)
        target.weight.fill_(-1.0), target.bias.fill_(4.0)
    polyak_update(target, online, 0.25)
    assert torch.allclose(target.weight, torch.full((1, 2), 0.25 * 1.0 + 0.75 * -1.0))
    assert torch.allclose(target.bias, torch.tensor([0.25 * 2.0 + 0.75 * 4.0]))


def test_defaults_follow_spec():
    c = SACConfig()
    assert (c.hidden, c.actor_lr, c.critic_lr, c.alpha_lr, c.gamma, c.tau, c.buffer, c.batch) == \
        ((128, 64), 3e-4, 3e-4, 3e-4, 0.99, 0.005, 50_000, 128)
    assert (c.alpha, c.learning_starts, c.lambda_init, c.lambda_lr, c.lambda_max) == (0.2, 1000, 0.0, 1e-3, 100.0)
    assert SACLearner(24, 3, c).target_entropy == -3.0          # −dim(A), sagin §11.20
    assert SACLearner(4, 1, c).target_entropy == -1.0
    assert SACLearner(4, 1, SACConfig(target_entropy=-0.5)).target_entropy == -0.5
    assert SACLearner(4, 1, c).alpha == pytest.approx(0.2)


@pytest.mark.parametrize("target_entropy, rises", [(10.0, True), (-10.0, False)])
def test_automatic_alpha_direction(target_entropy, rises, backend):
    """loss −log α (log π + H): entropy below target (log π + H > 0) raises α; above target lowers it."""
    learner = SACLearner(1, 1, small_config(target_entropy=target_entropy, update_backend=backend), rng=0,
                         torch_seed=0)
    fill(learner, 64)
    before = learner.alpha
    for _ in range(5):
        learner.update()
    assert (learner.alpha > before) == rises and learner.alpha != before


def test_fixed_alpha_when_not_autotuned(backend):
    learner = SACLearner(1, 1, small_config(autotune=False, alpha=0.05, update_backend=backend), rng=0, torch_seed=0)
    fill(learner, 64)
    out = learner.update()
    assert "alpha_loss" not in out and learner.alpha == pytest.approx(0.05)


# ------------------------------------------------------------------------------------------ multipliers
def test_project_multipliers_by_hand():
    lam = project_multipliers(np.array([0.0, 0.5, 99.99]), np.array([0.0, 0.0, 1.0]), np.array([0.1, 0.1, 0.0]),
                              0.01, 100.0)
    assert np.allclose(lam, [0.0, 0.5 - 0.01 * 0.1, 100.0])      # projected at 0, falls, clipped at λ_max


@pytest.mark.parametrize("mode", ["penalised_reward", "cost_critics"])
def test_multiplier_update_through_learner(mode, backend):
    cfg = small_config(cost_limits=(0.1, 0.1), lambda_lr=0.01, constraint_mode=mode, update_backend=backend)
    hot = SACLearner(1, 1, cfg, rng=0, torch_seed=0, n_costs=2)         # cost 1 > limit 0.1: rises
    fill(hot, 64, cost=1.0)
    for step in range(1, 4):
        out = hot.update()
        assert np.allclose(hot.multipliers, step * 0.01 * (1.0 - 0.1))
        assert out["lambda_0"] == pytest.approx(step * 0.009) and out["mean_cost_1"] == pytest.approx(1.0)
    cold = SACLearner(1, 1, cfg, rng=0, torch_seed=0, n_costs=2)        # cost 0 < limit: stays projected at 0
    fill(cold, 64, cost=0.0)
    cold.update()
    assert np.all(cold.multipliers == 0.0)
    warm = SACLearner(1, 1, small_config(cost_limits=(0.1,), lambda_lr=0.01, lambda_init=0.5, constraint_mode=mode,
                                         update_backend=backend), rng=0, torch_seed=0, n_costs=1)   # cost 0 < limit
    fill(warm, 64, cost=0.0)
    warm.update()
    assert np.allclose(warm.multipliers, [0.5 - 0.01 * 0.1])
    assert (len(hot.cost_critics) == 2) == (mode == "cost_critics")


def test_warm_up_and_argument_checks():
    learner = SACLearner(2, 3, small_config(learning_starts=10), rng=0, torch_seed=0, n_costs=1)
    fill(learner, 9, cost=0.0)
    assert learner.update() == {} and not learner.ready
    a = learner.act(np.zeros(2))
    assert a.shape == (3,) and a.dtype == np.float32 and np.all(np.abs(a) <= 1.0)
    with pytest.raises(ValueError):
        learner.observe(np.zeros(2), a, 0.0, np.zeros(2), False)        # costs missing
    fill(learner, 1, cost=0.0)
    assert learner.ready and "qf_loss" in learner.update()
    with pytest.raises(ValueError):
        SACLearner(2, 3, small_config(cost_limits=(0.1,)), n_costs=2)
    with pytest.raises(ValueError):
        SACLearner(2, 3, small_config(constraint_mode="other"), n_costs=1)


def test_batch_observe_and_act_match_single_calls():
    rng = np.random.default_rng(5)
    obs, nxt = rng.normal(size=(6, 2)).astype(np.float32), rng.normal(size=(6, 2)).astype(np.float32)
    act, rew = rng.uniform(-1, 1, size=(6, 3)).astype(np.float32), rng.normal(size=6)
    done, costs = np.array([0, 1, 0, 0, 1, 0], bool), rng.normal(size=(6, 1))
    one = SACLearner(2, 3, small_config(buffer=4, learning_starts=2), rng=0, torch_seed=0, n_costs=1)
    many = SACLearner(2, 3, small_config(buffer=4, learning_starts=2), rng=0, torch_seed=0, n_costs=1)
    for i in range(6):                                     # capacity 4: the ring buffer wraps
        one.observe(obs[i], act[i], rew[i], nxt[i], done[i], costs[i])
    many.observe_batch(obs[:1], act[:1], rew[:1], nxt[:1], done[:1], costs[:1])
    many.observe_batch(obs[1:], act[1:], rew[1:], nxt[1:], done[1:], costs[1:])
    assert one.t == many.t == 6 and one.memory.next == many.memory.next and len(one.memory) == len(many.memory) == 4
    for name in one.memory.data:
        assert np.array_equal(one.memory.data[name], many.memory.data[name]), name
    batch = many.act_batch(obs)                            # after warm-up: one sample per row
    assert batch.shape == (6, 3) and np.all(np.abs(batch) <= 1.0)
    mean = many.act_batch(obs, deterministic=True)
    assert np.allclose(mean[2], many.act(obs[2], deterministic=True), atol=1e-6)
    with pytest.raises(ValueError):
        many.observe_batch(obs, act, rew, nxt, done)       # costs missing


# ------------------------------------------------------------------------------------------ determinism, checkpoints
def train_bandit(seed: int, steps: int, target: float, n_costs: int = 0, **overrides) -> SACLearner:
    """Online SAC/CSAC on the 1-D bandit: reward −(a − target)², cost 1[a > 0.8] (limit 0.1), done every step."""
    cfg = small_config(cost_limits=(0.1,) * n_costs, lambda_lr=0.05, **overrides)
    learner = SACLearner(1, 1, cfg, rng=seed, torch_seed=seed, n_costs=n_costs)
    for _ in range(steps):
        a = learner.act(OBS)
        costs = [float(a[0] > 0.8)] if n_costs else None
        learner.observe(OBS, a, -float((a[0] - target) ** 2), OBS, True, costs)
        learner.update()
    return learner


def assert_same_state(s1: dict, s2: dict) -> None:
    for k in s1:
        if isinstance(s1[k], torch.Tensor):
            assert torch.equal(s1[k], s2[k]), k
        elif k.endswith("optimizer"):
            for pid, st in s1[k]["state"].items():
                for name, value in st.items():
                    assert torch.equal(value, s2[k]["state"][pid][name]), (k, name)
        else:
            for name, value in s1[k].items():
                assert torch.equal(value, s2[k][name]), (k, name)


def test_determinism_same_seeds(backend):
    l1 = train_bandit(3, 120, 0.9, n_costs=1, constraint_mode="cost_critics", update_backend=backend)
    l2 = train_bandit(3, 120, 0.9, n_costs=1, constraint_mode="cost_critics", update_backend=backend)
    assert_same_state(l1.state_dict(), l2.state_dict())
    assert np.array_equal(l1.act(OBS), l2.act(OBS))
    l3 = train_bandit(4, 120, 0.9, n_costs=1, constraint_mode="cost_critics", update_backend=backend)
    assert not torch.equal(l1.state_dict()["actor"]["fc_mean.weight"], l3.state_dict()["actor"]["fc_mean.weight"])


@pytest.mark.parametrize("n_costs, mode", [(0, "penalised_reward"), (1, "penalised_reward"), (2, "cost_critics")])
def test_checkpoint_round_trip(n_costs, mode, backend):
    cfg = small_config(cost_limits=(0.1,) * n_costs, lambda_lr=0.05, constraint_mode=mode, update_backend=backend)
    learner = SACLearner(1, 1, cfg, rng=0, torch_seed=0, n_costs=n_costs)
    fill(learner, 80, cost=1.0 if n_costs else None)
    for _ in range(5):
        learner.update()
    buf = io.BytesIO()
    torch.save(learner.state_dict(), buf)
    buf.seek(0)
    loaded = SACLearner(1, 1, cfg, rng=9, torch_seed=9, n_costs=n_costs)
    loaded.load_state_dict(torch.load(buf, weights_only=True))
    assert_same_state(learner.state_dict(), loaded.state_dict())
    assert np.array_equal(learner.multipliers, loaded.multipliers) and loaded.alpha == learner.alpha
    assert (loaded.t, loaded.grad_steps) == (learner.t, learner.grad_steps)
    # with the same replay contents and sampling rng, training goes on identically
    loaded.memory = copy.deepcopy(learner.memory)
    assert learner.update() == loaded.update()
    assert_same_state(learner.state_dict(), loaded.state_dict())


# ------------------------------------------------------------------------------------------ learning
def violation_rate(learner: SACLearner, n: int = 500) -> float:
    return float(np.mean([learner.act(OBS)[0] > 0.8 for _ in range(n)]))


def test_sac_learns_bandit_optimum(backend):
    learner = train_bandit(0, 400, 0.5, update_backend=backend)
    assert abs(float(learner.act(OBS, deterministic=True)[0]) - 0.5) < 0.1


# runtime: the torch backend (slower) in one mode only; tests/learners/test_numpy_sac.py checks the two agree
@pytest.mark.parametrize("mode, backend", [("penalised_reward", "numpy"), ("cost_critics", "numpy"),
                                           ("cost_critics", "torch")])
def test_csac_respects_binding_constraint(mode, backend):
    """Optimum 0.9 lies in the costly region a > 0.8: SAC sits there, CSAC keeps P(a > 0.8) ≤ 0.1 (fixed seed)."""
    sac = train_bandit(0, 400, 0.9, update_backend=backend)
    csac = train_bandit(0, 400, 0.9, n_costs=1, constraint_mode=mode, update_backend=backend)
    assert float(sac.act(OBS, deterministic=True)[0]) > 0.8 and violation_rate(sac) > 0.3
    assert float(csac.act(OBS, deterministic=True)[0]) < 0.8 and violation_rate(csac) <= 0.1
    assert csac.multipliers[0] > 0.0
