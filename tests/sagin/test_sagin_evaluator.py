"""The sagin evaluator (docs/families/sagin.md §6, §10 checks 20-23): metrics against values assembled by hand from
the exact rate oracle on tiny hand-made rollouts, the feasibility counters of §6.2, the JSON codec, the §6.1 path
conversion, common random numbers (§6.4) and the reference comparison (§6.5)."""
import json
import math

import numpy as np
import pytest

from optkit.errors import InputError
from optkit.evaluation import Evaluation
from optkit.formulations.sagin import evaluator as E
from optkit.formulations.sagin.generator import generate
from optkit.formulations.sagin.radio import radio_model
from optkit.scenarios import load_scenario, merge
from optkit.solution import Solution, Status

QF = np.array([1400.0, 1600.0, 100.0])
OVERRIDES = {"uav": {"n_uavs": 2, "starts": [[600.0, 800.0, 100.0], [1375.0, 1600.0, 100.0]]},
             "sn": {"pass_times": [30.0, 1000.0]}}           # satellite 19 is below 10° elevation early on


def _inst(seed=0):
    return generate(merge(load_scenario("sagin", "ref-tiny").params, OVERRIDES), seed, "ref-tiny")


@pytest.fixture(scope="module")
def inst():
    return _inst()


def _solution(dec):
    return Solution("sagin", "hand", Status.FEASIBLE, dec)


def _records():
    p0 = np.array([[600.0, 800.0, 100.0], [610.0, 800.0, 100.0], [620.0, 800.0, 100.0], [630.0, 800.0, 100.0]])
    s0 = np.array([0, 0, 19])
    p1 = np.array([[1375.0, 1600.0, 100.0], QF])                 # start inside the arrival radius: final segment only
    s1 = np.array([3])
    return E.Decisions((p0, p1), (s0, s1), np.array([2, 0]))


def test_metrics_hand_computed(inst):
    ev = E.evaluate(inst, _solution(_records()))
    model = radio_model(inst)
    # UAV 0: three 10 m steps (τ = 1 s at 10 m/s), t = 1, 2, 3 s; serving 0, 0, 19 (19 unavailable -> rate 0)
    q0 = np.array([[610.0, 800.0, 100.0], [620.0, 800.0, 100.0], [630.0, 800.0, 100.0]])
    rates = model.rates(q0, np.array([1.0, 2.0, 3.0]))
    assert rates[2, 19] == 0.0
    r = np.array([rates[0, 0], rates[1, 0], 0.0])
    r_bar0 = r.mean()
    t0 = 3.0 + np.linalg.norm(q0[-1] - QF) / 10.0                 # not arrived: + remaining straight-line time
    j0 = 1.0 * r_bar0 - 0.1 * 1 - 0.01 * t0
    # UAV 1: one final segment of 25 m, τ = 2.5 s, served by BS 3 at q_f, t = 2.5 s
    r1 = model.rates(QF[None], np.array([2.5]))[0, 3]
    j1 = 1.0 * r1 - 0.01 * 2.5
    u0, u1 = ev.details["uavs"]
    assert u0["rate_mbps"] == pytest.approx(r_bar0, rel=1e-12)
    assert u0["switches"] == 1 and u1["switches"] == 0
    assert u0["flight_time_s"] == pytest.approx(t0, rel=1e-12)
    assert u0["objective_paper"] == pytest.approx(j0, rel=1e-12)                     # E30 without the penalty
    from optkit.formulations.sagin.env import rate_bounds

    r_max = rate_bounds(inst)[1]
    assert u0["objective"] == pytest.approx(j0 - 1.0 * r_max, rel=1e-12)           # check 32c: failed, − λ1 R_max^E
    assert u1["objective"] == u1["objective_paper"] and (u0["failed"], u1["failed"]) == (1.0, 0.0)
    j0 = j0 - r_max
    assert u0["qsr"] == pytest.approx(np.mean(r >= 2.0))
    assert u0["qsr_pct"] == pytest.approx(100 * u0["qsr"])
    assert u0["mission_qos"] == float(r_bar0 >= 2.0)
    assert (u0["success"], u1["success"]) == (0.0, 1.0)
    assert u0["invalid_associations"] == 1 and u0["direction_projections"] == 2
    assert u0["share_gn"] == pytest.approx(2 / 3) and u0["share_sn"] == pytest.approx(1 / 3)
    assert u1["share_gn"] == 1.0 and u1["steps"] == 1
    assert u1["rate_mbps"] == pytest.approx(r1, rel=1e-12)
    assert u1["flight_time_s"] == pytest.approx(2.5) and u1["objective"] == pytest.approx(j1, rel=1e-12)
    assert u1["qsr"] == float(r1 >= 2.0)
    assert ev.metrics["objective"] == pytest.approx((j0 + j1) / 2, rel=1e-12)
    assert ev.metrics["success"] == 0.5 and ev.metrics["n_uavs"] == 2
    assert 0.0 <= ev.metrics["qsr"] <= 1.0                                       # check 23
    assert math.isnan(ev.metrics["frac_ref"])
    qos = max(0.0, 2.0 - r_bar0) + max(0.0, 2.0 - r1)
    assert not ev.feasible
    assert ev.violations.get("qos", 0.0) == pytest.approx(qos)
    assert ev.violations["not_arrived"] == 1 and ev.violations["invalid_association"] == 1
    for key in ("start", "step_length", "direction", "bounds", "invalid_index"):
        assert key not in ev.violations


