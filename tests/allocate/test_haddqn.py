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


def test_haddqn_contract_suite(cache_dir):
    assert "honest status" in check_method(FAMILY, "haddqn", budget="check")


def test_haddqn_train_then_cache_hit(cache_dir, monkeypatch):
    first = haddqn.train(FAMILY, "tiny", seed=3, budget="check", progress=False)
    assert set(first) == {"path", "train_s", "episodes", "curve", "cache_hit"} and not first["cache_hit"]
    monkeypatch.setattr(runner, "_fit", lambda *a: lambda *b: pytest.fail("training repeated on a cache hit"))
    second = haddqn.train(FAMILY, "tiny", seed=3, budget="check", progress=False)
    assert second["cache_hit"] and second["train_s"] == first["train_s"] and second["path"] == first["path"]


def test_haddqn_shares_perfects_epsilon_schedule():
    from optkit.learners import harness

    for budget in ("smoke", "quick", "paper"):
        ours, theirs = (harness.load_config(FAMILY, m, budget) for m in ("haddqn", "perfect"))
        assert ours["eps_decrement_pl"] == theirs["eps_decrement_pl"] and ours["episodes"] == theirs["episodes"]
    cfg = harness.load_config(FAMILY, "haddqn", "quick")
    assert cfg["explore_valid"] and cfg["discount_every_step"]


def test_haddqn_explores_valid_actions_and_exploits_unmasked():
    """DV-HD3: the random branch of Algorithm 2 draws valid actions; the greedy branch ignores the mask."""
    import numpy as np
    import torch
    from optkit.learners import harness

    cfg = harness.load_config(FAMILY, "haddqn", "check")
    d = {"F": 2, "N": 2}
    model = haddqn.HaDDQN(d, cfg, np.random.default_rng(0))
    with torch.no_grad():                               # make the invalid action 0 the greedy choice
        model.pl.net.head.q.bias.fill_(0.0)
        model.pl.net.head.q.bias[0] = 100.0
    mask = np.array([False, True, False, True, True])
    obs = np.zeros(model.n_obs, dtype=np.float32)
    model.eps.steps = 0                                 # ε = 1: always explore
    assert all(mask[model._choice(obs, mask, train=True)] for _ in range(50))
    assert model._choice(obs, mask, train=False) == 0   # ε = 0: unmasked argmax, even if invalid
