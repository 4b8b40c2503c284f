"""HaDDQN baseline of the allocate family (spec allocate.md §7.4, Decision D20)."""
from __future__ import annotations

import os

import pytest

import optkit
from optkit.checks import check_method
from optkit.learners.allocate import haddqn, runner

FAMILY = "allocate"


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("optkit-cache")
    old = os.environ.get("OPTKIT_CACHE")
    os.environ["OPTKIT_CACHE"] = str(path)
    yield path
    if old is None:
        os.environ.pop("OPTKIT_CACHE")
    else:
        os.environ["OPTKIT_CACHE"] = old


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


def test_haddqn_exploration_lasts_a_good_part_of_every_budget():
    """DV-HD1: the unmasked agent takes up to 2|ℱ| decisions per frame; ε' must not exhaust exploration in the
    first few episodes (it did with perfect's per-decision ε': floor after ~13 quick episodes)."""
    from optkit.learners import harness

    for budget, preset in (("smoke", "tiny"), ("quick", "small"), ("paper", "small")):
        cfg = harness.load_config(FAMILY, "haddqn", budget)
        inst = optkit.make_instance(FAMILY, preset, 0)
        most = inst.T * cfg["max_steps_factor"] * inst.n_functions            # decisions per episode, at most
        floor_at = (cfg["eps_start"] - cfg["eps_floor"]) / cfg["eps_decrement_pl"]
        assert floor_at / most >= 0.1 * cfg["episodes"], budget               # not exhausted early
        assert floor_at / (most / 4) <= cfg["episodes"], budget               # floor within the budget at a measured pace
    assert harness.load_config(FAMILY, "haddqn", "quick")["discount_every_step"]