def test_feasibility_counters(inst):
    p0 = np.array([[600.0, 800.0, 100.0],
                   [590.0, 800.0, 100.0],       # away from q_f: direction violation
                   [605.0, 800.0, 100.0],       # 15 m step: step-length violation
                   [610.0, 800.0, 100.0],       # 5 m step ending on the z bound: boundary event
                   [618.0, 800.0, 105.0]])      # above the airspace (z ≡ 100 m): bounds violation
    s0 = np.array([0, 25, -1, 1])               # two invalid indices
    p1 = np.array([[1380.0, 1600.0, 100.0], QF])                 # wrong start
    ev = E.evaluate(inst, _solution(E.Decisions((p0, p1), (s0, np.array([3])))))
    v = ev.violations
    assert v["direction"] == 1 and v["step_length"] == 1 and v["bounds"] == 1
    assert v["invalid_index"] == 2 and v["start"] == 1 and v["not_arrived"] == 1
    u0 = ev.details["uavs"][0]
    assert u0["direction_violations"] == 1 and u0["boundary_events"] == 1
    assert u0["switches"] == 3 and u0["direction_projections"] == 0
    # a rollout that reports the simulator's E24 counts is scored with them (positions cannot tell a clipped
    # floor step from a chord of a path flown at z_min); the JSON codec keeps them
    dec = E.Decisions((p0, p1), (s0, np.array([3])), np.array([2, 0]), np.array([4, 0]))
    back = E.Decisions.from_jsonable(json.loads(json.dumps(dec.to_jsonable())))
    reported = E.evaluate(inst, _solution(back)).details["uavs"]
    assert (reported[0]["boundary_events"], reported[0]["direction_projections"]) == (4, 2)
    assert reported[1]["boundary_events"] == 0
    with pytest.raises(InputError, match="decisions.boundary"):
        E.evaluate(inst, _solution(E.Decisions((p0, p1), (s0, np.array([3])), None, np.array([-1, 0]))))
    with pytest.raises(InputError, match=r"decisions.boundary\[1\]"):     # more events than steps
        E.evaluate(inst, _solution(E.Decisions((p0, p1), (s0, np.array([3])), None, np.array([0, 2]))))


def test_straight_line_rollout(inst):                                            # checks 20, 22
    pos, srv = E.path_to_rollout(inst, np.array([inst.starts_test[0], QF]), [4])
    pos1, srv1 = E.path_to_rollout(inst, np.array([inst.starts_test[1], QF]), [4])
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    np.testing.assert_allclose(steps[:-1], 10.0)
    assert steps[-1] <= 10.0 + 1e-9 and np.array_equal(pos[-1], QF)
    ev = E.evaluate(inst, _solution(E.Decisions((pos, pos1), (srv, srv1))))
    u = ev.details["uavs"][0]
    assert u["switches"] == 0 and u["direction_violations"] == 0 and u["success"] == 1
    assert u["flight_time_s"] == pytest.approx(np.linalg.norm(inst.starts_test[0] - QF) / 10.0, rel=1e-12)
    assert set(ev.violations) <= {"qos"}


def test_path_to_rollout_resampling(inst):
    w = np.array([[0.0, 0.0, 100.0], [25.0, 0.0, 100.0], [25.0, 15.0, 100.0]])
    pos, srv = E.path_to_rollout(inst, w, [1, 2])
    np.testing.assert_allclose(pos[:, :2], [[0, 0], [10, 0], [20, 0], [25, 5], [25, 15]])
    assert srv.tolist() == [1, 1, 2, 2]
    w = np.array([[0.0, 0.0, 100.0], [20.0, 0.0, 100.0], [20.0, 0.0, 100.0], [20.0, 10.0, 100.0]])
    pos, srv = E.path_to_rollout(inst, w, [1, 7, 2])             # zero-length segment dropped
    np.testing.assert_allclose(pos[:, :2], [[0, 0], [10, 0], [20, 0], [20, 10]])
    assert srv.tolist() == [1, 1, 2]                             # the waypoint sample belongs to the ending segment
    with pytest.raises(InputError, match="bs"):
        E.path_to_rollout(inst, w, [1, 2])


