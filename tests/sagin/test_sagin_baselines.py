"""The classical baselines of sagin: `sl` (docs/families/sagin.md §7.3, checks 20-22, 24) and `graph` (§7.4 with the
§5.6 SOCP): evaluator feasibility (§6.2), the straight-line flight time, max-RSRP association against an independent
argmax of the exact backend's RSRP, the connectivity rule of the graph path, the SOCP constraints, determinism, and a
case where `graph` beats `sl`."""
import numpy as np
import pytest

from optkit.formulations.sagin import evaluator as E
from optkit.formulations.sagin.generator import generate
from optkit.formulations.sagin.radio import radio_model
from optkit.heuristics.sagin import graph_planner as G
from optkit.heuristics.sagin.straight_line import solve_sl, straight_line_paths
from optkit.scenarios import load_scenario, merge
from optkit.solution import Status

HARD = ("start", "step_length", "direction", "bounds", "not_arrived")     # §6.2 checks both baselines must pass


def _inst(preset, seed=0, overrides=None):
    params = load_scenario("sagin", preset).params
    return generate(merge(params, overrides) if overrides else params, seed, preset)


@pytest.fixture(scope="module")
def insts():
    return {"ref-tiny": _inst("ref-tiny"), "quick": _inst("quick", 1)}


@pytest.fixture(scope="module")
def sols(insts):
    return {(k, m): f(inst) for k, inst in insts.items() for m, f in (("sl", solve_sl), ("graph", G.solve_graph))}


@pytest.mark.parametrize("preset", ["ref-tiny", "quick"])
@pytest.mark.parametrize("method", ["sl", "graph"])
def test_decisions_pass_the_evaluator_checks(insts, sols, preset, method):
    inst, sol = insts[preset], sols[(preset, method)]
    assert sol.family == "sagin" and sol.method == method and sol.status == Status.FEASIBLE
    ev = E.evaluate(inst, sol)
    assert not set(HARD) & set(ev.violations), ev.violations
    assert ev.metrics["success"] == 1.0 and ev.metrics["direction_violations"] == 0.0
    for p in sol.decisions.positions:
        steps = np.linalg.norm(np.diff(p, axis=0), axis=1)
        if method == "sl":                          # check 20: every step Δs but the final segment, no clipping
            assert np.all(steps[:-1] == pytest.approx(inst.uav_step_length, abs=1e-9))
            assert ev.metrics["boundary_events"] == 0.0
        else:                                       # §6.1 resampling: chords across a waypoint are ≤ Δs
            assert np.all(steps <= inst.uav_step_length + 1e-9)
        np.testing.assert_array_equal(p[-1], inst.uav_destination)


@pytest.mark.parametrize("preset", ["ref-tiny", "quick"])
def test_sl_flight_time_is_distance_over_speed(insts, sols, preset):
    inst, sol = insts[preset], sols[(preset, "sl")]
    ev = E.evaluate(inst, sol)
    d0 = np.linalg.norm(inst.starts_test - np.asarray(inst.uav_destination), axis=1)
    times = np.array([u["flight_time_s"] for u in ev.details["uavs"]])
    np.testing.assert_allclose(times, d0 / inst.uav_speed, rtol=1e-12)                # check 22
    assert np.all(sol.decisions.projections == 0)
    for p, q0 in zip(sol.decisions.positions, inst.starts_test):                      # on the segment q^0 -> q_f
        u = (np.asarray(inst.uav_destination) - q0) / np.linalg.norm(np.asarray(inst.uav_destination) - q0)
        off = (p - q0) - ((p - q0) @ u)[:, None] * u
        assert np.abs(off).max() < 1e-9


