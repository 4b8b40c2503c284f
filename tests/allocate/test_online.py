"""Shared online building blocks of allocate (docs/families/allocate.md §7.0, §7.2.4, §7.4, E16, E17):
hand-worked router and Algorithm 3 cases, PoA tie rules, E16 values, Hungarian steps against brute force,
and C3/C4 on frames of the online environment."""
from __future__ import annotations

import dataclasses
import functools
import itertools
from collections import Counter

import numpy as np
import pytest

import optkit
from optkit.formulations.allocate import physics
from optkit.formulations.allocate.env import Feedback, FrameInfo, OnlineEnv, Request
from optkit.formulations.allocate.network import frame_graph, node_areas
from optkit.formulations.allocate import online as common
from optkit.formulations.allocate.online import (ChannelEstimate, SuccessRate, algorithm3, demand_grid,
                                               hungarian_blocks, hungarian_uav_areas, poa_rule, priority_key,
                                               reactive_area_weights, route_requests)


@functools.lru_cache(maxsize=None)
def make(preset: str, seed: int = 0):
    return optkit.make_instance("allocate", preset, seed)


def request(r, ue, funcs=(0,), demand=(10.0,), entry=0, duration=4, slots=3, bw=5.0, latency=80.0):
    return Request(r, ue, 0, tuple(funcs), tuple(float(d) for d in demand), entry, duration, slots, float(bw),
                   float(latency))


def frame_info(static, t, uav_area, ue_area, active):
    """A hand-built FrameInfo (tiny: core 0 in area 2, RSU 1 in area 8, RSU 2 in area 6, UAVs 3 and 4)."""
    uav_area = np.asarray(uav_area, dtype=np.int64)
    return FrameInfo(t, np.asarray(ue_area, dtype=np.int64), [], list(active), uav_area,
                     node_areas(static, uav_area), frame_graph(static, uav_area))


def test_tiny_layout_assumed_by_the_hand_cases():
    inst = make("tiny")
    assert list(inst.node_area[:3]) == [2, 8, 6] and (inst.n_core, inst.n_rsu, inst.n_uav) == (1, 2, 2)
    assert [tuple(e) for e in inst.link_ends] == [(0, 1), (0, 2), (1, 2), (3, 1), (3, 2), (4, 1), (4, 2), (3, 4)]
    assert inst.K == 10 and inst.C == 2 and inst.A == 9


# ---------------------------------------------------------------------------------------------- demand, priority
def test_demand_grid_and_priority_key():
    static = make("tiny")
    ue_area = np.array([0, 3, 3, 8, 0, 0, 0, 0, 0, 0])
    active = [request(0, 1, (0, 1), (10, 12)), request(1, 2, (2,), (8,)), request(2, 3, (0,), (20,))]
    info = frame_info(static, 1, [0, 0], ue_area, active)
    expected = np.zeros(9)
    expected[3], expected[8] = 30.0, 20.0
    np.testing.assert_allclose(demand_grid(static, info), expected)
    a = request(0, 1, entry=0, duration=4, latency=70)       # 3 frames left at t = 1
    b = request(1, 2, entry=1, duration=2, latency=90)       # 2 left
    c = request(2, 3, entry=0, duration=3, latency=60)       # 2 left, tighter latency
    d = request(3, 4, entry=0, duration=3, latency=60)       # same as c, higher id
    assert sorted([a, b, c, d], key=lambda q: priority_key(q, 1)) == [c, d, b, a]
    assert priority_key(c, 1) == (2, 60.0, 2)


