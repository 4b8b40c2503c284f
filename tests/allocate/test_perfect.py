"""PERFECT learner of the allocate family (docs/families/allocate.md §7.2, §7.7): placement masking, observations,
transition chaining, training/caching, and a smoke comparison with `random`."""
from __future__ import annotations

import functools
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import optkit
from optkit.checks import check_method
from optkit.formulations.allocate.env import OnlineEnv, Request
from optkit.learners.allocate import perfect, placement, runner
from optkit.learners.allocate.nets import PredictorNet, TrajectoryNet
from optkit.learners.allocate.observe import EpisodeHistory, displacement_index, shift_area
from optkit.learners.replay import ReplayMemory

FAMILY = "allocate"


@functools.lru_cache(maxsize=None)
def make(preset: str, seed: int = 0):
    return optkit.make_instance(FAMILY, preset, seed)


# ---------------------------------------------------------------------------------------------- §7.2.5 mask
def _request(r, funcs, demand, latency=80.0):
    return Request(r=r, ue=r, service=0, funcs=tuple(funcs), demand=tuple(demand), entry=0, duration=2, slots=3,
                   bw=2.0, latency=latency)


def _hand_built():
    """F = 3 functions, N = 3 nodes. r0 needs f0 (10) and f1 (20); r1 needs f0 (15). r0 reaches nodes 0, 1;
    r1 reaches node 1 only. Capacities 30, 12, 50 (node 2 is reached by nobody)."""
    static = SimpleNamespace(n_functions=3, N=3, cap=np.array([30.0, 12.0, 50.0]), e_node=np.array([12.0, 24.0, 36.0]))
    reqs = [_request(0, [0, 1], [10.0, 20.0]), _request(1, [0], [15.0])]
    reach = {0: np.array([True, True, False]), 1: np.array([False, True, False])}
    return placement.PlacementProblem(static, reqs, reach, alpha=0.001)


def test_placement_mask_rules_on_a_hand_built_state():
    p = _hand_built()
    assert p.n_actions == 10 and p.stop == 9
    valid = p.mask().reshape(-1)
    # f0: need 25, open pairs (r0, 10) and (r1, 15) -> smallest 10; reachable nodes {0, 1}; node 1 has 12 >= 10
    assert valid[0 * 3 + 0] and valid[0 * 3 + 1] and not valid[0 * 3 + 2]          # node 2 unreachable
    # f1: only r0 (20): node 0 (30) ok, node 1 (12 < 20) fails the capacity rule, node 2 unreachable
    assert valid[1 * 3 + 0] and not valid[1 * 3 + 1] and not valid[1 * 3 + 2]
    assert not valid[2 * 3:3 * 3].any()                                              # f2 is not requested
    assert valid[p.stop]                                                             # STOP always valid
    obs = p.obs()
    assert obs.shape == (2 * 3 + 4 * 3 + 3 * 3,) and obs.dtype == np.float32
    assert obs[:3].tolist() == pytest.approx([0.25, 0.2, 0.0])                       # requested / 100
    assert obs[3 + 3 + 3 * 3:3 + 3 + 4 * 3].tolist() == pytest.approx([0.3, 0.45, 0.0])   # reachable demand


def test_placement_deploy_preassigns_in_decreasing_demand():
    p = _hand_built()
    reward = p.deploy(0 * 3 + 1)                        # f0 on node 1 (rem 12): r1 (15) does not fit, r0 (10) does
    assert reward == pytest.approx(-0.001 * 24.0)
    assert p.assigned == {(0, 0)} and p.rem[1] == pytest.approx(2.0) and p.need[0] == pytest.approx(15.0)
    valid = p.mask()
    assert not valid[0 * 3 + 1]                         # already deployed
    assert not valid[0 * 3 + 0]                         # remaining open pair r1 does not reach node 0
    p.deploy(1 * 3 + 0)                                 # f1 on node 0 -> r0's f1 assigned
    assert p.need[1] == pytest.approx(0.0) and not p.mask()[1 * 3:2 * 3].any()
    assert p.placement() == {(0, 1), (1, 0)}


