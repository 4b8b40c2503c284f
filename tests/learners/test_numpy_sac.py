"""The numpy SAC / CSAC step (learners/numpy_sac.py) equals autograd + torch Adam: each loss's gradient on float64
networks (same minibatch, same noise), whole updates of the two `SACLearner` backends in float32, determinism,
and checkpoints written by one backend loaded by either."""
from __future__ import annotations

import copy
import io
import math
import pickle

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from optkit.learners.numpy_sac import NumpySACUpdate
from optkit.learners.sac import SACConfig, SACLearner, squashed_log_prob
from optkit.learners.training import single_thread

D, A, B = 5, 3, 16


@pytest.fixture(autouse=True)
def one_thread():
    with single_thread():
        yield


def float64_update(n_costs: int = 0, mode: str = "penalised_reward", tie: bool = False, seed: int = 0):
    """A torch-backend learner whose networks are converted to float64, and a NumpySACUpdate on them. fc_logstd
    is scaled up so that the log σ clamp binds on some entries (both bounds); tie: qf2 = qf1 (min_i ties)."""
    cfg = SACConfig(hidden=(16, 8), update_backend="torch", constraint_mode=mode, cost_limits=(0.1,) * n_costs)
    learner = SACLearner(D, A, cfg, rng=seed, torch_seed=seed, n_costs=n_costs)
    for net in (learner.actor, learner.qf1, learner.qf2, learner.qf1_target, learner.qf2_target,
                learner.cost_critics, learner.cost_targets):
        net.double()
    with torch.no_grad():
        learner.actor.fc_logstd.weight.mul_(250.0)
        learner.actor.fc_logstd.bias.fill_(-8.0)
    if tie:
        learner.qf2.load_state_dict(learner.qf1.state_dict())
    learner.log_alpha = torch.tensor([math.log(0.3)], dtype=torch.float64, requires_grad=True)
    return learner, NumpySACUpdate(learner)


def random_batch(rng, n_costs: int = 0) -> dict:
    return {"obs": rng.normal(size=(B, D)), "action": rng.uniform(-1, 1, (B, A)), "reward": rng.normal(size=B),
            "costs": rng.random((B, n_costs)), "next_obs": rng.normal(size=(B, D)),
            "done": (rng.random(B) < 0.3).astype(np.float64)}


def flat_grad(update: NumpySACUpdate, group: str) -> np.ndarray:
    """The torch .grad of the group's parameters laid out as the numpy group's flat buffer."""
    adam, params, spans = update.groups[group]
    out = np.zeros_like(adam.flat)
    for p, sl in zip(params, spans):
        out[sl] = p.grad.detach().numpy().ravel()
    return out


def torch_sample(actor, obs: np.ndarray, xi: np.ndarray):
    mean, log_std = actor(torch.from_numpy(obs))
    u = mean + log_std.exp() * torch.from_numpy(xi)
    return torch.tanh(u), squashed_log_prob(u, mean, log_std)