# ---------------------------------------------------------------------------------------------- PoA rule
def test_poa_rule_ties_and_missing_nodes():
    static = dataclasses.replace(make("tiny"), cap=np.array([60.0, 40.0, 30.0, 40.0, 35.0]))
    # UAV 3 co-located with RSU 1 (area 8, same capacity), UAV 4 with RSU 2 (area 6, larger capacity)
    ue_area = np.array([8, 6, 2, 4, 0, 0, 0, 0, 0, 0])
    active = [request(r, r) for r in range(4)]
    info = frame_info(static, 0, [8, 6], ue_area, active)
    assert poa_rule(static, info) == {0: 1, 1: 4}            # tie RSU before UAV; larger Ĉ wins; core/empty: none
    # two UAVs with equal capacity in one area: lower id
    static2 = dataclasses.replace(static, cap=np.array([60.0, 40.0, 30.0, 20.0, 20.0]))
    info2 = frame_info(static2, 0, [4, 4], ue_area, active)
    assert poa_rule(static2, info2) == {0: 1, 1: 2, 3: 3}
    # a UAV with more capacity beats the RSU of its area
    static3 = dataclasses.replace(static, cap=np.array([60.0, 40.0, 30.0, 45.0, 20.0]))
    assert poa_rule(static3, frame_info(static3, 0, [8, 0], ue_area, active)) == {0: 3, 1: 2}


# ---------------------------------------------------------------------------------------------- router
def router_static():
    """tiny with hand-set capacities and link parameters; UAVs parked in area 0 (no UAV-RSU link active), so the
    component of RSU 1 is the triangle 0-1-2 with links l0 = (0,1), l1 = (0,2), l2 = (1,2)."""
    inst = make("tiny")
    return dataclasses.replace(
        inst, cap=np.array([50.0, 30.0, 40.0, 25.0, 25.0]),
        link_lat=np.array([10.0, 10.0, 10.0, 5.0, 5.0, 5.0, 5.0, 5.0]),
        link_energy=np.array([5.0, 6.0, 7.0, 1.0, 1.0, 1.0, 1.0, 1.0]),
        link_cap=np.array([20.0, 20.0, 6.0, 30.0, 30.0, 30.0, 30.0, 30.0]))


def test_route_table_order_is_energy_then_latency():
    static = router_static()
    info = frame_info(static, 0, [0, 0], np.zeros(10, dtype=int), [])
    routes = common.RouteTable(info.graph).routes(1)
    # E_p: [1] 0, [1,0] 5, [1,2] 7, [1,0,2] 11, [1,2,0] 13
    assert [p.nodes for p in routes] == [(1,), (1, 0), (1, 2), (1, 0, 2), (1, 2, 0)]
    assert [p.energy for p in routes] == [0.0, 5.0, 7.0, 11.0, 13.0]
    assert [p.lat for p in routes] == [0.0, 10.0, 10.0, 20.0, 20.0]
    assert routes[3].links == (0, 1)


def test_router_hand_worked():
    static = router_static()
    ue_area = np.full(10, 8)
    r3 = request(3, 3, funcs=(0, 2), demand=(25, 20), latency=15, bw=8)
    r5 = request(5, 5, funcs=(0, 1), demand=(10, 10), latency=60, bw=5)
    r7 = request(7, 7, funcs=(1,), demand=(30,), latency=100, bw=4)
    r9 = request(9, 9, funcs=(0,), demand=(1,), latency=100, bw=1)
    info = frame_info(static, 0, [0, 0], ue_area, [r3, r5, r7, r9])
    placement = {(0, 0), (0, 1), (1, 2), (2, 0), (2, 1)}
    poa = {3: 1, 5: 1, 7: 1}                                   # r9 has no PoA
    out = route_requests(static, info, poa, [r7, r9, r5, r3], placement)
    # r3 (Ď 15, routes of 10 ms at most): [1] hosts f0 on 1 (30 -> 5 left) but f2 needs 20 > 5; [1,0]: f0 on the
    # larger node 0 (50 > 30), f2 on node 1 (30 > 0's 25). Caps: n0 25, n1 10; l0 12.
    assert out[3].route == (1, 0) and out[3].hosts == {0: 0, 2: 1}
    # r5: [1] and [1,0] lack f1; [1,2] (l2 = 6 >= 5): f0 on 1 (10 left = 10), f1 on 2. Caps n1 0, n2 30; l2 1.
    assert out[5].route == (1, 2) and out[5].hosts == {0: 1, 1: 2}
    # r7: [1,2] skipped (l2 has 1 < 4 left); [1,0,2]: f1 on node 2 (30 >= 30).
    assert out[7].route == (1, 0, 2) and out[7].hosts == {1: 2}
    assert set(out) == {3, 5, 7}


