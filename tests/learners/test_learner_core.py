"""Shared learner core: replay, heads, double-DQN target, masking, ε schedule, checkpoints, determinism."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch

from optkit.learners import checkpoint as ckpt
from optkit.learners.d3ql import DQNAgent, double_dqn_targets, td_loss
from optkit.learners.qnet import MASK_VALUE, BranchingDuelingHead, DuelingHead, MLPQNet, masked_argmax
from optkit.learners.replay import ReplayMemory
from optkit.learners.schedules import LinearEpsilon, epsilon_greedy
from optkit.learners.training import deterministic, run_episodes


# ---------------------------------------------------------------------------------------------- replay
def test_replay_wraps_around_and_keeps_the_newest():
    mem = ReplayMemory.transitions(3, (2,), 4, seed=0)
    for i in range(5):
        mem.add(obs=[i, i], action=i % 4, reward=float(i), next_obs=[i + 1, i + 1], discount=0.8,
                next_mask=[True, False, True, i % 2 == 0])
    assert len(mem) == 3 and mem.next == 2
    assert sorted(mem.data["reward"].tolist()) == [2.0, 3.0, 4.0]      # items 0 and 1 were overwritten
    assert mem.data["next_mask"][0].tolist() == [True, False, True, False]   # item 3 sits in slot 0
    batch = mem.sample(64)
    assert batch["obs"].shape == (64, 2) and batch["next_mask"].shape == (64, 4)
    assert set(batch["reward"].tolist()) <= {2.0, 3.0, 4.0}


def test_replay_sampling_is_seeded():
    def draws(seed):
        mem = ReplayMemory.transitions(10, (1,), 2, seed=seed)
        for i in range(10):
            mem.add(obs=[i], action=0, reward=i, next_obs=[i], discount=1.0, next_mask=[True, True])
        return mem.sample(8)["reward"].tolist()

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)


def test_replay_rejects_missing_fields():
    mem = ReplayMemory.transitions(2, (1,), 2)
    with pytest.raises(KeyError):
        mem.add(obs=[0], action=0)


# ---------------------------------------------------------------------------------------------- heads
def test_dueling_head_subtracts_the_mean_over_the_whole_action_set():
    head = DuelingHead(2, 3)
    with torch.no_grad():
        head.value.weight[:] = torch.tensor([[1.0, 0.0]])
        head.value.bias[:] = 0.5
        head.advantage.weight[:] = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
        head.advantage.bias[:] = 0.0
        q = head(torch.tensor([[2.0, 4.0]]))
    # V = 2.5, A = (2, 4, 6), mean A = 4 -> Q = (0.5, 2.5, 4.5)
    assert q.tolist() == [[0.5, 2.5, 4.5]]


def test_branching_head_shapes_and_per_branch_mean():
    head = BranchingDuelingHead(5, 3, 4)
    x = torch.randn(7, 5)
    q = head(x)
    assert q.shape == (7, 3, 4)
    v = head.value(x)                                           # Q_n averaged over actions = V
    assert torch.allclose(q.mean(dim=-1), v.expand(7, 3), atol=1e-6)


# ---------------------------------------------------------------------------------------------- targets
def test_double_dqn_target_on_hand_computed_numbers():
    q_online = torch.tensor([[1.0, 5.0, 3.0], [2.0, 0.0, 1.0]])
    q_target = torch.tensor([[10.0, 20.0, 30.0], [7.0, 8.0, 9.0]])
    reward = torch.tensor([1.0, -1.0])
    discount = torch.tensor([0.8, 0.0])
    # a* from the online net: 1 and 0; y = r + γ Q⁻(o', a*) = 1 + 0.8*20 = 17, and -1 + 0 = -1
    assert double_dqn_targets(q_online, q_target, reward, discount).tolist() == pytest.approx([17.0, -1.0])
    # masking a* = 1 in row 0 moves the argmax to action 2: y = 1 + 0.8*30 = 25
    mask = torch.tensor([[True, False, True], [True, True, True]])
    assert double_dqn_targets(q_online, q_target, reward, discount, mask).tolist() == pytest.approx([25.0, -1.0])


def test_branching_target_averages_the_branches():
    q_online = torch.tensor([[[0.0, 1.0], [3.0, 2.0]]])         # branch argmax: 1, 0
    q_target = torch.tensor([[[5.0, 6.0], [7.0, 9.0]]])         # picks 6 and 7 -> mean 6.5
    y = double_dqn_targets(q_online, q_target, torch.tensor([0.5]), torch.tensor([0.8]))
    assert y.tolist() == pytest.approx([0.5 + 0.8 * 6.5])


def test_masked_argmax_never_picks_a_masked_action():
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(200, 6, generator=gen) * 1e6
    mask = torch.rand(200, 6, generator=gen) < 0.4
    mask[:, 5] = True                                            # at least one valid action per row
    best = masked_argmax(q, mask)
    assert mask.gather(1, best.unsqueeze(1)).all()
    assert MASK_VALUE == -1e9


def test_td_loss_target_uses_the_stored_next_mask():
    class Fixed(torch.nn.Module):
        def __init__(self, values):
            super().__init__()
            self.values = torch.nn.Parameter(torch.tensor(values))

        def forward(self, obs):
            return self.values.expand(obs.shape[0], -1)

    net, target = Fixed([0.0, 100.0, 1.0]), Fixed([0.0, 50.0, 2.0])
    batch = {"obs": torch.zeros(1, 1), "action": torch.tensor([0]), "reward": torch.tensor([1.0]),
             "next_obs": torch.zeros(1, 1), "discount": torch.tensor([0.5]),
             "next_mask": torch.tensor([[True, False, True]])}
    # masked argmax on o' is action 2 (action 1 is masked): y = 1 + 0.5*2 = 2, Q(o,0) = 0 -> loss 4
    assert td_loss(net, target, batch).item() == pytest.approx(4.0)


# ---------------------------------------------------------------------------------------------- exploration
def test_linear_epsilon_values():
    eps = LinearEpsilon(1.0, 0.00005, 0.0001)
    assert eps.value == 1.0
    eps.step()
    assert eps.value == pytest.approx(0.99995)
    eps.steps = 10_000
    assert eps.value == pytest.approx(0.5)
    eps.steps = 20_000
    assert eps.value == pytest.approx(0.0001)                    # floor
    eps.steps = 10 ** 6
    assert eps.value == pytest.approx(0.0001)


def test_epsilon_greedy_respects_the_mask_in_every_branch():
    rng = np.random.default_rng(0)
    q = np.array([[5.0, 1.0, 0.0], [0.0, 9.0, 3.0]])
    mask = np.array([[False, True, True], [True, False, True]])
    assert epsilon_greedy(q, mask, 0.0, rng).tolist() == [1, 2]  # greedy among valid actions
    for _ in range(200):
        a = epsilon_greedy(q, mask, 1.0, rng)                    # uniform among valid actions
        assert mask[0, a[0]] and mask[1, a[1]]
    assert epsilon_greedy(np.array([1.0, 2.0]), None, 0.0, rng) == 1


# ---------------------------------------------------------------------------------------------- checkpoints
def test_checkpoint_round_trip(tmp_path):
    net = MLPQNet(4, 3, hidden=(8, 8))
    path = ckpt.save_checkpoint(tmp_path / "sub" / "model", {"net": net.state_dict()}, {"train_s": 1.5, "curve": []})
    assert path.name == "model.pt" and ckpt.exists(path)
    states, meta = ckpt.load_checkpoint(path)
    other = MLPQNet(4, 3, hidden=(8, 8))
    other.load_state_dict(states["net"])
    x = torch.randn(2, 4)
    assert torch.equal(net(x), other(x))
    assert meta == {"train_s": 1.5, "curve": []}


def test_cache_key_changes_with_config_seed_and_code(monkeypatch, tmp_path):
    base = ckpt.cache_key("allocate", "small", "perfect", {"lr": 0.001}, 0, "0.1.0+abc")
    assert base == ckpt.cache_key("allocate", "small", "perfect", {"lr": 0.001}, 0, "0.1.0+abc")
    assert base != ckpt.cache_key("allocate", "small", "perfect", {"lr": 0.01}, 0, "0.1.0+abc")
    assert base != ckpt.cache_key("allocate", "small", "perfect", {"lr": 0.001}, 1, "0.1.0+abc")
    assert base != ckpt.cache_key("allocate", "tiny", "perfect", {"lr": 0.001}, 0, "0.1.0+abc")
    assert base != ckpt.cache_key("allocate", "small", "perfect", {"lr": 0.001}, 0, "0.1.0+abd")
    src = tmp_path / "m.py"
    src.write_text("a = 1\n")
    v1 = ckpt.code_version([src])
    src.write_text("a = 2\n")
    assert ckpt.code_version([src]) != v1
    monkeypatch.setenv("OPTKIT_CACHE", str(tmp_path / "cache"))
    assert ckpt.cache_path("allocate", "perfect", base).parent == tmp_path / "cache" / "allocate" / "perfect"


# ---------------------------------------------------------------------------------------------- training
def _train_once(seed: int) -> tuple[list, list]:
    rng = np.random.default_rng(seed)
    with deterministic(seed):
        agent = DQNAgent(MLPQNet(3, 2, hidden=(16, 16)), ReplayMemory.transitions(100, (3,), 2, seed=seed),
                         batch_size=8, target_sync=5)
        losses = []

        def episode(e):
            total = 0.0
            for _ in range(10):
                obs = rng.normal(size=3).astype(np.float32)
                a = agent.act(obs, None, 0.5, rng)
                r = float(obs[a])
                agent.memory.add(obs=obs, action=a, reward=r, next_obs=obs, discount=0.0, next_mask=[True, True])
                loss = agent.train_step()
                if loss is not None:
                    losses.append(loss)
                total += r
            return {"return": total}

        curve = run_episodes(5, episode, progress_every=2, label="t", stream=io.StringIO())
    return curve, losses


def test_training_is_deterministic_on_cpu_and_restores_torch_settings():
    threads = torch.get_num_threads()
    a, b = _train_once(7), _train_once(7)
    assert a == b and len(a[1]) > 0
    assert [r["episode"] for r in a[0]] == [0, 1, 2, 3, 4]
    assert torch.get_num_threads() == threads and not torch.are_deterministic_algorithms_enabled()


def test_progress_line_has_episode_and_eta():
    out = io.StringIO()
    run_episodes(4, lambda e: {"return": float(e)}, label="demo", progress_every=2, stream=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("demo: episode 2/4, return 1.000") and "ETA" in lines[0]


def test_agent_syncs_the_target_every_n_gradient_steps():
    torch.manual_seed(0)
    mem = ReplayMemory.transitions(50, (2,), 2, seed=0)
    for i in range(20):
        mem.add(obs=[i, 1], action=i % 2, reward=1.0, next_obs=[i, 1], discount=0.5, next_mask=[True, True])
    agent = DQNAgent(MLPQNet(2, 2, hidden=(8,)), mem, batch_size=4, target_sync=3)
    agent.train_step()
    agent.train_step()
    differ = any(not torch.equal(p, q) for p, q in zip(agent.net.parameters(), agent.target_net.parameters()))
    assert differ
    agent.train_step()
    assert all(torch.equal(p, q) for p, q in zip(agent.net.parameters(), agent.target_net.parameters()))
