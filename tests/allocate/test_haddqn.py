"""HaDDQN baseline of the allocate family (docs/families/allocate.md §7.4, Decision D20)."""
from __future__ import annotations


import pytest

import optkit
from optkit.checks import check_method
from optkit.learners.allocate import haddqn, runner

FAMILY = "allocate"


def test_haddqn_runs_without_collisions(cache_dir):
    for seed in range(3):
        inst = optkit.make_instance(FAMILY, "tiny", seed)
        sol = haddqn.solve(inst, seed=0, budget="check")
        m = optkit.evaluate(inst, sol).metrics
        assert m["viol_collision"] == 0 and m["viol_capacity"] == 0 and m["viol_poa"] == 0
        assert sol.info["budget"] == "check" and sol.info["episodes"] == len(sol.info["curve"])
        assert sol.runtime_s > 0 and sol.info["train_s"] > 0
    assert sol.info["cache_hit"]                         # trained once for the preset, then cached


@pytest.mark.parametrize("method", ["haddqn", "haddqn-literal"])
def test_haddqn_contract_suite(cache_dir, method):
    assert "honest status" in check_method(FAMILY, method, budget="check")


def test_haddqn_train_then_cache_hit(cache_dir, monkeypatch):
    first = haddqn.train(FAMILY, "tiny", seed=3, budget="check", progress=False)
    assert set(first) == {"path", "train_s", "episodes", "curve", "cache_hit"} and not first["cache_hit"]
    monkeypatch.setattr(runner, "_fit", lambda *a: lambda *b: pytest.fail("training repeated on a cache hit"))
    second = haddqn.train(FAMILY, "tiny", seed=3, budget="check", progress=False)
    assert second["cache_hit"] and second["train_s"] == first["train_s"] and second["path"] == first["path"]


def test_haddqn_shares_perfects_schedule_and_the_literal_row_keeps_the_paper_form():
    from optkit.learners import harness

    for budget in ("smoke", "quick", "paper"):
        ours, theirs = (harness.load_config(FAMILY, m, budget) for m in ("haddqn", "perfect"))
        for key in ("eps_schedule", "eps_floor", "eps_reach", "episodes", "replay_pl", "validation_seeds"):
            assert ours[key] == theirs[key], key
    cfg = harness.load_config(FAMILY, "haddqn", "quick")
    assert cfg["explore_valid"] and not cfg["discount_every_step"] and cfg["invalid_action"] == "terminal"
    assert cfg["invalid_targets"] == 8
    lit = harness.load_config(FAMILY, "haddqn-literal", "quick")
    assert lit["invalid_action"] == "self_loop" and lit["discount_every_step"] and lit["invalid_targets"] == 0
    assert lit["eps_schedule"] == "paper" and lit["eps_floor"] == 0.0001 and lit["replay_pl"] == 1000
    assert not lit["select_checkpoint"]


def _model(method="haddqn", d=None):
    import numpy as np
    from optkit.learners import harness

    cfg = harness.config_from(haddqn.HaDDQNConfig, harness.load_config(FAMILY, method, "check"))
    return haddqn.HaDDQN(d or {"F": 2, "N": 2}, cfg, np.random.default_rng(0))


def test_haddqn_explores_valid_actions_and_exploits_unmasked():
    """The random branch of Algorithm 2 draws valid actions; the greedy branch ignores the mask."""
    import numpy as np
    import torch

    model = _model()
    with torch.no_grad():                               # make the invalid action 0 the greedy choice
        model.pl.net.head.q.bias.fill_(0.0)
        model.pl.net.head.q.bias[0] = 100.0
    mask = np.array([False, True, False, True, True])
    obs = np.zeros(model.n_obs, dtype=np.float32)
    model.set_episode(0, 4)                             # ε = 1: always explore
    assert all(mask[model._choice(obs, mask, train=True)] for _ in range(50))
    assert model._choice(obs, mask, train=False) == 0   # ε = 0: unmasked argmax, even if invalid


def test_invalid_action_targets_pull_invalid_values_to_stop_minus_one():
    """D34(c): with only invalid-action targets in play (reward and discount such that the TD term is satisfied),
    training drives Q(o, a_inv) to Q(o, STOP; W⁻) - 1 for the invalid actions of o and leaves valid ones alone."""
    import numpy as np
    import torch

    from optkit.learners.training import deterministic

    model = _model()
    obs = np.ones(model.n_obs, dtype=np.float32)
    mask = np.array([False, True, False, True, True])
    for _ in range(64):
        model.pl.memory.add(obs=obs, action=model.stop, reward=0.0, next_obs=obs, discount=0.0,
                            next_mask=np.ones(5, dtype=bool), mask=mask)
    with deterministic(0):
        for _ in range(150):
            model.pl.train_step()
        model.pl.sync_target()
        q = model.pl.q_values(obs[None])[0]
    assert abs(q[model.stop]) < 0.05                    # TD: Q(o, STOP) -> 0
    assert np.allclose(q[[0, 2]], q[model.stop] - 1.0, atol=0.1)