@pytest.mark.parametrize("preset", ["ref-tiny", "quick"])
def test_sl_association_is_argmax_rsrp(insts, sols, preset):
    inst, sol = insts[preset], sols[(preset, "sl")]
    model = radio_model(inst)
    for p, s in zip(sol.decisions.positions, sol.decisions.serving):
        t = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1) / inst.uav_speed)])
        n = np.arange(0, p.shape[0] - 2, 7)                          # sampled steps (the final segment aside)
        rsrp_t, _ = model.terrestrial(p[n])                          # E22, GN/AN
        rsrp_s, avail = model.satellite(p[n], t[n])                  # E22, SN (−inf when unavailable)
        expect = np.argmax(np.concatenate([rsrp_t, rsrp_s], axis=1), axis=1)
        np.testing.assert_array_equal(s[n], expect)                 # b(n+1) from q(n), t_n
        assert s[-1] == s[-2]                                        # E25: final segment keeps its BS
    assert E.evaluate(inst, sol).metrics["invalid_associations"] == 0.0


def test_sl_speed_changes_time_not_path():
    base = _inst("ref-tiny")
    fast = _inst("ref-tiny", overrides={"uav": {"speed": 20.0}})
    a, b = solve_sl(base), solve_sl(fast)                            # check 24
    np.testing.assert_array_equal(a.decisions.positions[0], b.decisions.positions[0])
    ta = E.evaluate(base, a).metrics["flight_time_s"]
    assert E.evaluate(fast, b).metrics["flight_time_s"] == pytest.approx(ta / 2, rel=1e-12)


def test_sl_start_inside_arrival_radius():
    inst = _inst("ref-tiny")
    q_f = np.asarray(inst.uav_destination)
    paths, proj, out = straight_line_paths(inst, np.array([q_f + [20.0, 0, 0], q_f]))
    assert paths[0].shape == (2, 3) and np.array_equal(paths[0][-1], q_f)   # one final segment
    assert paths[1].shape == (1, 3) and proj.tolist() == [0, 0] and out.tolist() == [0, 0]   # there: no step