def test_router_ties_closest_to_head_and_failures():
    static = dataclasses.replace(router_static(), cap=np.array([40.0, 40.0, 40.0, 25.0, 25.0]))
    info = frame_info(static, 0, [0, 0], np.full(10, 8), [])
    # f0 deployed on 0 and 1: the trivial route [1] hosts it (first in energy order)
    a = request(0, 0, funcs=(0,), demand=(10,), latency=50, bw=1)
    assert route_requests(static, info, {0: 1}, [a], {(0, 0), (0, 1)})[0].route == (1,)
    # f0 only on node 0 and f1 on nodes 0 and 1, both with 40 Mbps left: tie -> node 1 (closer to the head)
    b = request(1, 1, funcs=(0, 1), demand=(10, 10), latency=50, bw=1)
    out = route_requests(static, info, {1: 1}, [b], {(0, 0), (1, 0), (1, 1)})
    assert out[1].route == (1, 0) and out[1].hosts == {0: 0, 1: 1}
    # nothing fits: demand above every capacity, or latency below every non-trivial route
    c = request(2, 2, funcs=(0,), demand=(41,), latency=50, bw=1)
    d = request(3, 3, funcs=(1,), demand=(1,), latency=9, bw=1)
    assert route_requests(static, info, {2: 1, 3: 1}, [c, d], {(0, 0), (0, 1), (1, 0)}) == {}


# ---------------------------------------------------------------------------------------------- Algorithm 3
def mac_static(K=4):
    """tiny with K slots per frame and channel energies M̄ = (3, 2)."""
    return dataclasses.replace(make("tiny"), K=K, e_chan=np.array([3.0, 2.0]))


def test_algorithm3_literal_hand_worked():
    static = mac_static()
    # RSU 1 and UAV 3 share area 8; UAV 4 alone in area 0.
    ue_area = np.array([8, 8, 8, 0, 0, 0, 0, 0, 0, 0])
    r0 = request(0, 0, slots=2, entry=0, duration=5)          # 3 frames left at t = 2
    r1 = request(1, 1, slots=3, entry=0, duration=4)          # 2 left: first at RSU 1
    r2 = request(2, 2, slots=2, entry=2, duration=5)
    r3 = request(3, 3, slots=4, entry=0, duration=3)
    info = frame_info(static, 2, [8, 0], ue_area, [r0, r1, r2, r3])
    est = np.full((2, 9), 0.5)
    est[:, 8] = [0.6, 0.9]                                    # area 8: channel 1 first; area 0: tie -> lower M̄ (1)
    z = algorithm3(static, info, {0: 1, 1: 1, 2: 3, 3: 4}, est, hedge=False)
    tau = lambda k: 2 * 4 + k                                 # noqa: E731
    expected = {
        # node 1, channel 1: r1 slots 0-2, then r0 gets the last slot 3; channel 0: r0 slot 0 (its rest)
        (1, tau(0)): 1, (1, tau(1)): 1, (1, tau(2)): 1, (0, tau(3)): 1, (0, tau(0)): 0,
        # node 3 (same area, shared table): channel 1 full; channel 0 slot 0 used -> r2 at slots 1-2
        (2, tau(1)): 0, (2, tau(2)): 0,
        # node 4: r3 on channel 1, all 4 slots
        (3, tau(0)): 1, (3, tau(1)): 1, (3, tau(2)): 1, (3, tau(3)): 1,
    }
    assert z == expected


