"""Online environment of the allocate family (docs/families/allocate.md §6.2, §7.0 "Active set", §7.6)."""
from __future__ import annotations

import dataclasses
import functools
import math

import numpy as np
import pytest

import optkit
from optkit.errors import InputError
from optkit.formulations.allocate.env import Feedback, FrameInfo, OnlineEnv, ProtocolError, mask_instance
from optkit.formulations.allocate.evaluator import METRIC_IDS, evaluate_decisions
from optkit.formulations.allocate.network import frame_graph, node_areas
from optkit.formulations.allocate.record import ServiceEntry
from optkit.heuristics.allocate import random_baseline
from optkit.seeds import method_stream

FAMILY = "allocate"


@functools.lru_cache(maxsize=None)
def make(preset: str, seed: int = 0):
    return optkit.make_instance(FAMILY, preset, seed)


def staggered():
    """tiny seed 0 with services of 2 frames and entries 0, 0, 1, 2: some requests are revealed late."""
    inst = make("tiny", 0)
    return dataclasses.replace(inst, service_dur=np.full(inst.n_services, 2),
                               req_entry=np.array([0, 0, 1, 2], dtype=np.int64)).validate()


def run_random(inst, method_seed=0):
    """The random method's loop (§7.5) with the environment exposed: (env, [(info, feedback)])."""
    rng = method_stream(inst.seed, random_baseline.METHOD_ID, method_seed)
    env = OnlineEnv(inst)
    area = env.initial_uav_area
    trace = []
    for t in range(inst.T):
        area = random_baseline._uav_moves(rng, env.static, area)
        env.commit_uav_areas(t, area)
        info = env.start_frame(t)
        trace.append((info, env.commit_frame(t, *random_baseline._frame_decisions(rng, env.static, info))))
    return env, trace


CASES = [("tiny", s) for s in range(6)] + [("small", s) for s in range(4)]


# ---------------------------------------------------------------------------------------------- env == evaluator
@pytest.mark.parametrize("preset,seed", CASES)
def test_online_evaluation_equals_offline_evaluation(preset, seed):
    inst = make(preset, seed)
    env, _ = run_random(inst)
    online = env.evaluation(runtime_s=0.25)
    offline = evaluate_decisions(inst, env.decisions, runtime_s=0.25)
    assert set(online.metrics) == set(METRIC_IDS)
    for k in METRIC_IDS:
        a, b = online.metrics[k], offline.metrics[k]
        assert a == b or (math.isnan(a) and math.isnan(b)), k
    assert online.details == offline.details
    assert online.violations == offline.violations and online.feasible == offline.feasible
    # the loop above is the random method itself
    assert random_baseline.solve(inst).decisions.to_jsonable() == env.decisions.to_jsonable()


def test_online_evaluation_with_staggered_arrivals():
    inst = staggered()
    env, trace = run_random(inst)
    offline = evaluate_decisions(inst, env.decisions)
    assert env.evaluation().metrics == pytest.approx(offline.metrics, nan_ok=True, rel=0, abs=0)


# ---------------------------------------------------------------------------------------------- protocol errors
def test_start_frame_before_committing_uav_areas():
    inst = make("tiny", 0)
    env = OnlineEnv(inst)
    with pytest.raises(ProtocolError):
        env.start_frame(0)
    env.commit_uav_areas(0, env.initial_uav_area)
    env.start_frame(0)
    env.commit_frame(0, {}, {}, set(), {})
    with pytest.raises(ProtocolError):
        env.start_frame(1)                                   # frame 1's UAV areas not committed yet
    with pytest.raises(ProtocolError):
        env.commit_uav_areas(2, env.initial_uav_area)        # skipping frame 1
    env.commit_uav_areas(1, env.initial_uav_area)
    with pytest.raises(ProtocolError):
        env.start_frame(2)                                   # out of order
    env.start_frame(1)


def test_bad_uav_areas_are_rejected():
    inst = make("tiny", 0)
    env = OnlineEnv(inst)
    for bad in (np.full(inst.n_uav, inst.A), np.full(inst.n_uav, -1), np.zeros(inst.n_uav + 1, dtype=int)):
        with pytest.raises(ProtocolError):
            env.commit_uav_areas(0, bad)