# ------------------------------------------------------------------------------------------ gradients vs autograd
def test_sample_equals_torch_and_clamp_binds():
    learner, update = float64_update()
    rng = np.random.default_rng(1)
    obs, xi = rng.normal(size=(B, D)), rng.normal(size=(B, A))
    a, logp, cache = update.sample(obs, xi)
    a_t, logp_t = torch_sample(learner.actor, obs, xi)
    np.testing.assert_allclose(a, a_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(logp, logp_t.detach().numpy(), rtol=1e-10, atol=1e-9)
    raw = learner.actor.fc_logstd(learner.actor.trunk(torch.from_numpy(obs))).detach().numpy()
    assert (raw > 2.0).any() and (raw < -20.0).any() and cache[-1].any()       # both bounds and the inside


@pytest.mark.parametrize("n_costs, mode", [(0, "penalised_reward"), (2, "penalised_reward"), (2, "cost_critics")])
def test_critic_gradients_equal_autograd(n_costs, mode):
    learner, update = float64_update(n_costs, mode)
    rng = np.random.default_rng(2)
    b, xi_next = random_batch(rng, n_costs), rng.normal(size=(B, A))
    lam, alpha = np.array([0.7, 1.3])[:n_costs], 0.3
    reward = b["reward"] - (b["costs"] @ lam if mode == "penalised_reward" else 0.0)
    a_next, logp_next, _ = update.sample(b["next_obs"], xi_next)
    y = update.td_targets(b["next_obs"], a_next, logp_next, reward, b["done"], alpha)
    x = np.concatenate([b["obs"], b["action"]], axis=1)
    loss, q = update.mse_grad(update.critics, update.critic_grad_views, x, y)

    t = {k: torch.from_numpy(v) for k, v in b.items()}
    with torch.no_grad():
        na, nlogp = torch_sample(learner.actor, b["next_obs"], xi_next)
        mn = torch.min(learner.qf1_target(t["next_obs"], na), learner.qf2_target(t["next_obs"], na))
        y_t = torch.from_numpy(reward) + learner.config.gamma * (1.0 - t["done"]) * (mn - alpha * nlogp)
    loss_t = F.mse_loss(learner.qf1(t["obs"], t["action"]), y_t) + F.mse_loss(learner.qf2(t["obs"], t["action"]), y_t)
    loss_t.backward()
    np.testing.assert_allclose(y, y_t.numpy(), rtol=1e-10, atol=1e-10)
    assert loss == pytest.approx(loss_t.item(), rel=1e-10)
    np.testing.assert_allclose(update.critic_grad, flat_grad(update, "q_optimizer"), rtol=1e-8, atol=1e-11)

    if mode == "cost_critics":
        with torch.no_grad():
            not_done = learner.config.gamma * (1.0 - t["done"])
            y_c = np.stack([(t["costs"][:, k] + not_done * qc(t["next_obs"], na)).numpy()
                            for k, qc in enumerate(learner.cost_targets)])
        loss_c, _ = update.mse_grad(update.cost_critics, update.cost_grad_views, x, y_c)
        loss_ct = sum(F.mse_loss(qc(t["obs"], t["action"]), torch.from_numpy(y_c[k]))
                      for k, qc in enumerate(learner.cost_critics))
        loss_ct.backward()
        assert loss_c == pytest.approx(loss_ct.item(), rel=1e-10)
        np.testing.assert_allclose(update.cost_grad, flat_grad(update, "cost_optimizer"), rtol=1e-8, atol=1e-11)


@pytest.mark.parametrize("n_costs, mode, tie", [(0, "penalised_reward", False), (0, "penalised_reward", True),
                                                (2, "cost_critics", False)])
def test_actor_gradient_equals_autograd(n_costs, mode, tie):
    """Through the critics' action gradient (min_i, ties split), tanh, the reparameterisation, the log-prob with the
    tanh correction and the log σ clamp; in "cost_critics" mode also through Σ_k λ_k Q_c,k."""
    learner, update = float64_update(n_costs, mode, tie)
    rng = np.random.default_rng(3)
    obs, xi = rng.normal(size=(B, D)), rng.normal(size=(B, A))
    lam, alpha = np.array([0.7, 1.3])[:n_costs], 0.3
    a, logp, cache = update.sample(obs, xi)
    value, d_pi = update.action_gradient(obs, a, lam)
    loss = update.actor_gradient(cache, logp, value, d_pi, alpha)

    o = torch.from_numpy(obs)
    pi, logp_t = torch_sample(learner.actor, obs, xi)
    q1, q2 = learner.qf1(o, pi), learner.qf2(o, pi)
    assert bool(torch.equal(q1, q2)) == tie
    loss_t = alpha * logp_t - torch.min(q1, q2)
    for k, qc in enumerate(learner.cost_critics):
        loss_t = loss_t + lam[k] * qc(o, pi)
    loss_t = loss_t.mean()
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-10)
    grad = flat_grad(update, "actor_optimizer")
    # σ = e^−20 at the lower clamp: z = (u − μ)/σ and autograd's cancelling μ-terms carry ~1e−9 rounding
    np.testing.assert_allclose(update.actor_grad, grad, rtol=1e-7, atol=1e-8)
    assert np.any(learner.actor.fc_logstd.weight.grad.numpy() != 0.0)