def test_preassignment_keeps_a_request_on_one_feasible_route():
    """DV-PL1: the hosts pre-assigned to a request must lie together on one of its feasible candidate routes,
    otherwise the router cannot serve it (nodes 1 and 2 are each reachable but on no common route)."""
    static = SimpleNamespace(n_functions=2, N=3, cap=np.array([50.0, 50.0, 50.0]), e_node=np.array([12.0, 12.0, 12.0]))
    reqs = [_request(0, [0, 1], [10.0, 10.0])]
    routes = {0: [frozenset({0}), frozenset({0, 1}), frozenset({0, 2})]}
    p = placement.PlacementProblem(static, reqs, {0: np.array([True, True, True])}, 0.001, routes)
    p.deploy(0 * 3 + 1)                                 # f0 on node 1
    assert p.hosts[0] == {1}
    valid = p.mask()
    assert valid[1 * 3 + 0] and valid[1 * 3 + 1] and not valid[1 * 3 + 2]      # f1 on node 2: no common route
    p.deploy(1 * 3 + 0)
    assert p.assigned == {(0, 0), (0, 1)} and p.hosts[0] == {0, 1}


def test_route_sets_filter_latency_and_bandwidth():
    inst = make("small")
    env = OnlineEnv(inst)
    env.commit_uav_areas(0, env.initial_uav_area)
    info = env.start_frame(0)
    from optkit.formulations.allocate.online import poa_rule
    poa = poa_rule(env.static, info)
    reqs = [q for q in info.active if q.r in poa]
    sets = placement.route_sets(env.static, info, poa, reqs)
    for q in reqs:
        assert frozenset({poa[q.r]}) in sets[q.r]                       # the trivial route is always feasible
        assert all(poa[q.r] in nodes for nodes in sets[q.r])


def test_sequence_ends_when_nothing_is_valid_and_unmasked_invalid_actions_cost_one():
    p = _hand_built()
    steps = placement.run_sequence(p, lambda obs, mask: 2 * 3 + 2, use_mask=False, max_steps=4)
    assert [s.reward for s in steps] == [-1.0] * 4 and p.placement() == set()       # state unchanged
    p = _hand_built()
    order = iter([0 * 3 + 1, 1 * 3 + 0, 0 * 3 + 1])

    steps = placement.run_sequence(p, lambda obs, mask: next(order), use_mask=True)
    # after (f0, n1) and (f1, n0) only r1's f0 is open: node 1 has 2 left < 15, node 0 is unreachable -> ends
    assert [s.action for s in steps] == [1, 3]
    p = placement.PlacementProblem(p.static, [], {}, 0.001)
    steps = placement.run_sequence(p, lambda obs, mask: 0, use_mask=True)
    assert [s.action for s in steps] == [p.stop]         # no valid deploy at all: STOP is recorded


def test_invalid_action_ends_the_frame_for_haddqn_and_loops_in_the_literal_form():
    p = _hand_built()
    steps = placement.run_sequence(p, lambda obs, mask: 2 * 3 + 2, use_mask=False, max_steps=4, invalid_ends=True)
    assert [s.reward for s in steps] == [-1.0] and p.placement() == set()       # D34(a): one step, then over


def test_placement_rule_deploys_the_cheapest_valid_pair_until_none_is_valid():
    p = _hand_built()
    steps = placement.run_sequence(p, placement.rule_choice(p), use_mask=True)
    e = np.asarray(p.static.e_node)
    for s in steps[:-1] if steps[-1].action == p.stop else steps:
        valid = np.flatnonzero(s.mask[: p.stop])
        assert s.action in valid and e[s.action % p.N] == e[valid % p.N].min()
    assert not p.any_deploy_valid()                     # STOP only once nothing is valid