def test_decisions_for_unrevealed_request_are_rejected():
    inst = staggered()
    late = 3                                                 # entry frame 2
    rsu = inst.rsus[0]
    for kind in ("poa", "channels", "service"):
        env = OnlineEnv(inst)
        env.commit_uav_areas(0, env.initial_uav_area)
        env.start_frame(0)
        args = {"poa": {}, "channels": {}, "placement": set(), "service": {}}
        if kind == "poa":
            args["poa"] = {late: rsu}
        elif kind == "channels":
            args["channels"] = {(late, 0): 0}
        else:
            args["service"] = {late: ServiceEntry((rsu,), {})}
        with pytest.raises(ProtocolError):
            env.commit_frame(0, **args)
    # once revealed (frame 2) the same kind of entry is accepted
    env = OnlineEnv(inst)
    for t in range(3):
        env.commit_uav_areas(t, env.initial_uav_area)
        info = env.start_frame(t)
        if t < 2:
            assert late not in env.revealed
            env.commit_frame(t, {}, {}, set(), {})
    assert [q.r for q in info.new_requests] == [late]
    env.commit_frame(2, {late: rsu}, {(late, 2 * inst.K): 0}, set(), {})


def test_channel_entries_outside_the_frame_are_rejected():
    inst = make("tiny", 0)
    for tau in (inst.K, inst.K + 3, inst.T * inst.K - 1, -1):
        env = OnlineEnv(inst)
        env.commit_uav_areas(0, env.initial_uav_area)
        env.start_frame(0)
        with pytest.raises(ProtocolError):
            env.commit_frame(0, {}, {(0, tau): 0}, set(), {})
    # in frame 1, a slot of frame 0 is rejected too
    env = OnlineEnv(inst)
    env.commit_uav_areas(0, env.initial_uav_area)
    env.start_frame(0)
    env.commit_frame(0, {}, {(0, inst.K - 1): 0}, set(), {})
    env.commit_uav_areas(1, env.initial_uav_area)
    env.start_frame(1)
    with pytest.raises(ProtocolError):
        env.commit_frame(1, {}, {(0, inst.K - 1): 0}, set(), {})


def test_frames_must_be_committed_in_order():
    inst = make("tiny", 0)
    env = OnlineEnv(inst)
    env.commit_uav_areas(0, env.initial_uav_area)
    env.start_frame(0)
    with pytest.raises(ProtocolError):
        env.commit_frame(1, {}, {}, set(), {})              # a future frame
    env.commit_frame(0, {}, {}, set(), {})
    with pytest.raises(ProtocolError):
        env.commit_frame(0, {}, {}, set(), {})              # the same frame twice
    with pytest.raises(ProtocolError):
        env.commit_frame(1, {}, {}, set(), {})              # frame 1 not started
    with pytest.raises(ProtocolError):
        env.evaluation()                                    # episode not finished


def test_rejected_commit_changes_nothing():
    inst = make("tiny", 0)
    env = OnlineEnv(inst)
    env.commit_uav_areas(0, env.initial_uav_area)
    env.start_frame(0)
    with pytest.raises(ProtocolError):
        env.commit_frame(0, {0: inst.rsus[0]}, {(0, inst.K): 1}, {(0, 0)}, {})
    assert env.frames == [] and env.decisions.poa == {} and env.decisions.channels == {}
    env.commit_frame(0, {}, {}, set(), {})                  # the frame can still be committed