def test_temperature_gradient_equals_autograd():
    learner, update = float64_update()
    logp = np.random.default_rng(4).normal(size=B) * 3.0
    loss, grad = update.temperature_gradient(logp)
    loss_t = (-learner.log_alpha * (torch.from_numpy(logp) + learner.target_entropy)).mean()
    loss_t.backward()
    assert loss == pytest.approx(loss_t.item(), rel=1e-12)
    np.testing.assert_allclose(grad, learner.log_alpha.grad.numpy(), rtol=1e-12)


# ------------------------------------------------------------------------------------------ whole updates, float32
def pair(n_costs: int, mode: str, backends=("numpy", "torch"), **overrides) -> dict:
    """{backend: learner} from the same seeds holding the same 200 transitions (sagin sizes, smaller hidden)."""
    cfg = dict(hidden=(64, 32), batch=64, learning_starts=64, constraint_mode=mode, cost_limits=(0.05, 0.2)[:n_costs],
               lambda_lr=0.05, lambda_init=0.5)
    rng = np.random.default_rng(4)
    n = 200
    data = (rng.normal(size=(n, 24)), rng.uniform(-1, 1, (n, 3)), rng.normal(size=n), rng.normal(size=(n, 24)),
            rng.random(n) < 0.1, rng.random((n, n_costs)) if n_costs else None)
    learners = {}
    for backend in backends:
        learner = SACLearner(24, 3, SACConfig(**{**cfg, **overrides}, update_backend=backend), rng=5, torch_seed=6,
                             n_costs=n_costs)
        learner.observe_batch(*data)
        learners[backend] = learner
    return learners


def assert_states_close(s1: dict, s2: dict, rtol=1e-4, atol=1e-6) -> None:
    """Same keys; tensors close; optimizer states with equal steps and close moments."""
    assert s1.keys() == s2.keys()
    for k in s1:
        if k == "generator":
            assert torch.equal(s1[k], s2[k])
        elif isinstance(s1[k], torch.Tensor):
            torch.testing.assert_close(s1[k], s2[k], rtol=rtol, atol=atol, msg=k)
        elif k.endswith("optimizer"):
            assert s1[k]["state"].keys() == s2[k]["state"].keys() and s1[k]["param_groups"] == s2[k]["param_groups"]
            for pid, st in s1[k]["state"].items():
                assert float(st["step"]) == float(s2[k]["state"][pid]["step"])
                torch.testing.assert_close(st["exp_avg"], s2[k]["state"][pid]["exp_avg"], rtol=rtol, atol=atol)
                torch.testing.assert_close(st["exp_avg_sq"], s2[k]["state"][pid]["exp_avg_sq"], rtol=1e-3, atol=1e-9)
        else:
            assert s1[k].keys() == s2[k].keys()
            for name in s1[k]:
                torch.testing.assert_close(s1[k][name], s2[k][name], rtol=rtol, atol=atol, msg=f"{k}.{name}")


@pytest.mark.parametrize("n_costs, mode, autotune", [(0, "penalised_reward", True), (2, "penalised_reward", True),
                                                     (2, "cost_critics", True), (1, "penalised_reward", False)])
def test_updates_equal_torch_backend(n_costs, mode, autotune):
    learners = pair(n_costs, mode, autotune=autotune)
    a, b = learners["numpy"], learners["torch"]
    assert a._numpy is not None and b._numpy is None
    for _ in range(8):
        out_a, out_b = a.update(), b.update()
        assert out_a.keys() == out_b.keys()
        for k in out_a:
            assert out_a[k] == pytest.approx(out_b[k], rel=1e-4, abs=1e-5), k
        assert np.array_equal(a.multipliers, b.multipliers)          # same sample, same float32 mean cost
    assert_states_close(a.state_dict(), b.state_dict())
    assert a.grad_steps == b.grad_steps == 8
    obs = np.random.default_rng(7).normal(size=(4, 24)).astype(np.float32)
    np.testing.assert_allclose(a.act_batch(obs, deterministic=True), b.act_batch(obs, deterministic=True), atol=1e-5)