def test_graph_path_uses_only_rule_abiding_edges():
    inst = _inst("ref-tiny", overrides={"qos": {"r_req": 4.0}})      # 40 % of the grid disconnected
    grid = G.connectivity_grid(inst)
    best = radio_model(inst).terrestrial_rates(grid.nodes).max(axis=1)
    np.testing.assert_array_equal(grid.connected, best >= 4.0)       # step 1, independent max
    assert not grid.connected.all()
    edges, lengths = G.grid_edges(grid)
    k_out = int(G.OUTAGE_TIME * inst.uav_speed // G.GRID_SPACING)
    graph = G.build_graph(grid, edges, lengths, k_out, inst.uav_speed)
    ids, cost = G.shortest_waypoints(grid, graph, inst.starts_test[0], inst.uav_speed)
    q_f = np.asarray(inst.uav_destination)
    assert ids[-1] == grid.dest and np.array_equal(grid.nodes[ids[0]], inst.starts_test[0])  # start is a node
    assert not grid.connected[ids].all()                             # the path crosses an outage
    k, expected = 0, 0.0
    for a, b in zip(ids[:-1], ids[1:]):
        step = grid.offsets[b] - grid.offsets[a]
        assert np.abs(step).max() == 1                               # king move
        assert np.linalg.norm(grid.nodes[b] - q_f) < np.linalg.norm(grid.nodes[a] - q_f)
        k_next = 0 if grid.connected[b] else k + 1
        assert k_next <= k_out                                       # outage duration ≤ T_out
        assert graph.has_edge((a, k), (b, k_next))
        expected += G.GRID_SPACING * np.linalg.norm(step) / inst.uav_speed * (2.0 - grid.connected[b])
        k = k_next
    assert cost == pytest.approx(expected, rel=1e-12)


def test_socp_smoothing_analytic_and_pinned():
    w = np.array([[0.0, 0.0, 100.0], [50.0, 50.0, 100.0], [100.0, 0.0, 100.0]])
    out, info = G.smooth_path(w, np.array([True, True, True]), 50.0)
    np.testing.assert_allclose(out[1], [50.0, 37.5, 100.0], atol=1e-6)   # box edge 50 − h/4
    assert info["length_after_m"] == pytest.approx(2 * np.hypot(50.0, 37.5), rel=1e-7)
    out, _ = G.smooth_path(w, np.array([True, False, True]), 50.0)
    np.testing.assert_array_equal(out[1], w[1])                          # disconnected: p_i = w_i


def test_socp_constraints_on_planned_paths(insts):
    inst = _inst("ref-tiny", overrides={"qos": {"r_req": 4.0}})
    for inst in (inst, insts["quick"]):
        grid = G.connectivity_grid(inst)
        edges, lengths = G.grid_edges(grid)
        graph = G.build_graph(grid, edges, lengths, 2, inst.uav_speed)
        for start in inst.starts_test:
            ids, _ = G.shortest_waypoints(grid, graph, start, inst.uav_speed)
            w, conn = grid.nodes[ids], grid.connected[ids]
            if not np.array_equal(w[0], start):
                w, conn = np.vstack([start, w]), np.concatenate([[True], conn])
            out, info = G.smooth_path(w, conn, grid.h, inst.airspace_box, inst.uav_destination)
            dev = np.abs(out - w).max(axis=1)
            assert np.all(dev[conn] <= 0.25 * grid.h + 1e-7)
            assert np.all(dev[~conn] == 0.0) and dev[0] == 0.0 and dev[-1] == 0.0
            assert info["length_after_m"] <= info["length_before_m"] + 1e-6
            assert not E.F.outside_box(out, inst.airspace_box).any()
            rollout, _ = E.path_to_rollout(inst, out, np.zeros(len(out) - 1, dtype=np.int64))
            assert np.linalg.norm(np.diff(rollout, axis=0), axis=1).max() <= inst.uav_step_length + 1e-6


def test_socp_direction_pinning():
    path = [(4, -2), (3, -3), (2, -3), (1, -2), (0, -2), (-1, -1), (0, -1), (0, 0)]     # a grid king-move path
    w = np.array([[50.0 * a, 50.0 * b, 100.0] for a, b in path])
    q_f = np.array([0.0, 0.0, 100.0])
    free, _ = G.smooth_path(w, np.ones(len(w), dtype=bool), 50.0)
    assert not G._direction_ok(free, q_f).all()                        # plain smoothing would break P2-3
    out, info = G.smooth_path(w, np.ones(len(w), dtype=bool), 50.0, q_f=q_f)
    assert G._direction_ok(out, q_f).all() and info["pinned_for_direction"] > 0 and info["socp_solves"] == 2


def test_deterministic(insts, sols):
    inst = insts["quick"]
    for method, f in (("sl", solve_sl), ("graph", G.solve_graph)):
        again = f(inst, seed=3)
        for a, b in zip(sols[("quick", method)].decisions.positions, again.decisions.positions):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(sols[("quick", method)].decisions.serving, again.decisions.serving):
            np.testing.assert_array_equal(a, b)


def test_graph_beats_sl_where_outages_matter():
    # default R_req = 2 Mbit/s: graph wins on QoS (QSR) but usually loses on the objective J (sticky GN/AN-only
    # association, no satellites, slightly longer path); at R_req = 4 Mbit/s it wins on both.
    inst = _inst("ref-tiny", 1)
    m_sl, m_gr = (E.evaluate(inst, f(inst)).metrics for f in (solve_sl, G.solve_graph))
    assert m_gr["qsr"] > m_sl["qsr"] + 0.05
    inst = _inst("ref-tiny", overrides={"qos": {"r_req": 4.0}})
    m_sl, m_gr = (E.evaluate(inst, f(inst)).metrics for f in (solve_sl, G.solve_graph))
    assert m_gr["objective"] > m_sl["objective"] and m_gr["qsr"] > m_sl["qsr"]


def test_graph_solver_failure_is_an_error_status(insts, monkeypatch):
    def broken(*args, **kwargs):
        raise G.PlannerError("SOCP smoothing: solver status infeasible")

    monkeypatch.setattr(G, "smooth_path", broken)
    inst = insts["quick"]
    sol = G.solve_graph(inst)
    assert sol.status == Status.ERROR and "solver status infeasible" in sol.info["message"]
    ev = E.evaluate(inst, sol)                                          # unsmoothed grid paths stay evaluable
    assert not set(HARD) & set(ev.violations)
