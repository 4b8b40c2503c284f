"""The numpy DQN update equals autograd + torch.optim.Adam on the same networks and minibatches."""
from __future__ import annotations

import copy

import numpy as np
import torch
from torch.nn import functional as F

from optkit.learners.dqn import DQNConfig, DQNLearner, dqn_targets, plain_qnet
from optkit.learners.numpy_update import NumpyDQNUpdate, backward, forward, linear_views


def batch(rng, B=32, D=20, A=5):
    mask = rng.random((B, A)) < 0.7
    mask[:, 0] = True
    done = rng.random(B) < 0.2
    mask[done] = False                                   # a terminal next state has an all-zero mask
    return {"obs": rng.random((B, D), dtype=np.float32), "action": rng.integers(0, A, B),
            "reward": rng.uniform(-1, 1, B).astype(np.float32), "next_obs": rng.random((B, D), dtype=np.float32),
            "done": done, "next_mask": mask}


def torch_loss(net, target, b, gamma):
    t = {k: torch.from_numpy(np.asarray(v)) for k, v in b.items()}
    q = net(t["obs"]).gather(1, t["action"].unsqueeze(1)).squeeze(1)
    with torch.no_grad():
        y = dqn_targets(target(t["next_obs"]), t["reward"], t["done"], t["next_mask"], gamma)
    return F.mse_loss(q, y)


def test_backward_equals_autograd():
    torch.manual_seed(0)
    net = plain_qnet(20, 5, (128, 128)).double()
    x = np.random.default_rng(1).random((7, 20))
    grad_out = np.random.default_rng(2).standard_normal((7, 5))
    out, inputs = forward(linear_views(net), x)
    mine = backward(linear_views(net), inputs, grad_out)
    y = net(torch.from_numpy(x))
    y.backward(torch.from_numpy(grad_out))
    theirs = [p.grad.numpy() for p in net.parameters()]
    np.testing.assert_allclose(out, y.detach().numpy(), rtol=1e-12, atol=1e-12)
    for a, b in zip(mine, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_fifty_updates_match_torch_adam():
    torch.manual_seed(3)
    online = plain_qnet(20, 5, (64, 64))
    target = copy.deepcopy(online)
    reference, reference_target = copy.deepcopy(online), copy.deepcopy(target)
    opt = torch.optim.Adam(reference.parameters(), lr=1e-3, foreach=False)
    update = NumpyDQNUpdate(online, target, lr=1e-3)
    rng = np.random.default_rng(4)
    for _ in range(50):
        b = batch(rng)
        loss_numpy = update.step(b, 0.99)
        loss = torch_loss(reference, reference_target, b, 0.99)
        opt.zero_grad()
        loss.backward()
        opt.step()
        assert abs(loss_numpy - loss.item()) <= 1e-5 * max(1.0, loss.item())
    for a, b in zip(online.parameters(), reference.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-6)
    assert update.adam.t == 50


def test_learner_backends_agree_and_checkpoint_round_trips(tmp_path):
    rng = np.random.default_rng(5)
    learners = {backend: DQNLearner(20, 5, DQNConfig(hidden=(32, 32), learning_starts=40, batch=8, lr=1e-3,
                                                     update_backend=backend), rng=7, torch_seed=11)
                for backend in ("numpy", "torch")}
    transitions = [(rng.random(20, dtype=np.float32), int(rng.integers(5)), float(rng.uniform(-1, 1)),
                    rng.random(20, dtype=np.float32), np.ones(5, bool), False) for _ in range(120)]
    for learner in learners.values():
        for tr in transitions:
            learner.observe(*tr)
    a, b = learners["numpy"], learners["torch"]
    assert a.grad_steps == b.grad_steps == a.optimizer_steps == b.optimizer_steps > 0
    for p, q in zip(a.online.parameters(), b.online.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-4, atol=1e-6)
    torch.save(a.state_dict(), tmp_path / "a.pt")
    back = DQNLearner(20, 5, DQNConfig(hidden=(32, 32), update_backend="numpy"), rng=0)
    back.load_state_dict(torch.load(tmp_path / "a.pt", weights_only=True))
    obs = rng.random(20, dtype=np.float32)
    np.testing.assert_array_equal(back.q_values(obs), a.q_values(obs))
    assert back.optimizer_steps == a.optimizer_steps