def test_numpy_backend_deterministic_and_auto_is_numpy_on_cpu():
    runs = []
    for _ in range(2):
        learner = pair(2, "cost_critics", ("auto",))["auto"]
        assert learner._numpy is not None
        outs = [learner.update() for _ in range(5)]
        runs.append((outs, learner.state_dict(), learner.act(np.zeros(24, np.float32))))
    (o1, s1, a1), (o2, s2, a2) = runs
    assert o1 == o2 and np.array_equal(a1, a2)
    assert_states_close(s1, s2, rtol=0.0, atol=0.0)


def test_backend_argument_checks():
    with pytest.raises(ValueError):
        SACLearner(4, 2, SACConfig(update_backend="jax"))
    with pytest.raises(ValueError):
        SACLearner(4, 2, SACConfig(update_backend="numpy"), device="cuda")


# ------------------------------------------------------------------------------------------ checkpoints
def reload(state: dict, backend: str, n_costs: int, mode: str) -> SACLearner:
    buf = io.BytesIO()
    torch.save(state, buf)
    buf.seek(0)
    learner = pair(n_costs, mode, (backend,))[backend]
    learner.load_state_dict(torch.load(buf, weights_only=True))
    return learner


@pytest.mark.parametrize("source", ["numpy", "torch"])
@pytest.mark.parametrize("n_costs, mode", [(1, "penalised_reward"), (2, "cost_critics")])
def test_checkpoint_round_trip_across_backends(source, n_costs, mode):
    """A checkpoint of either backend loads into both; the same backend then trains on identically, the other one
    within float32 rounding."""
    learner = pair(n_costs, mode, lambda_init=0.0)[source]
    for _ in range(4):
        learner.update()
    state = learner.state_dict()
    assert state["actor_optimizer"]["state"][0]["step"] == 4.0       # torch.optim.Adam format in both backends
    for backend in ("numpy", "torch"):
        loaded = reload(state, backend, n_costs, mode)
        assert_states_close(loaded.state_dict(), state, rtol=0.0, atol=0.0)
        assert np.array_equal(loaded.multipliers, learner.multipliers) and loaded.alpha == learner.alpha
        assert (loaded.t, loaded.grad_steps) == (learner.t, learner.grad_steps)
        loaded.memory = copy.deepcopy(learner.memory)
        twin = reload(state, source, n_costs, mode)
        twin.memory = copy.deepcopy(learner.memory)
        for _ in range(3):
            out, out_twin = loaded.update(), twin.update()
            if backend == source:
                assert out == out_twin
        assert_states_close(loaded.state_dict(), twin.state_dict(),
                            **({"rtol": 0.0, "atol": 0.0} if backend == source else {}))


def test_deepcopy_and_pickle_keep_the_numpy_views():
    learner = pair(2, "cost_critics", ("numpy",))["numpy"]
    for _ in range(3):
        learner.update()
    clones = [copy.deepcopy(learner), pickle.loads(pickle.dumps(learner))]
    for clone in clones:
        u = clone._numpy
        assert np.shares_memory(u.actor_flat, clone.actor.fc_mean.weight.detach().numpy())
        assert np.shares_memory(u.critic_flat, clone.qf2.net[0].weight.detach().numpy())
        assert np.shares_memory(u.cost_target_flat, clone.cost_targets[1].net[2].bias.detach().numpy())
        assert not np.shares_memory(u.critic_flat, learner._numpy.critic_flat)
        assert u.groups["actor_optimizer"][0].t == 3
    outs = [clone.update() for clone in clones] + [learner.update()]
    assert outs[0] == outs[1] == outs[2]
    for clone in clones:
        assert_states_close(clone.state_dict(), learner.state_dict(), rtol=0.0, atol=0.0)