def test_algorithm3_hedged_hand_worked():
    static = mac_static()
    ue_area = np.full(10, 8)
    a = request(0, 0, slots=2, entry=0, duration=3)           # higher priority
    b = request(1, 1, slots=1, entry=0, duration=4)
    info = frame_info(static, 0, [0, 0], ue_area, [a, b])
    est = np.full((2, 9), 0.5)
    est[:, 8] = [0.6, 0.95]
    # b(2, 0.95): P[Bin(2,.95) >= 2] = .9025, P[Bin(3,.95) >= 2] = .99275 -> 3; b(1, 0.95): 1 - .05² = .9975 at 2
    assert physics.hedged_block_length(2, 0.95, 4, 0.99) == 3 and physics.hedged_block_length(1, 0.95, 4, 0.99) == 2
    z = algorithm3(static, info, {0: 1, 1: 1}, est)
    assert z == {(0, 0): 1, (0, 1): 1, (0, 2): 1, (1, 3): 1, (1, 0): 0}
    # the literal variant gives exactly Ť_r slots
    assert algorithm3(static, info, {0: 1, 1: 1}, est, hedge=False) == {(0, 0): 1, (0, 1): 1, (1, 2): 1}


def test_algorithm3_skips_requests_without_poa_and_full_tables():
    static = mac_static(K=3)
    ue_area = np.full(10, 8)
    reqs = [request(r, r, slots=3, entry=0, duration=2 + r) for r in range(4)]
    info = frame_info(static, 0, [0, 0], ue_area, reqs)
    z = algorithm3(static, info, {0: 1, 1: 1, 2: 1}, np.full((2, 9), 0.5), hedge=False)
    # 2 channels x 3 slots: r0 and r1 (highest priority) each get a whole channel (tie -> channel 1 first)
    assert z == {(0, 0): 1, (0, 1): 1, (0, 2): 1, (1, 0): 0, (1, 1): 0, (1, 2): 0}


# ---------------------------------------------------------------------------------------------- E16 / p̄
def feedback(observed, t=0):
    return Feedback(t, {}, set(), observed)


def test_channel_estimate_e16_values():
    est = ChannelEstimate(2, 9)
    np.testing.assert_array_equal(est.q, np.full((2, 9), 0.5))
    q = np.zeros((2, 10), dtype=np.uint8)
    q[0, :7] = 1                                              # O = 0.7
    q[1, :2] = 1                                              # O = 0.2
    est.update(feedback({3: q}))
    expected = np.full((2, 9), 0.5)
    expected[:, 3] = [0.3 * 0.7 + 0.7 * 0.5, 0.3 * 0.2 + 0.7 * 0.5]          # 0.56, 0.41
    np.testing.assert_allclose(est.q, expected, rtol=0, atol=1e-12)
    q2 = np.zeros((2, 10), dtype=np.uint8)
    q2[0] = 1
    est.update(feedback({3: q2, 5: q2}))
    expected[:, 3] = [0.3 + 0.7 * 0.56, 0.7 * 0.41]                          # 0.692, 0.287
    expected[:, 5] = [0.3 + 0.35, 0.35]
    np.testing.assert_allclose(est.q, expected, rtol=0, atol=1e-12)
    est.update(feedback({}))                                                 # nothing observed: unchanged
    np.testing.assert_allclose(est.q, expected, rtol=0, atol=1e-12)
    # weight 1: the reactive "latest observation" estimate of SCA-RA
    latest = ChannelEstimate(2, 9, weight=1.0)
    latest.update(feedback({3: q}))
    latest.update(feedback({5: q2}))
    assert latest.q[0, 3] == pytest.approx(0.7) and latest.q[1, 5] == 0.0 and latest.q[0, 0] == 0.5