def test_shaping_adds_potential_differences_and_keeps_the_frame_return():
    """D33: F_k = Φ(o_{k+1}) - Φ(o_k) inside a frame and -Φ(o_k) at the terminal step: the frame's shaped return
    equals the unshaped one."""
    mk = lambda *m: np.array(m, dtype=bool)                                          # noqa: E731
    frame = [placement.Step(np.array([0, 0], np.float32), mk(1, 1, 1), 0, -0.1, 0.0),
             placement.Step(np.array([1, 0], np.float32), mk(1, 1, 1), 1, -0.2, 0.5),
             placement.Step(np.array([2, 0], np.float32), mk(1, 1, 1), 2, 0.0, 1.0)]
    rewards = {}
    for shaping in (False, True):
        mem = ReplayMemory.transitions(20, (2,), 3, seed=0)
        chain = placement.PlacementChain(mem, 0.8, 3, use_mask=True, shaping=shaping)
        chain.add_frame(frame, 2.0)
        chain.close()
        rewards[shaping] = mem.data["reward"][: len(mem)].tolist()
    assert rewards[False] == pytest.approx([-0.1, -0.2, 2.0])
    assert rewards[True] == pytest.approx([-0.1 + 0.5, -0.2 + 0.5, 2.0 - 1.0])
    assert sum(rewards[True]) == pytest.approx(sum(rewards[False]))


def test_placement_chain_discounts_and_next_masks():
    mem = ReplayMemory.transitions(20, (2,), 3, seed=0)
    chain = placement.PlacementChain(mem, 0.8, 3, use_mask=True)
    mk = lambda *m: np.array(m, dtype=bool)                                          # noqa: E731
    frame0 = [placement.Step(np.array([0, 0], np.float32), mk(1, 1, 1), 0, -0.1),
              placement.Step(np.array([1, 0], np.float32), mk(0, 1, 1), 2, 0.0)]
    frame1 = [placement.Step(np.array([2, 0], np.float32), mk(1, 0, 1), 1, -0.2)]
    chain.add_frame(frame0, 5.0)
    chain.add_frame(frame1, 1.0)
    chain.close()
    d = {k: v[: len(mem)] for k, v in mem.data.items()}
    assert d["discount"].tolist() == pytest.approx([1.0, 0.8, 0.0])
    assert d["reward"].tolist() == pytest.approx([-0.1, 5.0, 0.8])
    assert d["next_obs"][1].tolist() == [2, 0] and d["next_mask"][1].tolist() == [True, False, True]


def test_placement_chain_inner_discount_for_haddqn():
    """DV-HD2: with inner_discount = Γ every step is discounted (haddqn); the frame boundary keeps Γ."""
    mem = ReplayMemory.transitions(20, (2,), 3, seed=0)
    chain = placement.PlacementChain(mem, 0.8, 3, use_mask=False, inner_discount=0.8)
    mk = lambda *m: np.array(m, dtype=bool)                                          # noqa: E731
    frame0 = [placement.Step(np.array([0, 0], np.float32), mk(1, 1, 1), 0, -1.0),
              placement.Step(np.array([0, 0], np.float32), mk(1, 1, 1), 2, 0.0)]
    chain.add_frame(frame0, 1.0)
    chain.close()
    d = {k: v[: len(mem)] for k, v in mem.data.items()}
    assert d["discount"].tolist() == pytest.approx([0.8, 0.0]) and d["next_mask"].all()


