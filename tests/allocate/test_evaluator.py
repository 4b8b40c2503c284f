"""Evaluator of the allocate family (docs/families/allocate.md §6.1, §6.3, §6.4, §10 "Invariants").

Most tests start from `controlled()`: the tiny instance of seed 0 edited with dataclasses.replace so that the
expected outcome can be computed by hand (every request active in every frame, every request's UE in the
area of the first RSU, Q all ones, large capacities, 3 slots per request). Expected values are computed in
the tests from the instance arrays, never from the evaluator.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math

import numpy as np
import pytest

import optkit
from optkit.errors import InputError
from optkit.formulations.allocate.evaluator import (
    METRIC_IDS, VIOLATIONS, evaluate_decisions, score_frame, split_frame, with_reference,
)
from optkit.formulations.allocate.network import link_lookup
from optkit.formulations.allocate.record import Decisions, ServiceEntry
from optkit.heuristics.allocate import random_baseline
from optkit.solution import Solution, Status

FAMILY = "allocate"


@functools.lru_cache(maxsize=None)
def make(preset: str, seed: int = 0):
    return optkit.make_instance(FAMILY, preset, seed)


BASE = make("tiny", 0)
RSU = BASE.rsus[0]                       # PoA used by the hand-built records
OTHER_RSU = BASE.rsus[1]
AREA = int(BASE.node_area[RSU])          # every request's UE sits here (unless a test moves it)


def cheb(inst, a: int, b: int) -> int:
    return max(abs(a // inst.grid_cols - b // inst.grid_cols), abs(a % inst.grid_cols - b % inst.grid_cols))


def controlled(**changes):
    inst = BASE
    ue_area = np.array(inst.ue_area)
    ue_area[inst.req_ue, :] = AREA
    params = dict(
        ue_area=ue_area,
        service_dur=np.full(inst.n_services, inst.T),
        req_entry=np.zeros(inst.R, dtype=np.int64),
        req_slots=np.full(inst.R, 3, dtype=np.int64),
        cap=np.full(inst.N, 500.0),
        link_cap=np.full(inst.L, 100.0),
        Q=np.ones_like(inst.Q),
    )
    params.update(changes)
    return dataclasses.replace(inst, **params).validate()


def serve(inst, dec, r, *, poa=RSU, channel=0, start=0, route=None, host=None, frames=None):
    """Hand-built commitment: PoA, Ť_r consecutive slots from `start` on `channel`, every function of r on
    `host` (default: the PoA), route (default: trivial)."""
    route = tuple(route) if route is not None else (poa,)
    host = poa if host is None else host
    for t in (inst.active_frames(r) if frames is None else frames):
        dec.poa[(r, t)] = poa
        for k in range(start, start + int(inst.req_slots[r])):
            dec.channels[(r, t * inst.K + k)] = channel
        for f in inst.funcs(r):
            dec.placement[t].add((f, host))
        dec.service[(r, t)] = ServiceEntry(route, {f: host for f in inst.funcs(r)})
    return dec


def wired_neighbour(inst, node):
    """(neighbour, link id) of a wired link of `node`."""
    for l, ((a, b), wl) in enumerate(zip(inst.link_ends.tolist(), inst.link_wireless.tolist())):
        if not wl and node in (a, b):
            return (b if a == node else a), l
    raise AssertionError("no wired link")


def m(evaluation, key):
    return evaluation.metrics[key]


def frame_score(inst, dec, t):
    prev = inst.node_area[inst.n_core + inst.n_rsu:] if t == 0 else dec.uav_area[t - 1]
    return score_frame(inst, t, prev, dec.uav_area[t], *split_frame(dec, inst, t))


def test_controlled_instance_is_what_the_tests_assume():
    inst = controlled()
    assert inst.R >= 3 and inst.C >= 2 and inst.T >= 3 and inst.n_uav >= 1
    assert all(list(inst.active_frames(r)) == list(range(inst.T)) for r in range(inst.R))
    assert all(inst.area(r, t) == AREA for r in range(inst.R) for t in range(inst.T))
    assert int(inst.node_area[OTHER_RSU]) != AREA
    assert set(METRIC_IDS) >= {"accepted", "acc_pct", "e_node", "e_uav", "e_link", "e_chan", "energy_total",
                               "objective", "efficiency", "frac_opt", "uav_hops", *VIOLATIONS}


# ---------------------------------------------------------------------------------------------- served by hand
def test_single_served_request_by_hand():
    inst = controlled()
    dec = serve(inst, Decisions.empty(inst), 0)
    ev = evaluate_decisions(inst, dec, runtime_s=2.0)
    T, nf = inst.T, len(inst.funcs(0))
    e_chan = T * 3 * inst.e_chan[0]
    e_node = T * nf * inst.e_node[RSU]
    total = e_chan + e_node
    assert m(ev, "accepted") == 1 and m(ev, "acc_pct") == pytest.approx(100.0 / inst.R)
    assert m(ev, "e_chan") == pytest.approx(e_chan, rel=1e-12)
    assert m(ev, "e_node") == pytest.approx(e_node, rel=1e-12)
    assert m(ev, "e_link") == 0 and m(ev, "e_uav") == 0
    assert m(ev, "energy_total") == pytest.approx(total, rel=1e-12)
    assert m(ev, "energy_per_request") == pytest.approx(total / inst.R, rel=1e-12)
    assert m(ev, "energy_per_accepted") == pytest.approx(total, rel=1e-12)
    assert m(ev, "objective") == pytest.approx(1 - inst.alpha * total, rel=1e-12)
    assert m(ev, "efficiency") == pytest.approx(1 / total, rel=1e-12)
    assert m(ev, "latency_ms") == 0.0 and m(ev, "latency_acc_ms") == 0.0
    assert m(ev, "uav_hops") == 0
    assert m(ev, "runtime_s") == 2.0 and m(ev, "runtime_frame_ms") == pytest.approx(2000.0 / T)
    assert all(m(ev, k) == 0 for k in VIOLATIONS) and ev.feasible and ev.violations == {}
    assert ev.details["accepted_requests"] == [0]
    assert ev.details["served"] == [[0]] * T
    assert math.isnan(m(ev, "frac_opt")) and math.isnan(m(ev, "frac_opt_of"))
    assert set(ev.metrics) == set(METRIC_IDS)


def test_objective_uses_the_instance_alpha():
    inst = controlled(alpha=0.5)
    ev = evaluate_decisions(inst, serve(inst, Decisions.empty(inst), 0))
    assert m(ev, "objective") == pytest.approx(1 - 0.5 * m(ev, "energy_total"), rel=1e-12)


def test_instances_shared_by_two_requests_are_charged_once():
    inst = controlled()
    same = [r for r in range(inst.R) if inst.req_service[r] == inst.req_service[0]]
    assert len(same) >= 2, "tiny seed 0 has two requests of one service"
    r0, r1 = same[:2]
    dec = serve(inst, Decisions.empty(inst), r0, channel=0)
    serve(inst, dec, r1, channel=1)
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "accepted") == 2
    assert m(ev, "e_node") == pytest.approx(inst.T * len(inst.funcs(r0)) * inst.e_node[RSU], rel=1e-12)
    assert m(ev, "e_chan") == pytest.approx(inst.T * 3 * (inst.e_chan[0] + inst.e_chan[1]), rel=1e-12)


def test_empty_record_scores_zero():
    for inst in (BASE, controlled(), make("small", 1)):
        ev = evaluate_decisions(inst, Decisions.empty(inst))
        for k in ("accepted", "acc_pct", "e_node", "e_uav", "e_link", "e_chan", "energy_total", "objective",
                  "efficiency", "uav_hops", *VIOLATIONS):
            assert m(ev, k) == 0, k
        assert math.isnan(m(ev, "latency_ms")) and math.isnan(m(ev, "latency_acc_ms"))


# ---------------------------------------------------------------------------------------------- UAV energy
def _power(inst, j):
    w, v = inst.uav_weight[j], inst.uav_speed[j]
    return (inst.induced_coeff * w ** 1.5 / math.sqrt(2 * inst.air_density * inst.rotor_disk_area)
            + 0.5 * inst.drag_coeff * inst.air_density * inst.frontal_area * v ** 3)


def _neighbours(inst, a):
    i, j = divmod(a, inst.grid_cols)
    side = [b for b in range(inst.A) if abs(b // inst.grid_cols - i) + abs(b % inst.grid_cols - j) == 1]
    diag = [b for b in range(inst.A) if abs(b // inst.grid_cols - i) == 1 and abs(b % inst.grid_cols - j) == 1]
    return side, diag


@pytest.mark.parametrize("preset", ["tiny", "paper-literal-energy"])
def test_uav_move_energy_by_hand(preset):
    inst = make(preset, 0)
    j = 0
    start = int(inst.node_area[inst.uavs[0]])
    side, diag = _neighbours(inst, start)
    hop = inst.uav_energy_scale * inst.cell_side_m / inst.uav_speed[j] * _power(inst, j)   # E4, E5
    # never moving costs nothing
    ev = evaluate_decisions(inst, Decisions.empty(inst))
    assert m(ev, "e_uav") == 0 and m(ev, "uav_hops") == 0
    # one move to an adjacent area at frame 0, then hover
    dec = Decisions.empty(inst)
    dec.uav_area[:, j] = side[0]
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "e_uav") == pytest.approx(hop, rel=1e-9)
    assert m(ev, "uav_hops") == 1
    assert m(ev, "energy_total") == pytest.approx(hop, rel=1e-9)
    assert m(ev, "objective") == pytest.approx(-inst.alpha * hop, rel=1e-9)
    assert m(ev, "accepted") == 0 and m(ev, "efficiency") == 0
    # move away at frame 1 and back at frame 2: two hops, symmetric
    dec = Decisions.empty(inst)
    dec.uav_area[1, j] = side[0]
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "e_uav") == pytest.approx(2 * hop, rel=1e-9) and m(ev, "uav_hops") == 2
    # diagonal neighbour costs sqrt(2) hops
    if diag:
        dec = Decisions.empty(inst)
        dec.uav_area[:, j] = diag[0]
        assert m(evaluate_decisions(inst, dec), "e_uav") == pytest.approx(math.sqrt(2) * hop, rel=1e-9)
    # every UAV moving adds up
    dec = Decisions.empty(inst)
    expected = 0.0
    for jj, n in enumerate(inst.uavs):
        s = int(inst.node_area[n])
        dec.uav_area[:, jj] = _neighbours(inst, s)[0][0]
        expected += inst.uav_energy_scale * inst.cell_side_m / inst.uav_speed[jj] * _power(inst, jj)
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "e_uav") == pytest.approx(expected, rel=1e-9) and m(ev, "uav_hops") == inst.n_uav


def test_uav_weight_as_force_reaches_the_move_energy():
    plain = make("tiny", 0)
    force = optkit.make_instance(FAMILY, "tiny", 0, overrides={"uav_weight_as_force": True})
    assert force.uav_weight_as_force is True
    j, start = 0, int(plain.node_area[plain.uavs[0]])
    side = _neighbours(plain, start)[0][0]
    w, v = plain.uav_weight[j] * force.gravity, plain.uav_speed[j]
    power = (force.induced_coeff * w ** 1.5 / math.sqrt(2 * force.air_density * force.rotor_disk_area)
             + 0.5 * force.drag_coeff * force.air_density * force.frontal_area * v ** 3)
    dec = Decisions.empty(force)
    dec.uav_area[:, j] = side
    expected = force.uav_energy_scale * force.cell_side_m / v * power
    assert m(evaluate_decisions(force, dec), "e_uav") == pytest.approx(expected, rel=1e-9)
    assert m(evaluate_decisions(plain, dec), "e_uav") < expected


# ---------------------------------------------------------------------------------------------- channels (D24)
def test_channel_entries_are_charged_for_unserved_requests():
    inst = controlled(service_dur=np.full(BASE.n_services, 2))          # Δ_r = {0, 1}
    dec = Decisions.empty(inst)
    # r0: no PoA at all, 3 entries in frame 0 on channel 1
    for k in range(3):
        dec.channels[(0, k)] = 1
    # r1: invalid PoA (RSU of another area), 4 entries in frame 1 on channel 0
    dec.poa[(1, 1)] = OTHER_RSU
    for k in range(4):
        dec.channels[(1, inst.K + k)] = 0
    # r2: outside its active frames (frame 3), 2 entries on channel 0, valid PoA
    dec.poa[(2, 3)] = RSU
    for k in range(2):
        dec.channels[(2, 3 * inst.K + k)] = 0
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "accepted") == 0
    assert m(ev, "e_chan") == pytest.approx(3 * inst.e_chan[1] + 6 * inst.e_chan[0], rel=1e-12)
    assert m(ev, "energy_total") == pytest.approx(m(ev, "e_chan"), rel=1e-12)
    assert m(ev, "viol_poa") == 1 and m(ev, "viol_collision") == 0


def test_collision_on_one_block_destroys_both_transmissions():
    inst = controlled()
    dec = serve(inst, Decisions.empty(inst), 0, channel=0, start=0)      # slots 0, 1, 2
    serve(inst, dec, 1, channel=0, start=2)                              # slots 2, 3, 4: block (0, AREA, 2)
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "viol_collision") == inst.T                             # one collided block per frame
    assert m(ev, "accepted") == 0 and not ev.feasible
    assert ev.details["served"] == [[]] * inst.T
    fs = frame_score(inst, dec, 0)
    assert fs.good_slots == {0: 2, 1: 2}
    assert fs.viol["viol_collision"] == 1
    # both transmissions are still charged
    assert m(ev, "e_chan") == pytest.approx(inst.T * 6 * inst.e_chan[0], rel=1e-12)
    # same slots on another channel: no collision, both served
    dec2 = serve(inst, Decisions.empty(inst), 0, channel=0, start=0)
    serve(inst, dec2, 1, channel=1, start=2)
    ev2 = evaluate_decisions(inst, dec2)
    assert m(ev2, "viol_collision") == 0 and m(ev2, "accepted") == 2


def test_collision_needs_the_same_area():
    inst = controlled()
    other = next(a for a in range(inst.A) if a != AREA)
    ue_area = np.array(inst.ue_area)
    ue_area[inst.req_ue[1], :] = other
    inst = dataclasses.replace(inst, ue_area=ue_area).validate()
    dec = serve(inst, Decisions.empty(inst), 0, channel=0, start=0)
    for t in range(inst.T):                                              # r1 radiates on the same blocks
        for k in range(3):
            dec.channels[(1, t * inst.K + k)] = 0
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "viol_collision") == 0 and m(ev, "accepted") == 1


def test_transmitter_without_poa_still_collides():
    """D24: a channel entry takes part in collisions whatever the PoA (the UE radiates anyway)."""
    inst = controlled()
    dec = serve(inst, Decisions.empty(inst), 0, channel=0, start=0)
    dec.channels[(1, 1)] = 0                                             # r1, no PoA, frame 0 slot 1
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "viol_collision") == 1
    assert m(ev, "accepted") == 0
    assert ev.details["served"][0] == [] and ev.details["served"][1] == [0]
    assert frame_score(inst, dec, 0).good_slots == {0: 2}


def test_bad_realized_quality_removes_the_slot():
    inst = controlled()
    Q = np.array(inst.Q)
    Q[0, AREA, inst.K + 1] = 0                                           # frame 1, slot 1 of channel 0
    inst = dataclasses.replace(inst, Q=Q).validate()
    dec = serve(inst, Decisions.empty(inst), 0, channel=0)
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "accepted") == 0
    assert ev.details["served"] == [[0], [], [0], [0]][:inst.T] + [[0]] * (inst.T - 4)
    assert frame_score(inst, dec, 1).good_slots == {0: 2}
    # the same bad slot on another area's Q entry changes nothing
    Q2 = np.array(controlled().Q)
    Q2[0, (AREA + 1) % inst.A, inst.K + 1] = 0
    inst2 = controlled(Q=Q2)
    assert m(evaluate_decisions(inst2, serve(inst2, Decisions.empty(inst2), 0)), "accepted") == 1


def test_every_q_zero_accepts_nothing():
    inst = controlled(Q=np.zeros_like(BASE.Q))
    dec = serve(inst, Decisions.empty(inst), 0)
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "accepted") == 0
    assert m(ev, "e_chan") == pytest.approx(inst.T * 3 * inst.e_chan[0], rel=1e-12)   # still charged
    for preset in ("tiny", "small"):
        for seed in range(4):
            base = make(preset, seed)
            zero = dataclasses.replace(base, Q=np.zeros_like(base.Q)).validate()
            sol = random_baseline.solve(zero)
            assert m(evaluate_decisions(zero, sol.decisions), "accepted") == 0


# ---------------------------------------------------------------------------------------------- PoA (step 2)
def test_poa_outside_the_ues_area_is_a_violation():
    inst = controlled()
    for bad in (OTHER_RSU, 0):                                           # RSU of another area; a core node
        dec = serve(inst, Decisions.empty(inst), 0, poa=bad)
        ev = evaluate_decisions(inst, dec)
        assert m(ev, "viol_poa") == inst.T
        assert m(ev, "viol_route") == inst.T                             # the route does not start at a valid PoA
        assert m(ev, "accepted") == 0 and m(ev, "e_link") == 0
        assert math.isnan(m(ev, "latency_ms"))


def test_uav_poa_is_valid_only_in_the_ues_area():
    inst = controlled()
    uav, j = inst.uavs[0], 0
    far = next(a for a in range(inst.A) if a != AREA)
    dec = serve(inst, Decisions.empty(inst), 0, poa=uav)
    dec.uav_area[:, j] = far
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "viol_poa") == inst.T and m(ev, "accepted") == 0
    dec.uav_area[:, j] = AREA
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "viol_poa") == 0 and m(ev, "accepted") == 1
    assert m(ev, "e_node") == pytest.approx(inst.T * len(inst.funcs(0)) * inst.e_node[uav], rel=1e-12)
    start = int(inst.node_area[uav])
    assert m(ev, "e_uav") == pytest.approx(inst.move_energy[j, start, AREA], rel=1e-12)


def test_uncovered_frame_makes_the_request_fail():
    """§10: a request whose UE is, in an active frame, in an area without RSU and without UAV is not accepted."""
    inst = controlled()
    rsu_areas = {int(inst.node_area[n]) for n in inst.rsus}
    uav_areas = {int(a) for a in inst.node_area[inst.n_core + inst.n_rsu:]}
    empty = next(a for a in range(inst.A) if a not in rsu_areas | uav_areas)
    ue_area = np.array(inst.ue_area)
    ue_area[inst.req_ue[0], inst.H + 2] = empty                           # frame 2
    inst = dataclasses.replace(inst, ue_area=ue_area).validate()
    dec = serve(inst, Decisions.empty(inst), 0)
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "accepted") == 0
    assert [0 in s for s in ev.details["served"]] == [t != 2 for t in range(inst.T)]
    # a UAV brought to that area in frame 2 and used as PoA there makes it acceptable
    j, uav = 0, inst.uavs[0]
    dec.uav_area[2, j] = empty
    dec.poa[(0, 2)] = uav
    dec.placement[2] = {(f, uav) for f in inst.funcs(0)}
    dec.service[(0, 2)] = ServiceEntry((uav,), {f: uav for f in inst.funcs(0)})
    assert m(evaluate_decisions(inst, dec), "accepted") == 1


# ---------------------------------------------------------------------------------------------- routes (step 5)
def test_route_that_is_not_a_path_of_gt_is_invalid_and_free():
    inst = controlled()
    j, uav = 0, inst.uavs[0]
    far = next((a for a in range(inst.A) if cheb(inst, a, AREA) > 1), None)
    assert far is not None
    l = link_lookup(inst)[(min(RSU, uav), max(RSU, uav))]
    dec = serve(inst, Decisions.empty(inst), 0, route=(RSU, uav), host=RSU)
    dec.uav_area[:, j] = far                                             # wireless link RSU-UAV out of range
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "viol_route") == inst.T and m(ev, "accepted") == 0
    assert m(ev, "e_link") == 0
    assert math.isnan(m(ev, "latency_ms"))
    dec.uav_area[:, j] = AREA                                            # in range: valid, charged, served
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "viol_route") == 0 and m(ev, "accepted") == 1
    assert m(ev, "e_link") == pytest.approx(inst.T * inst.link_energy[l], rel=1e-12)
    assert m(ev, "latency_ms") == pytest.approx(inst.link_lat[l], rel=1e-12)


@pytest.mark.parametrize("kind", ["repeated node", "wrong head", "no link"])
def test_malformed_routes_are_invalid(kind):
    inst = controlled()
    nb, _ = wired_neighbour(inst, RSU)
    lookup = link_lookup(inst)
    stranger = next((n for n in range(inst.n_core + inst.n_rsu) if n != RSU and (min(n, RSU), max(n, RSU))
                     not in lookup), None)
    route = {"repeated node": (RSU, nb, RSU), "wrong head": (nb, RSU),
             "no link": (RSU, stranger if stranger is not None else inst.uavs[0])}[kind]
    dec = serve(inst, Decisions.empty(inst), 0, route=route, host=RSU)
    if kind == "no link" and stranger is None:                          # UAV out of range instead
        dec.uav_area[:, 0] = next(a for a in range(inst.A) if cheb(inst, a, AREA) > 1)
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "viol_route") == inst.T and m(ev, "accepted") == 0 and m(ev, "e_link") == 0


def test_latency_bound():
    nb, l = wired_neighbour(BASE, RSU)
    lat = float(BASE.link_lat[l])
    for bound, ok in ((lat - 1e-6, False), (lat, True), (lat + 1.0, True)):
        req_latency = np.array(BASE.req_latency)
        req_latency[0] = bound
        inst = controlled(req_latency=req_latency)
        dec = serve(inst, Decisions.empty(inst), 0, route=(RSU, nb), host=RSU)
        ev = evaluate_decisions(inst, dec)
        assert m(ev, "accepted") == (1 if ok else 0)
        assert m(ev, "viol_route") == (0 if ok else inst.T)
        assert m(ev, "e_link") == pytest.approx(inst.T * inst.link_energy[l], rel=1e-12)   # charged anyway
        assert m(ev, "latency_ms") == pytest.approx(lat, rel=1e-12)                          # violators count
        if ok:
            assert m(ev, "latency_acc_ms") == pytest.approx(lat, rel=1e-12)
        else:
            assert math.isnan(m(ev, "latency_acc_ms"))


def test_hosts_must_be_on_the_route_and_deployed():
    inst = controlled()
    nb, _ = wired_neighbour(inst, RSU)
    f0 = inst.funcs(0)[0]
    # host not on the route
    dec = serve(inst, Decisions.empty(inst), 0)
    for t in range(inst.T):
        dec.service[(0, t)].hosts[f0] = nb
        dec.placement[t].add((f0, nb))
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "accepted") == 0 and m(ev, "viol_route") == inst.T
    # host on the route but its instance not deployed in that frame
    dec = serve(inst, Decisions.empty(inst), 0)
    dec.placement[1].discard((f0, RSU))
    ev = evaluate_decisions(inst, dec)
    assert m(ev, "accepted") == 0 and m(ev, "viol_route") == 1
    assert ev.details["served"][1] == [] and ev.details["served"][0] == [0]
    # a missing function in hosts
    dec = serve(inst, Decisions.empty(inst), 0)
    del dec.service[(0, 0)].hosts[f0]
    assert m(evaluate_decisions(inst, dec), "accepted") == 0


def test_latency_metrics_average_per_request_then_over_requests():
    inst = controlled()
    nb, l = wired_neighbour(inst, RSU)
    lat = float(inst.link_lat[l])
    dec = serve(inst, Decisions.empty(inst), 0, route=(RSU, nb), host=RSU, frames=[0, 1])
    serve(inst, dec, 0, frames=[2, 3])
    # r1: trivial valid routes but no channels -> not accepted, latency 0 counted in latency_ms
    for t in range(inst.T):
        dec.poa[(1, t)] = RSU
        dec.placement[t].update((f, RSU) for f in inst.funcs(1))
        dec.service[(1, t)] = ServiceEntry((RSU,), {f: RSU for f in inst.funcs(1)})
    ev = evaluate_decisions(inst, dec)
    assert ev.details["accepted_requests"] == [0]
    mean0 = lat * 2 / inst.T
    assert m(ev, "latency_acc_ms") == pytest.approx(mean0, rel=1e-12)
    assert m(ev, "latency_ms") == pytest.approx(mean0 / 2, rel=1e-12)


# ---------------------------------------------------------------------------------------------- capacity (step 6)
def _demand(inst, r):
    return float(sum(inst.req_demand[r]))


def test_node_capacity_first_fit_in_increasing_r():
    d0, d1 = _demand(BASE, 0), _demand(BASE, 1)
    cap = np.full(BASE.N, 500.0)
    cap[RSU] = max(d0, d1) + 0.5                                          # each fits alone, not both
    assert cap[RSU] < d0 + d1
    inst = controlled(cap=cap)
    dec = serve(inst, Decisions.empty(inst), 0, channel=0)
    serve(inst, dec, 1, channel=1)
    ev = evaluate_decisions(inst, dec)
    assert ev.details["accepted_requests"] == [0]
    assert m(ev, "viol_capacity") == inst.T
    fs = frame_score(inst, dec, 0)
    assert fs.served == {0} and fs.node_load[RSU] == pytest.approx(d0, rel=1e-12)
    # both entries are still charged (placement and channels)
    assert m(ev, "e_chan") == pytest.approx(inst.T * 3 * (inst.e_chan[0] + inst.e_chan[1]), rel=1e-12)
    # alone, r1 fits
    dec1 = serve(inst, Decisions.empty(inst), 1, channel=1)
    assert evaluate_decisions(inst, dec1).details["accepted_requests"] == [1]
    # when r0 lacks good slots in frame 0 it takes no capacity: r1 is served in that frame
    Q = np.array(inst.Q)
    Q[0, AREA, 0] = 0
    inst_q = dataclasses.replace(inst, Q=Q).validate()
    fs = frame_score(inst_q, dec, 0)
    assert fs.served == {1} and fs.viol["viol_capacity"] == 0


def test_link_capacity_first_fit_in_increasing_r():
    nb, l = wired_neighbour(BASE, RSU)
    bw0, bw1 = float(BASE.req_bw[0]), float(BASE.req_bw[1])
    link_cap = np.full(BASE.L, 100.0)
    link_cap[l] = max(bw0, bw1) + 0.1
    inst = controlled(link_cap=link_cap)
    dec = serve(inst, Decisions.empty(inst), 0, channel=0, route=(RSU, nb), host=RSU)
    serve(inst, dec, 1, channel=1, route=(RSU, nb), host=RSU)
    ev = evaluate_decisions(inst, dec)
    assert ev.details["accepted_requests"] == [0]
    assert m(ev, "viol_capacity") == inst.T
    assert m(ev, "e_link") == pytest.approx(2 * inst.T * inst.link_energy[l], rel=1e-12)   # both routes charged
    fs = frame_score(inst, dec, 0)
    assert fs.link_load[l] == pytest.approx(bw0, rel=1e-12)


# ---------------------------------------------------------------------------------------------- random invariants
RANDOM_CASES = [("tiny", s) for s in range(10)] + [("small", s) for s in range(5)]


@functools.lru_cache(maxsize=None)
def random_solution(preset, seed):
    return random_baseline.solve(make(preset, seed))


@pytest.mark.parametrize("preset,seed", RANDOM_CASES)
def test_random_method_invariants(preset, seed):
    inst = make(preset, seed)
    dec = random_solution(preset, seed).decisions
    ev = evaluate_decisions(inst, dec)
    mt = ev.metrics
    assert 0 <= mt["acc_pct"] <= 100 and mt["acc_pct"] == pytest.approx(100 * mt["accepted"] / inst.R)
    parts = [mt[k] for k in ("e_node", "e_uav", "e_link", "e_chan")]
    assert all(p >= 0 for p in parts)
    assert mt["energy_total"] == pytest.approx(sum(parts), rel=1e-12)
    assert mt["objective"] == pytest.approx(mt["accepted"] - inst.alpha * mt["energy_total"], rel=1e-12)
    eff = mt["accepted"] / mt["energy_total"] if mt["accepted"] else 0.0
    assert mt["efficiency"] == pytest.approx(eff, rel=1e-12)
    assert mt["energy_per_request"] == pytest.approx(mt["energy_total"] / inst.R, rel=1e-12)
    assert mt["energy_per_accepted"] == pytest.approx(mt["energy_total"] / max(1, mt["accepted"]), rel=1e-12)
    assert mt["viol_collision"] == 0 and mt["viol_capacity"] == 0 and mt["viol_poa"] == 0
    # UAV hops and movement energy from the record
    prev = np.asarray(inst.node_area[inst.n_core + inst.n_rsu:])
    hops, e_uav = 0, 0.0
    for t in range(inst.T):
        cur = dec.uav_area[t]
        assert all(cheb(inst, int(a), int(b)) <= 1 for a, b in zip(prev, cur))   # random walk of §7.5
        hops += int(np.sum(prev != cur))
        e_uav += sum(inst.move_energy[j, prev[j], cur[j]] for j in range(inst.n_uav))
        prev = cur
    assert mt["uav_hops"] == hops and mt["e_uav"] == pytest.approx(e_uav, rel=1e-12, abs=1e-12)
    assert mt["e_chan"] == pytest.approx(sum(inst.e_chan[c] for c in dec.channels.values()), rel=1e-12)
    assert mt["e_node"] == pytest.approx(sum(inst.e_node[n] for frame in dec.placement for _, n in frame),
                                         rel=1e-12)
    # channel blocks: one contiguous run of Ť_r slots on one channel per (r, t), only with a PoA, only active
    runs = {}
    for (r, tau), c in dec.channels.items():
        runs.setdefault((r, tau // inst.K), []).append((tau, c))
    for (r, t), entries in runs.items():
        slots = sorted(tau for tau, _ in entries)
        assert len({c for _, c in entries}) == 1
        assert slots == list(range(slots[0], slots[0] + int(inst.req_slots[r])))
        assert (r, t) in dec.poa and t in inst.active_frames(r)
    # served loads within capacity, and equal to the served entries' demands
    for t in range(inst.T):
        fs = frame_score(inst, dec, t)
        assert np.all(fs.node_load <= inst.cap + 1e-9) and np.all(fs.link_load <= inst.link_cap + 1e-9)
        node_load, link_load = np.zeros(inst.N), np.zeros(inst.L)
        lookup = link_lookup(inst)
        for r in fs.served:
            e = dec.service[(r, t)]
            for f, d in zip(inst.funcs(r), inst.req_demand[r]):
                node_load[e.hosts[f]] += d
            for a, b in zip(e.route[:-1], e.route[1:]):
                link_load[lookup[(min(a, b), max(a, b))]] += inst.req_bw[r]
        np.testing.assert_allclose(fs.node_load, node_load, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(fs.link_load, link_load, rtol=1e-12, atol=1e-12)
        assert fs.served == set(ev.details["served"][t])
    # accepted requests are covered in every active frame and meet their latency bound
    lookup = link_lookup(inst)
    for r in ev.details["accepted_requests"]:
        for t in inst.active_frames(r):
            covered = {int(inst.node_area[n]) for n in inst.rsus} | {int(a) for a in dec.uav_area[t]}
            assert inst.area(r, t) in covered
            route = dec.service[(r, t)].route
            lat = sum(inst.link_lat[lookup[(min(a, b), max(a, b))]] for a, b in zip(route[:-1], route[1:]))
            assert lat <= inst.req_latency[r]


def test_random_method_accepts_something_somewhere():
    """Keeps the invariants above from being vacuous."""
    accepted = sum(evaluate_decisions(make(p, s), random_solution(p, s).decisions).metrics["accepted"]
                   for p, s in RANDOM_CASES)
    assert accepted > 0


def test_random_method_is_reproducible():
    inst = make("small", 2)
    a, b = random_baseline.solve(inst), random_baseline.solve(inst)
    assert a.decisions.to_jsonable() == b.decisions.to_jsonable()
    c = random_baseline.solve(inst, seed=1)
    assert c.decisions.to_jsonable() != a.decisions.to_jsonable()


# ---------------------------------------------------------------------------------------------- record JSON
@pytest.mark.parametrize("preset,seed", [("tiny", 0), ("small", 1)])
def test_decisions_json_round_trip_is_exact(preset, seed):
    inst = make(preset, seed)
    dec = random_solution(preset, seed).decisions
    data = dec.to_jsonable()
    back = Decisions.from_jsonable(json.loads(json.dumps(data)))
    assert back.to_jsonable() == data
    assert back.uav_area.dtype == np.int64 and np.array_equal(back.uav_area, dec.uav_area)
    assert back.poa == dec.poa and back.channels == dec.channels
    assert back.placement == [set(p) for p in dec.placement]
    assert back.service.keys() == dec.service.keys()
    for k, e in dec.service.items():
        assert back.service[k].route == tuple(e.route) and back.service[k].hosts == e.hosts
    a, b = evaluate_decisions(inst, dec), evaluate_decisions(inst, back)
    assert a.details == b.details
    for k in METRIC_IDS:
        # the reloaded dicts iterate in sorted order, so float sums may differ in the last bit
        assert b.metrics[k] == pytest.approx(a.metrics[k], rel=1e-12, abs=1e-12, nan_ok=True), k
    assert evaluate_decisions(inst, back).metrics == pytest.approx(b.metrics, nan_ok=True, rel=0, abs=0)


def test_hand_built_decisions_json_round_trip():
    inst = controlled()
    dec = serve(inst, Decisions.empty(inst), 0)
    dec.poa[(2, 1)] = OTHER_RSU
    data = json.loads(json.dumps(dec.to_jsonable()))
    assert Decisions.from_jsonable(data).to_jsonable() == dec.to_jsonable()
    assert evaluate_decisions(inst, Decisions.from_jsonable(data)).metrics["viol_poa"] == 1


# ---------------------------------------------------------------------------------------------- malformed records
def _mut_shape(dec, inst):
    dec.uav_area = dec.uav_area[:-1]


def _mut_shape_cols(dec, inst):
    dec.uav_area = np.zeros((inst.T, inst.n_uav + 1), dtype=np.int64)


def _mut_shape_1d(dec, inst):
    dec.uav_area = np.zeros(inst.T, dtype=np.int64)


def _mut_area_hi(dec, inst):
    dec.uav_area[1, 0] = inst.A


def _mut_area_neg(dec, inst):
    dec.uav_area[0, 0] = -1


def _mut_placement_len(dec, inst):
    dec.placement = dec.placement[:-1]


def _mut_channel_c(dec, inst):
    dec.channels[(0, 0)] = inst.C


def _mut_channel_tau(dec, inst):
    dec.channels[(0, inst.T * inst.K)] = 0


def _mut_channel_r(dec, inst):
    dec.channels[(inst.R, 0)] = 0


def _mut_channel_neg_r(dec, inst):
    dec.channels[(-1, 0)] = 0


def _mut_poa_n(dec, inst):
    dec.poa[(0, 0)] = inst.N


def _mut_poa_r(dec, inst):
    dec.poa[(inst.R, 0)] = RSU


def _mut_poa_t(dec, inst):
    dec.poa[(0, inst.T)] = RSU


def _mut_place_f(dec, inst):
    dec.placement[0].add((inst.n_functions, RSU))


def _mut_place_n(dec, inst):
    dec.placement[0].add((0, inst.N))


def _mut_service_r(dec, inst):
    dec.service[(inst.R, 0)] = ServiceEntry((RSU,), {})


def _mut_service_t(dec, inst):
    dec.service[(0, -1)] = ServiceEntry((RSU,), {})


def _mut_service_empty(dec, inst):
    dec.service[(0, 0)] = ServiceEntry((), {})


@pytest.mark.parametrize("mutate", [
    _mut_shape, _mut_shape_cols, _mut_shape_1d, _mut_area_hi, _mut_area_neg, _mut_placement_len, _mut_channel_c,
    _mut_channel_tau, _mut_channel_r, _mut_channel_neg_r, _mut_poa_n, _mut_poa_r, _mut_poa_t, _mut_place_f,
    _mut_place_n, _mut_service_r, _mut_service_t, _mut_service_empty,
])
def test_malformed_record_raises_input_error(mutate):
    inst = controlled()
    dec = serve(inst, Decisions.empty(inst), 0)
    evaluate_decisions(inst, dec)                                        # well-formed before the mutation
    mutate(dec, inst)
    with pytest.raises(InputError):
        evaluate_decisions(inst, dec)


def _mut_route_node(dec, inst):
    dec.service[(0, 0)] = ServiceEntry((RSU, inst.N), {f: RSU for f in inst.funcs(0)})


def _mut_route_neg(dec, inst):
    dec.service[(0, 0)] = ServiceEntry((RSU, -1), {f: RSU for f in inst.funcs(0)})


def _mut_host_node(dec, inst):
    dec.service[(0, 0)].hosts[inst.funcs(0)[0]] = inst.N + 3


def _mut_float_area(dec, inst):
    dec.uav_area = dec.uav_area.astype(float) + 0.5


def _mut_float_channel(dec, inst):
    dec.channels[(0, 0)] = 1.0


def _mut_float_poa(dec, inst):
    dec.poa[(0, 0)] = float(RSU)


def _mut_float_placement(dec, inst):
    dec.placement[0].add((inst.funcs(0)[0], float(RSU) + 0.5))

@pytest.mark.parametrize("mutate", [_mut_route_node, _mut_route_neg, _mut_host_node, _mut_float_area,
                                    _mut_float_channel, _mut_float_poa, _mut_float_placement])
def test_route_host_and_non_integer_ids_raise_input_error(mutate):
    inst = controlled()
    dec = serve(inst, Decisions.empty(inst), 0)
    mutate(dec, inst)
    with pytest.raises(InputError):
        evaluate_decisions(inst, dec)


@pytest.mark.parametrize("edit", [
    lambda d: d.pop("poa"),
    lambda d: d.__setitem__("channels", [[0, 1]]),
    lambda d: d.__setitem__("channels", [["a", 0, 0]]),
    lambda d: d.__setitem__("service", [{"r": 0, "t": 0, "route": [1]}]),
    lambda d: d.__setitem__("placement", None),
])
def test_malformed_record_json_raises_input_error(edit):
    inst = controlled()
    data = json.loads(json.dumps(serve(inst, Decisions.empty(inst), 0).to_jsonable()))
    edit(data)
    with pytest.raises(InputError):
        Decisions.from_jsonable(data)

def test_duplicate_channel_entry_in_json_is_rejected():
    inst = controlled()
    data = json.loads(json.dumps(serve(inst, Decisions.empty(inst), 0).to_jsonable()))
    r, tau, c = data["channels"][0]
    data["channels"].append([r, tau, (c + 1) % inst.C])
    with pytest.raises(InputError):
        Decisions.from_jsonable(data)


# ---------------------------------------------------------------------------------------------- fraction of optimum
def test_with_reference_fills_frac_opt():
    inst = controlled()
    ref_dec = serve(inst, Decisions.empty(inst), 0, channel=0)
    serve(inst, ref_dec, 1, channel=1)
    ref = evaluate_decisions(inst, ref_dec)
    meth = evaluate_decisions(inst, serve(inst, Decisions.empty(inst), 0, channel=1))
    assert ref.metrics["accepted"] == 2 and meth.metrics["accepted"] == 1 and ref.metrics["objective"] > 0
    out = with_reference(meth, ref)
    assert out is meth
    assert meth.metrics["frac_opt"] == pytest.approx(meth.metrics["efficiency"] / ref.metrics["efficiency"],
                                                     rel=1e-12)
    assert meth.metrics["frac_opt_of"] == pytest.approx(meth.metrics["objective"] / ref.metrics["objective"],
                                                        rel=1e-12)
    # a method accepting nothing has frac_opt 0
    nothing = with_reference(evaluate_decisions(inst, Decisions.empty(inst)), ref)
    assert nothing.metrics["frac_opt"] == 0.0
    # a reference accepting nothing gives NaN
    empty_ref = evaluate_decisions(inst, Decisions.empty(inst))
    again = with_reference(evaluate_decisions(inst, serve(inst, Decisions.empty(inst), 0)), empty_ref)
    assert math.isnan(again.metrics["frac_opt"]) and math.isnan(again.metrics["frac_opt_of"])


def test_api_evaluate_with_reference_solution():
    inst = controlled()
    ref_dec = serve(inst, Decisions.empty(inst), 0, channel=0)
    serve(inst, ref_dec, 1, channel=1)
    sol = Solution(family=FAMILY, method="random", status=Status.FEASIBLE,
                   decisions=serve(inst, Decisions.empty(inst), 0), runtime_s=1.5)
    ref = Solution(family=FAMILY, method="allocate", status=Status.OPTIMAL, decisions=ref_dec)
    ev = optkit.evaluate(inst, sol, reference=ref)
    direct = evaluate_decisions(inst, sol.decisions)
    assert ev.metrics["runtime_s"] == 1.5
    assert ev.metrics["frac_opt"] == pytest.approx(
        direct.metrics["efficiency"] / evaluate_decisions(inst, ref_dec).metrics["efficiency"], rel=1e-12)


# ---------------------------------------------------------------------------------------------- degenerate sizes (§10)
@pytest.mark.parametrize("overrides", [{"R": 0}, {"n_rsu": 0}, {"wireless_range_cells": 0}])
def test_degenerate_instances_score_without_crashing(overrides):
    inst = optkit.make_instance(FAMILY, "tiny", 1, overrides=overrides)
    for dec in (Decisions.empty(inst), random_baseline.solve(inst).decisions):
        ev = evaluate_decisions(inst, dec)
        assert 0 <= ev.metrics["acc_pct"] <= 100
        if inst.R == 0:
            assert ev.metrics["accepted"] == 0 and ev.metrics["acc_pct"] == 0
            assert ev.metrics["energy_per_request"] == 0 and math.isnan(ev.metrics["latency_ms"])


def test_no_rsu_no_uav_nothing_is_coverable():
    inst = optkit.make_instance(FAMILY, "tiny", 1, overrides={"n_rsu": 0, "n_uav": 0})
    ev = evaluate_decisions(inst, Decisions.empty(inst))
    assert ev.metrics["accepted"] == 0 and ev.metrics["energy_total"] == 0

def test_empty_record_is_writable_without_uavs():
    inst = optkit.make_instance(FAMILY, "tiny", 1, overrides={"n_uav": 0})
    dec = Decisions.empty(inst)
    assert dec.uav_area.shape == (inst.T, 0)
    assert dec.uav_area.flags.writeable