def test_success_rate_tracker():
    p = SuccessRate()
    assert p.rate == 0.5
    q = np.zeros((2, 10), dtype=np.uint8)
    q[:, :5] = 1
    p.update(feedback({1: q}))
    assert p.rate == 0.5
    p.update(feedback({2: np.ones((2, 10), dtype=np.uint8)}))
    assert p.rate == pytest.approx(30 / 40)


# ---------------------------------------------------------------------------------------------- reactive weights
def test_reactive_area_weights():
    static = make("tiny")
    assert not reactive_area_weights(static, None).any()
    ue_area = np.array([1, 1, 5, 1, 0, 0, 0, 0, 0, 0])
    info = frame_info(static, 3, [0, 0], ue_area, [request(0, 0), request(1, 2), request(2, 3)])
    expected = np.zeros(9)
    expected[1], expected[5] = 2, 1
    np.testing.assert_array_equal(reactive_area_weights(static, info), expected)
    expected[1] = 1                                           # request 0 failed in frame t-1: left out
    np.testing.assert_array_equal(reactive_area_weights(static, info, failed={0}), expected)


# ---------------------------------------------------------------------------------------------- Hungarian
@pytest.mark.parametrize("seed", range(5))
def test_hungarian_uav_areas_matches_brute_force(seed):
    static = make("tiny", seed)
    rng = np.random.default_rng(seed)
    current = rng.integers(static.A, size=static.n_uav)
    weights = rng.uniform(0.1, 3.0, size=static.A)
    weights[rng.random(static.A) < 0.3] = 0.0
    rsu = common.rsu_areas(static)
    gain = np.where(rsu > 0, 0.0, weights)
    cost = static.alpha * static.move_energy[np.arange(static.n_uav), current, :] - gain
    best = min(itertools.permutations(range(static.A), static.n_uav),
               key=lambda areas: sum(cost[j, a] for j, a in enumerate(areas)))
    expected = np.array([current[j] if gain[a] == 0 and a != current[j] else a for j, a in enumerate(best)])
    np.testing.assert_array_equal(hungarian_uav_areas(static, current, weights), expected)


def test_hungarian_uav_areas_stays_without_gain():
    static = make("tiny")
    current = np.array([0, 4])
    np.testing.assert_array_equal(hungarian_uav_areas(static, current, np.zeros(static.A)), current)


def _brute_assignment(cost):
    """Minimum total cost of a maximum matching of rows to columns (what linear_sum_assignment solves)."""
    rows, cols = cost.shape
    if rows <= cols:
        return min(sum(cost[i, c] for i, c in enumerate(p)) for p in itertools.permutations(range(cols), rows))
    return min(sum(cost[i, c] for c, i in enumerate(p)) for p in itertools.permutations(range(rows), cols))


@pytest.mark.parametrize("seed", range(4))
def test_hungarian_blocks_against_brute_force(seed):
    rng = np.random.default_rng(seed)
    C = 3
    static = dataclasses.replace(make("tiny"), C=C, e_chan=rng.uniform(2, 8, size=C))
    n_req = 5
    reqs = [request(r, r, slots=int(rng.integers(3, 8))) for r in range(n_req)]
    info = frame_info(static, 1, [0, 0], np.full(10, 8), reqs)
    poa = {r: 1 for r in range(n_req)}
    z = hungarian_blocks(static, info, poa, success_rate=1.0)              # p̄ = 1: b_r = Ť_r
    K = static.K
    # first round: 3 channels, 5 requests, all finite; expected optimum by brute force
    b = np.array([q.slots for q in reqs], dtype=float)
    first = _brute_assignment(b[:, None] * static.e_chan[None, :])
    by_r = {}
    for (r, tau), c in z.items():
        by_r.setdefault(r, []).append((tau, c))
    # every request holds a single channel and a run of the first free slots of that channel
    for r, entries in by_r.items():
        assert len({c for _, c in entries}) == 1 and len(entries) == reqs[r].slots
    round1 = {r: e for r, e in by_r.items() if min(tau for tau, _ in e) == K}           # slots start at slot 0
    assert len(round1) == C
    assert sum(reqs[r].slots * static.e_chan[e[0][1]] for r, e in round1.items()) == pytest.approx(first)
    # later rounds: only channels with enough free slots; never a collision
    users = Counter((c, tau) for (r, tau), c in z.items())
    assert max(users.values()) == 1