# ---------------------------------------------------------------------------------------------- observations
def test_predictor_and_trajectory_observation_shapes():
    inst = make("tiny")
    static = OnlineEnv(inst).static
    hist = EpisodeHistory(static)
    H, U = static.H, static.n_ues
    ig = hist.ig_obs(-1)
    assert ig.shape == (U, (H + 1) * (2 * 25 + 11)) and ig.dtype == np.float32
    first = ig[:, :61]                                   # frame -H-1 is before the history: zero padded
    assert not first.any()
    tp = hist.tp_obs(-1, np.full(static.A, 50.0), False, False)                      # the paper's 2 + N_u channels
    assert tp.shape == (H + 1, 2 + static.n_uav, 3, 3)
    assert tp[-1, -1].tolist() == [[0.5] * 3] * 3 and tp[:-1, -1].sum() == 0        # D̃ only at h = t
    assert tp[0].sum() == 0 and tp[1, 1:1 + static.n_uav].sum() == static.n_uav     # UAV one-hots in history
    full = hist.tp_obs(-1, np.full(static.A, 50.0), True, True)                      # D32: counts and RSU areas
    assert full.shape == (H + 1, 4 + static.n_uav, 3, 3)
    assert np.array_equal(full[:, 0], tp[:, 0]) and np.array_equal(full[:, 2:2 + static.n_uav], tp[:, 1:-1])
    assert np.allclose(full[1:, 1].reshape(H, -1), hist.counts[:H] / 10.0)       # cnt^h / 10 per history step
    assert np.array_equal(full[:, -1], tp[:, -1])
    rsu = np.asarray(static.node_area[static.n_core:static.n_core + static.n_rsu])
    assert all(full[k, -2].reshape(-1)[rsu].all() and full[k, -2].sum() == len(set(rsu.tolist()))
               for k in range(H + 1))
    n_ch, first_uav = EpisodeHistory.tp_layout(static.n_uav, True, True)
    with torch.no_grad():
        q_ig = PredictorNet(H + 1)(torch.from_numpy(ig))
        q_tp = TrajectoryNet(static.n_uav, (3, 3), H + 1, n_ch, first_uav, 0.05)(torch.from_numpy(full)[None])
    assert q_ig.shape == (U, 11) and q_tp.shape == (1, static.n_uav, 9)


def test_untrained_trajectory_planner_keeps_every_uav_in_place():
    """D32: zero-initialised advantage heads and the stay prior make staying the greedy action of every UAV."""
    inst = make("online", 3)
    static = OnlineEnv(inst).static
    hist = EpisodeHistory(static)
    n_ch, first_uav = EpisodeHistory.tp_layout(static.n_uav, True, True)
    net = TrajectoryNet(static.n_uav, (4, 4), static.H + 1, n_ch, first_uav, 0.05)
    obs = hist.tp_obs(-1, np.random.default_rng(0).uniform(0, 100, static.A), True, True)
    with torch.no_grad():
        q = net(torch.from_numpy(obs)[None])[0].numpy()
    start = np.asarray(static.node_area[static.n_core + static.n_rsu:])
    assert q.argmax(axis=1).tolist() == start.tolist()
    assert np.allclose(np.sort(q, axis=1)[:, -1] - np.sort(q, axis=1)[:, -2], 0.05, atol=1e-6)


def test_history_events_enter_the_demand_grid_and_the_predictor_flags():
    """D27: a history event (u, h) counts 42 Mbps in dem^h at u's area and sets u's "issued in frame h" flag."""
    inst = make("online", 0)
    static = OnlineEnv(inst).static
    hist = EpisodeHistory(static)
    H = static.H
    expected = np.zeros((H, static.A))
    for u, h in inst.hist_events:
        expected[h + H, inst.ue_area[u, h + H]] += 42.0
    assert len(inst.hist_events) == 4 and np.array_equal(hist.demand[:H], expected)
    ig = hist.ig_obs(-1).reshape(static.n_ues, H + 1, 61)
    flags = ig[:, :, 50 + 9]                            # "issued in frame h" for h = -1-H..-1
    for u, h in inst.hist_events:
        assert flags[u, h + H + 1] == 1.0
    assert flags.sum() == len(inst.hist_events)


def test_displacement_and_shift_round_trip():
    before = np.array([4, 4, 0, 8, 4])
    after = np.array([5, 0, 1, 8, -1])
    idx = displacement_index(before, after, 3)
    assert idx.tolist() == [5, 0, 5, 4, -1]
    assert shift_area(before[:4], idx[:4], 3, 3).tolist() == after[:4].tolist()
    assert shift_area(np.array([0]), np.array([0]), 3, 3).tolist() == [0]          # clipped at the corner