# ---------------------------------------------------------------------------------------------- information hiding
@pytest.mark.parametrize("preset,seed", [("tiny", 0), ("small", 2)])
def test_static_view_hides_realizations(preset, seed):
    inst = make(preset, seed)
    static = OnlineEnv(inst).static
    H = inst.H
    assert static.Q.shape == inst.Q.shape and not static.Q.any()
    assert np.all(np.isnan(static.theta_los)) and np.all(np.isnan(static.sigma_ray))
    assert np.all(static.weather == -1)
    assert np.all(static.ue_area[:, H:] == -1)
    np.testing.assert_array_equal(static.ue_area[:, :H], inst.ue_area[:, :H])     # history is known
    assert np.all(np.isnan(static.ue_xy[:, H:]))
    np.testing.assert_array_equal(static.ue_xy[:, :H], inst.ue_xy[:, :H])
    for name in ("req_ue", "req_service", "req_entry", "req_slots"):
        assert np.all(getattr(static, name) == -1), name
    for name in ("req_bw", "req_latency"):
        assert np.all(np.isnan(getattr(static, name))), name
    assert all(d == () for d in static.req_demand)
    # static data stays visible
    for name in ("node_area", "cap", "e_node", "uav_weight", "uav_speed", "link_ends", "link_wireless",
                 "link_cap", "link_energy", "link_lat", "e_chan", "service_dur"):
        np.testing.assert_array_equal(getattr(static, name), getattr(inst, name))
    assert static.service_funcs == inst.service_funcs
    assert (static.grid_rows, static.grid_cols, static.T, static.K, static.C) == (inst.grid_rows, inst.grid_cols,
                                                                                  inst.T, inst.K, inst.C)
    np.testing.assert_array_equal(static.move_energy, inst.move_energy)
    # the masked view is a separate immutable object; the real instance is untouched
    assert not static.Q.flags.writeable
    assert inst.Q.any() and not np.isnan(inst.theta_los).any()
    again = mask_instance(inst)
    assert again is not static and not again.Q.any() and np.all(again.req_entry == -1)


def test_frame_info_reveals_exactly_frame_t():
    inst = staggered()
    env, trace = run_random(inst)
    seen = set()
    for t, (info, fb) in enumerate(trace):
        assert isinstance(info, FrameInfo) and isinstance(fb, Feedback) and info.t == fb.t == t
        np.testing.assert_array_equal(info.ue_area, inst.ue_area[:, inst.H + t])
        np.testing.assert_array_equal(info.uav_area, env.decisions.uav_area[t])
        np.testing.assert_array_equal(info.node_area, node_areas(inst, env.decisions.uav_area[t]))
        assert set(info.graph.edges) == set(frame_graph(inst, env.decisions.uav_area[t]).edges)
        assert sorted(q.r for q in info.new_requests) == [r for r in range(inst.R) if inst.req_entry[r] == t]
        for q in info.new_requests:
            assert (q.ue, q.service, q.funcs, q.demand, q.entry, q.slots, q.bw, q.latency) == (
                inst.req_ue[q.r], inst.req_service[q.r], inst.funcs(q.r), tuple(inst.req_demand[q.r]),
                inst.req_entry[q.r], inst.req_slots[q.r], inst.req_bw[q.r], inst.req_latency[q.r])
            assert list(q.frames) == list(inst.active_frames(q.r))
            seen.add(q.r)
        assert all(q.r in seen for q in info.active)                  # only revealed requests are active
    assert seen == set(range(inst.R))