def test_codec_roundtrip_and_common_random_numbers(inst):
    dec = _records()
    data = json.loads(json.dumps(dec.to_jsonable()))
    back = E.Decisions.from_jsonable(data)
    a = E.evaluate(inst, _solution(dec))
    b = E.evaluate(_inst(), _solution(back))                     # a regenerated instance: same frozen draws (§6.4)
    assert a.metrics.keys() == b.metrics.keys()
    for k in a.metrics:
        assert a.metrics[k] == b.metrics[k] or (math.isnan(a.metrics[k]) and math.isnan(b.metrics[k]))
    assert E.evaluate(inst, data).metrics["objective"] == a.metrics["objective"]   # JSON form accepted
    c = E.evaluate(_inst(seed=1), _solution(dec))                # other seed: other buildings and fading
    assert c.metrics["rate_mbps"] != a.metrics["rate_mbps"]
    assert {m.id for m in E.METRICS} == set(a.metrics)


def test_bad_decisions_raise(inst):
    p, s = _records().positions, _records().serving
    with pytest.raises(InputError, match="expected 2 rollouts"):
        E.evaluate(inst, _solution(E.Decisions(p[:1], s[:1])))
    with pytest.raises(InputError, match=r"serving\[0\]"):
        E.evaluate(inst, _solution(E.Decisions(p, (s[0][:2], s[1]))))
    with pytest.raises(InputError, match=r"positions\[1\]"):
        E.evaluate(inst, _solution(E.Decisions((p[0], np.zeros((2, 2))), s)))
    with pytest.raises(InputError, match="projections"):
        E.evaluate(inst, _solution(E.Decisions(p, s, np.zeros(3, dtype=np.int64))))


def _ev(j, r, t, lattice=None, gain_mode="segment"):
    uavs = [{"objective": a, "rate_mbps": b, "flight_time_s": c} for a, b, c in zip(j, r, t)]
    details = {"uavs": uavs}
    if lattice is not None:
        details.update(lattice_values=list(lattice), gain_mode=gain_mode)
    return Evaluation(metrics={}, feasible=True, details=details)


def test_with_reference_hand_computed():
    mine, ref = _ev([1.0, 2.0], [3.0, 4.0], [100.0, 200.0]), _ev([2.0, -1.0], [6.0, 2.0], [50.0, 100.0])
    out = E.with_reference(mine, ref)
    assert out is mine                                             # in place (the core's contract)
    m = out.metrics
    assert m["gap_ref"] == pytest.approx(((2 - 1) + (-1 - 2)) / 2)   # per UAV J*_u − J_u, then the mean
    assert m["frac_ref"] == pytest.approx(0.5)                     # only UAV 0 has J*_u > 0
    assert m["rate_ratio_ref"] == pytest.approx((0.5 + 2.0) / 2)
    assert m["time_ratio_ref"] == pytest.approx((0.5 + 0.5) / 2)
    assert m["ref_is_lattice_value"] == 0.0                        # no lattice values: J* = J_eval(DP)
    u0, u1 = out.details["uavs"]
    assert (u0["gap_ref"], u0["frac_ref"], u0["rate_ratio_ref"], u0["time_ratio_ref"]) == (1.0, 0.5, 0.5, 0.5)
    assert u1["gap_ref"] == -3.0 and math.isnan(u1["frac_ref"])   # J*_u ≤ 0: no per-UAV fraction
    lat = E.with_reference(_ev([1.0, 2.0], [3.0, 4.0], [100.0, 200.0]),
                           _ev([2.0, -1.0], [6.0, 2.0], [50.0, 100.0], lattice=[4.0, 1.0]))
    assert lat.metrics["frac_ref"] == pytest.approx((0.25 + 2.0) / 2)   # segment gains: J*_L; > 1 not clipped
    assert lat.metrics["gap_ref"] == pytest.approx(((4 - 1) + (1 - 2)) / 2) and lat.metrics["ref_is_lattice_value"] == 1
    node = E.with_reference(_ev([1.0, 2.0], [3.0, 4.0], [100.0, 200.0]),
                            _ev([2.0, -1.0], [6.0, 2.0], [50.0, 100.0], lattice=[4.0, 1.0], gain_mode="node"))
    assert node.metrics["frac_ref"] == pytest.approx(0.5) and node.metrics["ref_is_lattice_value"] == 0  # J_eval(DP)
    means_only = Evaluation({"objective": 1.5, "frac_ref": float("nan")}, True)
    E.with_reference(means_only, Evaluation({"objective": 0.5}, True))  # no per-UAV records: not computable
    assert math.isnan(means_only.metrics["frac_ref"]) and "gap_ref" not in means_only.metrics
    with pytest.raises(InputError, match="reference"):
        E.with_reference(_ev([1.0], [1.0], [1.0]), ref)