# ---------------------------------------------------------------------------------------------- training
@pytest.mark.slow
def test_second_call_hits_the_cache_and_train_reports_it(cache_dir, monkeypatch):
    inst = make("tiny", 1)
    first = perfect.solve(inst, seed=0, budget="check")
    monkeypatch.setattr(runner, "_fit", lambda *a: lambda *b: pytest.fail("training repeated on a cache hit"))
    second = perfect.solve(inst, seed=0, budget="check")
    assert second.info["cache_hit"] and second.info["train_s"] == first.info["train_s"]
    assert second.info["checkpoint"] == first.info["checkpoint"]
    out = perfect.train(FAMILY, "tiny", seed=0, budget="check", out=str(cache_dir / "copy.pt"), progress=False)
    assert out["cache_hit"] and out["path"].endswith("copy.pt") and out["episodes"] == first.info["episodes"]
    third = perfect.solve(inst, seed=0, budget="check", checkpoint=out["path"])
    assert optkit.api.registry.family_api(FAMILY).decisions_to_jsonable(third.decisions) == \
        optkit.api.registry.family_api(FAMILY).decisions_to_jsonable(first.decisions)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["perfect", "perfect-literal-mac", "perfect-nopred", "perfect-literal-hl",
                                    "perfect-shaped"])
def test_contract_suite(cache_dir, method):
    assert "deterministic under a fixed seed" in check_method(FAMILY, method, budget="check")


def test_variants_resolve_their_flags_and_every_config_builds_its_dataclass():
    from optkit.learners import harness
    from optkit.learners.allocate.haddqn import HaDDQNConfig
    from optkit.learners.allocate.perfect import PerfectConfig

    base = harness.load_config(FAMILY, "perfect", "smoke")
    literal = harness.load_config(FAMILY, "perfect-literal-mac", "smoke")
    nopred = harness.load_config(FAMILY, "perfect-nopred", "smoke", lr=0.01, batch_size=8)
    assert base["hedge"] and base["predictor"] and not literal["hedge"] and not nopred["predictor"]
    assert nopred["lr"] == 0.01 and nopred["batch_size"] == 8 and literal["episodes"] == base["episodes"]
    assert base["hl_coupling"] == "tp" and harness.load_config(FAMILY, "perfect-literal-hl", "smoke")["hl_coupling"] \
        == "literal"
    assert not base["pl_shaping"] and harness.load_config(FAMILY, "perfect-shaped", "smoke")["pl_shaping"]
    paper = harness.load_config(FAMILY, "perfect", "paper")
    assert paper["episodes"] == 3000 and paper["replay_tp"] == paper["replay_pl"] == 10000      # D30
    for method, cls in (("perfect", PerfectConfig), ("perfect-literal-mac", PerfectConfig),
                        ("perfect-nopred", PerfectConfig), ("perfect-literal-hl", PerfectConfig),
                        ("perfect-shaped", PerfectConfig), ("haddqn", HaDDQNConfig), ("haddqn-literal", HaDDQNConfig)):
        for budget in ("check", "smoke", "quick", "paper"):
            harness.config_from(cls, harness.load_config(FAMILY, method, budget))
    with pytest.raises(optkit.errors.InputError, match="not a setting"):
        harness.config_from(PerfectConfig, {**base, "eps_decrement_tp": 0.1})
    missing = dict(base)
    del missing["gamma"]
    with pytest.raises(optkit.errors.InputError, match="'gamma' is not set"):
        harness.config_from(PerfectConfig, missing)


def test_learner_config_is_not_a_scenario():
    from optkit.scenarios import scenario_ids

    assert "_learners" not in scenario_ids(FAMILY) and "small" in scenario_ids(FAMILY)


def test_model_for_another_preset_is_rejected(cache_dir):
    from optkit.errors import InputError

    trained = perfect.train(FAMILY, "tiny", seed=0, budget="check", progress=False)
    with pytest.raises(InputError, match="sizes"):
        perfect.solve(make("small"), budget="check", checkpoint=trained["path"])