@pytest.mark.parametrize("preset,seed", [("tiny", 1), ("small", 0)])
def test_feedback_reveals_quality_of_covered_areas_only(preset, seed):
    inst = make(preset, seed)
    env, trace = run_random(inst)
    for t, (info, fb) in enumerate(trace):
        covered = {int(inst.node_area[n]) for n in inst.rsus} | {int(a) for a in env.decisions.uav_area[t]}
        assert set(fb.observed_quality) == covered
        for a, q in fb.observed_quality.items():
            np.testing.assert_array_equal(q, inst.Q[:, a, t * inst.K:(t + 1) * inst.K])
        committed = ({r for (r, tt) in env.decisions.poa if tt == t}
                     | {r for (r, tau) in env.decisions.channels if tau // inst.K == t}
                     | {r for (r, tt) in env.decisions.service if tt == t})
        assert set(fb.served) == committed
        assert {r for r, ok in fb.served.items() if ok} == fb.score.served


def test_feedback_quality_follows_the_uavs():
    inst = make("tiny", 0)
    rsu_areas = {int(inst.node_area[n]) for n in inst.rsus}
    target = next(a for a in range(inst.A) if a not in rsu_areas)
    env = OnlineEnv(inst)
    env.commit_uav_areas(0, np.full(inst.n_uav, target))
    env.start_frame(0)
    fb = env.commit_frame(0, {}, {}, set(), {})
    assert set(fb.observed_quality) == rsu_areas | {target}


# ---------------------------------------------------------------------------------------------- failures
@pytest.mark.parametrize("preset,seed", CASES + [("staggered", 0)])
def test_request_fails_at_first_unserved_active_frame(preset, seed):
    inst = staggered() if preset == "staggered" else make(preset, seed)
    env, trace = run_random(inst)
    served = env.evaluation().details["served"]
    first_fail = {}
    for r in range(inst.R):
        for t in inst.active_frames(r):
            if r not in served[t]:
                first_fail[r] = t
                break
    failed_before = set()
    for t, (info, fb) in enumerate(trace):
        active = {q.r for q in info.active}
        expected_active = {r for r in range(inst.R) if inst.req_entry[r] <= t and t in inst.active_frames(r)
                           and r not in failed_before}
        assert active == expected_active
        assert not (active & failed_before)                           # failed requests never come back
        newly = {r for r, ft in first_fail.items() if ft == t}
        assert fb.failed == failed_before | newly
        failed_before = set(fb.failed)
    assert failed_before == set(first_fail)
    accepted = set(env.evaluation().details["accepted_requests"])
    assert accepted == set(range(inst.R)) - set(first_fail)


def test_failed_request_stays_failed_even_if_served_later():
    """A request unserved in its first frame fails; serving it afterwards cannot bring it back."""
    inst = make("tiny", 0)
    env = OnlineEnv(inst)
    r = 0
    assert 0 in inst.active_frames(r) and 1 in inst.active_frames(r)
    env.commit_uav_areas(0, env.initial_uav_area)
    env.start_frame(0)
    fb = env.commit_frame(0, {}, {}, set(), {})
    assert r in fb.failed
    env.commit_uav_areas(1, env.initial_uav_area)
    info = env.start_frame(1)
    assert r not in {q.r for q in info.active}


def test_uav_areas_of_next_frame_may_be_committed_early_and_frame_then_completes():
    inst = make("tiny", 0)
    env = OnlineEnv(inst)
    env.commit_uav_areas(0, env.initial_uav_area)
    env.start_frame(0)
    env.commit_uav_areas(1, env.initial_uav_area)           # harmless: less information than allowed
    env.commit_frame(0, {}, {}, set(), {})
    assert env.start_frame(1).t == 1

def test_next_frame_cannot_start_before_the_current_frame_is_committed():
    inst = make("tiny", 0)
    env = OnlineEnv(inst)
    env.commit_uav_areas(0, env.initial_uav_area)
    env.start_frame(0)
    env.commit_uav_areas(1, env.initial_uav_area)
    with pytest.raises(ProtocolError):
        env.start_frame(1)

@pytest.mark.parametrize("overrides", [{"n_uav": 0}, {"n_rsu": 0, "n_uav": 0}])
def test_online_run_without_uavs(overrides):
    inst = optkit.make_instance(FAMILY, "tiny", 1, overrides=overrides)
    env, _ = run_random(inst)
    ev = env.evaluation()
    assert ev.metrics["e_uav"] == 0 and ev.metrics["uav_hops"] == 0


@pytest.mark.parametrize("overrides", [{"R": 0}, {"n_rsu": 0}, {"H": 0}])
def test_online_run_on_degenerate_instances(overrides):
    inst = optkit.make_instance(FAMILY, "tiny", 1, overrides=overrides)
    env, trace = run_random(inst)
    assert env.evaluation().metrics == pytest.approx(evaluate_decisions(inst, env.decisions).metrics,
                                                     nan_ok=True, rel=0, abs=0)

@pytest.mark.parametrize("kind", ["channel -1", "channel C", "poa N", "poa -1", "function F", "node N"])
def test_commit_frame_rejects_out_of_range_ids(kind):
    inst = make("tiny", 0)
    env = OnlineEnv(inst)
    env.commit_uav_areas(0, env.initial_uav_area)
    env.start_frame(0)
    rsu = inst.rsus[0]
    args = {"poa": {}, "channels": {}, "placement": set(), "service": {}}
    if kind == "channel -1":
        args["channels"] = {(0, 0): -1}
    elif kind == "channel C":
        args["channels"] = {(0, 0): inst.C}
    elif kind == "poa N":
        args["poa"] = {0: inst.N}
    elif kind == "poa -1":
        args["poa"] = {0: -1}
    elif kind == "function F":
        args["placement"] = {(inst.n_functions, rsu)}
    else:
        args["placement"] = {(0, inst.N)}
    with pytest.raises((ProtocolError, InputError)):
        env.commit_frame(0, **args)