def test_hungarian_blocks_hedged_length_and_full_channels():
    static = dataclasses.replace(make("tiny"), e_chan=np.array([3.0, 2.0]))
    reqs = [request(0, 0, slots=6), request(1, 1, slots=6), request(2, 2, slots=6)]
    info = frame_info(static, 0, [0, 0], np.full(10, 8), reqs)
    z = hungarian_blocks(static, info, {0: 1, 1: 1, 2: 1}, success_rate=0.9)
    b = int(physics.hedged_block_length(6, 0.9, static.K, 0.99))
    assert b == 9                                              # P[Bin(8, .9) >= 6] = .962, P[Bin(9, .9) >= 6] = .9917
    # two channels of 10 slots hold one block of 9 each (slots 0-8); the third request finds no channel
    per_r = Counter(r for r, _ in z)
    assert len(per_r) == 2 and set(per_r.values()) == {9}
    assert sorted({c for c in z.values()}) == [0, 1] and {tau for _, tau in z} == set(range(9))


# ---------------------------------------------------------------------------------------------- C3 / C4 online
@pytest.mark.parametrize("preset,seed", [("tiny", 0), ("tiny", 1), ("small", 0), ("small", 3), ("paper-default", 1)])
def test_allocators_never_collide_online(preset, seed):
    """Algorithm 3 (hedged and literal) and the Hungarian allocator on the frames of an episode: no collision (C4), at most one channel per request and slot (C3), at most K slots per request;
    the router's entries pass the evaluator's route and capacity checks."""
    inst = make(preset, seed)
    rng = np.random.default_rng(seed)
    for allocator in ("alg3", "alg3-literal", "hungarian"):
        env = OnlineEnv(inst)
        static = env.static
        est, rate = ChannelEstimate(inst.C, inst.A), SuccessRate()
        area = env.initial_uav_area
        allocated = 0
        for t in range(inst.T):
            # the test peeks at the instance: UAVs fly to the areas of requests active in t (else a random move)
            wanted = [inst.area(r, t) for r in rng.permutation(inst.R) if t in inst.active_frames(r)]
            area = np.array([wanted[j] if j < len(wanted) else rng.choice(np.flatnonzero(static.cheb[a] <= 1))
                             for j, a in enumerate(area)])
            env.commit_uav_areas(t, area)
            info = env.start_frame(t)
            poa = poa_rule(static, info)
            if allocator == "hungarian":
                z = hungarian_blocks(static, info, poa, rate.rate)
            else:
                z = algorithm3(static, info, poa, est.q, hedge=allocator == "alg3")
            per_r = Counter(r for r, _ in z)
            assert all(k <= inst.K for k in per_r.values())
            assert set(per_r) <= set(poa)
            # every active function deployed everywhere; the router must respect latency and capacities
            placement = {(f, n) for q in info.active for f in q.funcs for n in range(inst.N)}
            service = route_requests(static, info, poa, [q for q in info.active if q.r in per_r], placement)
            fb = env.commit_frame(t, poa, z, placement, service)
            assert fb.score.viol["viol_collision"] == 0
            assert fb.score.viol["viol_route"] == 0 and fb.score.viol["viol_capacity"] == 0
            users = Counter((c, int(info.ue_area[inst.req_ue[r]]), tau) for (r, tau), c in z.items())
            assert max(users.values(), default=1) == 1
            est.update(fb)
            rate.update(fb)
            allocated += len(z)
        assert allocated > 0
