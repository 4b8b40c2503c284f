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


def _model(method="haddqn", d=None, **overrides):
    import numpy as np
    from optkit.learners import harness

    cfg = harness.config_from(haddqn.HaDDQNConfig, {**harness.load_config(FAMILY, method, "check"), **overrides})
    return haddqn.HaDDQN(d or {"F": 2, "N": 2}, cfg, np.random.default_rng(0))


def test_haddqn_explores_valid_actions_and_exploits_unmasked():
    """The random branch of Algorithm 2 draws valid actions; the greedy branch ignores the mask."""
    import numpy as np
    import torch

    model = _model(action_space="flat")
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

    model = _model(action_space="flat")
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


def test_factored_placement_visits_pairs_in_priority_order_and_hosts_them():
    """D34(e): each step hosts the current (r, f) pair on a node or stops; a new host deploys f there; an invalid
    host ends the frame with -1 (as in the flat form)."""
    import numpy as np
    from optkit.formulations.allocate.env import OnlineEnv
    from optkit.formulations.allocate.online import algorithm3, poa_rule
    from optkit.learners.allocate import placement

    def frame0(seed):
        inst = optkit.make_instance(FAMILY, "online", seed)
        env = OnlineEnv(inst)
        env.commit_uav_areas(0, env.initial_uav_area)
        info = env.start_frame(0)
        poa = poa_rule(env.static, info)
        channels = algorithm3(env.static, info, poa, np.full((inst.C, inst.A), 0.5))
        rc = [q for q in info.active if q.r in {r for r, _ in channels}]
        base = placement.PlacementProblem(env.static, rc, placement.reachability(env.static, info, poa, rc),
                                          float(inst.alpha), placement.route_sets(env.static, info, poa, rc))
        return inst, base, placement.FactoredPlacement(base, 0)

    for seed in range(20):                               # a frame 0 with pairs, one of whose hosts is invalid
        inst, base, fp = frame0(seed)
        if fp.order and (~fp.mask()[: fp.stop]).any():
            break
    assert fp.n_actions == inst.N + 1
    assert fp.obs().shape == (placement.FactoredPlacement.obs_size(inst.n_functions, inst.N),)
    invalid = np.flatnonzero(~fp.mask()[: fp.stop])
    steps = placement.run_sequence(fp, lambda o, m: int(invalid[0]), use_mask=False, invalid_ends=True)
    assert [s.reward for s in steps] == [-1.0] and fp.placement() == set()
    inst, base, fp = frame0(seed)
    first = fp.order[0]
    n = int(np.flatnonzero(fp.mask()[: fp.stop])[0])
    reward = fp.deploy(n)
    assert reward == pytest.approx(-inst.alpha * inst.e_node[n]) and (first[0], first[1]) in base.assigned
    assert (first[1], n) in fp.placement() and fp.pos >= 1
