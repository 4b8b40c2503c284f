"""Evaluator of `leo-handover` (docs/families/leo-handover.md §6, checks 19–21): handover count, blocks, LD and T_link
identities, the forced/voluntary split, feasibility (§6.2), empty episodes, fractions of the reference, the decisions
codec, and H ≥ H_min / LD ≤ LD_max for every method on the `smoke` preset."""
from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

import optkit
from optkit import registry
from optkit.evaluation import Evaluation
from optkit.formulations.leo_handover import evaluator as ev
from optkit.formulations.leo_handover.episode import EpisodeTable
from optkit.formulations.leo_handover.evaluator import (Decisions, episode_metrics, feasibility, handover_count,
                                                        with_reference)
from optkit.formulations.leo_handover.generator import EpisodeSpec
from optkit.solution import Solution, Status

K0 = 50
A, B, C = 4, 9, 13
FSPL_1000KM_2GHZ = 20 * math.log10(1000.0) + 20 * math.log10(2.0) + 92.45


def make_table(elig, *, rew=None, el=None, rng_km=None, end=None, dt=1.0):
    """EpisodeTable from elig = [set of satellites per episode step]. rew/el/rng_km: dict (step, sat) -> value
    (defaults 0.5, 45°, 1000 km); end: dict sat -> absolute window end (default: the last eligible step of the
    run, computed here)."""
    L = len(elig)
    rows = [(k, j) for k in range(L) for j in sorted(elig[k])]
    ptr = np.concatenate([[0], np.cumsum([len(e) for e in elig])]).astype(np.int64)

    def window(k, j):
        b = k
        while b > 0 and j in elig[b - 1]:
            b -= 1
        e = k
        while e < L - 1 and j in elig[e + 1]:
            e += 1
        return K0 + b, (end or {}).get(j, K0 + e)

    n = len(rows)
    bounds = [window(k, j) for k, j in rows]
    get = lambda d, default: np.array([(d or {}).get(r, default) for r in rows], dtype=float)
    return EpisodeTable(
        spec=EpisodeSpec(0, K0, L, 0), dt_s=dt, step_ptr=ptr,
        sat=np.array([j for _, j in rows], dtype=np.int64),
        start=np.array([b for b, _ in bounds], dtype=np.int64), end=np.array([e for _, e in bounds], dtype=np.int64),
        el_deg=get(el, 45.0), az_deg=np.full(n, 90.0), range_km=get(rng_km, 1000.0), dirdiff_deg=np.zeros(n),
        range_rate_kmps=np.zeros(n), features=np.full((n, 5), 0.5), reward=get(rew, 0.5),
    )


# ----------------------------------------------------------------------------------------------- check 19
def test_handover_count_examples():
    assert handover_count(np.array([A, A, -1, B, B])) == 0
    assert handover_count(np.array([A, B, A])) == 2
    assert handover_count(np.array([A] * 7)) == 0
    assert handover_count(np.array([A, -1, A])) == 0
    assert handover_count(np.array([A, B, -1, B, A])) == 2
    assert handover_count(np.array([-1, -1])) == 0
    assert handover_count(np.array([C])) == 0


def test_blocks_ld_and_tlink_of_outage_example():
    table = make_table([{A}, {A}, set(), {B}, {B}], dt=0.5)
    srv = np.array([A, A, -1, B, B])
    assert feasibility(table, srv) == {}
    m = episode_metrics(table, srv)
    assert m["handovers"] == 0 and m["blocks"] == 2
    assert m["link_duration"] == pytest.approx(4 / (5 * 2))
    assert m["link_duration_s"] == pytest.approx(4 * 0.5 / 2)
    assert m["outage_frac"] == pytest.approx(0.2)
    assert m["retention"] == pytest.approx(2 / 4)
    assert m["h_min"] == 0 and m["eta_ho"] == 1.0 and m["eta_ld"] == pytest.approx(1.0)


def test_constant_sequence_has_no_handover():
    table = make_table([{A, B}] * 6)
    m = episode_metrics(table, np.array([A] * 6))
    assert m["handovers"] == 0 and m["blocks"] == 1 and m["link_duration"] == pytest.approx(1.0)
    assert m["retention"] == pytest.approx(1.0) and m["handover_freq"] == 0.0


def test_aba_has_two_handovers():
    table = make_table([{A, B}] * 3)
    m = episode_metrics(table, np.array([A, B, A]))
    assert m["handovers"] == 2 and m["handovers_voluntary"] == 2 and m["handovers_forced"] == 0
    assert m["link_duration"] == pytest.approx(3 / (3 * 3))


def test_forced_voluntary_split_and_every_metric_by_hand():
    # A eligible at steps 0-2, B at 0-5 (its window ends at step 5); srv = A, B, A, B, B, B
    elig = [{A, B}, {A, B}, {A, B}, {B}, {B}, {B}]
    rew = {(0, A): 0.6, (1, A): 0.6, (2, A): 0.6, (0, B): 0.4, (1, B): 0.4, (2, B): 0.4,
           (3, B): 0.5, (4, B): 0.5, (5, B): 0.5}
    el = {(0, A): 20.0, (1, A): 25.0, (2, A): 50.0, (0, B): 60.0, (1, B): 10.0, (2, B): 35.0,
          (3, B): 40.0, (4, B): 70.0, (5, B): 29.0}
    rng_km = {(1, B): 800.0}
    table = make_table(elig, rew=rew, el=el, rng_km=rng_km, dt=2.0)
    srv = np.array([A, B, A, B, B, B])
    assert feasibility(table, srv) == {}
    m = episode_metrics(table, srv, handover_penalty=0.25)
    L = 6
    assert m["handovers"] == 3
    assert m["handovers_forced"] == 1                    # step 3: A left E(3)
    assert m["handovers_voluntary"] == 2                 # steps 1 and 2: the previous one stayed eligible
    assert m["handover_freq"] == pytest.approx(3 / 5)
    assert m["handover_rate_hr"] == pytest.approx(3 / (L * 2.0 / 3600))
    assert m["blocks"] == 1 and m["outage_frac"] == 0.0
    assert m["link_duration"] == pytest.approx(6 / (6 * 4))
    assert m["link_duration_s"] == pytest.approx(6 * 2.0 / 4)
    assert m["retention"] == pytest.approx(2 / 5)
    G = 0.6 + 0.4 + 0.6 + 0.5 * 3
    assert m["reward"] == pytest.approx(G)
    assert m["reward_per_step"] == pytest.approx(G / 6)
    served_el = [20.0, 10.0, 50.0, 40.0, 70.0, 29.0]
    assert m["serving_elev_deg"] == pytest.approx(np.mean(served_el))
    assert m["low_elev_frac"] == pytest.approx(3 / 6)
    assert m["serving_range_km"] == pytest.approx((5 * 1000.0 + 800.0) / 6)
    fspl = [FSPL_1000KM_2GHZ] * 5 + [20 * math.log10(800.0) + 20 * math.log10(2.0) + 92.45]
    assert m["fspl_db"] == pytest.approx(np.mean(fspl), abs=1e-9)
    assert m["h_min"] == 0                               # B alone covers the episode
    assert m["eta_ho"] == 0.0 and m["excess_handovers"] == 3
    assert m["eta_g"] == pytest.approx(G / (0.6 * 3 + 0.5 * 3))
    assert m["eta_ld"] == pytest.approx((6 / 24) / (6 / 6))
    assert m["handover_penalty_total"] == pytest.approx(0.75)


def test_h_min_over_two_blocks():
    # block 1: A (steps 0-1) then only C (2-3): one forced switch; block 2 after an outage: B then A
    elig = [{A}, {A, C}, {C}, {C}, set(), {B}, {A, B}, {A}]
    table = make_table(elig)
    srv = np.array([A, A, C, C, -1, B, A, A])
    m = episode_metrics(table, srv)
    assert m["handovers"] == 2 and m["blocks"] == 2 and m["h_min"] == 2
    assert m["handovers_forced"] == 1 and m["handovers_voluntary"] == 1
    assert m["eta_ho"] == 1.0
    srv2 = np.array([A, A, C, C, -1, B, B, A])
    m2 = episode_metrics(table, srv2)
    assert m2["handovers"] == 2 and m2["handovers_forced"] == 2 and m2["handovers_voluntary"] == 0
    srv3 = np.array([A, C, C, C, -1, B, A, A])
    assert episode_metrics(table, srv3)["handovers_voluntary"] == 2


# ----------------------------------------------------------------------------------------------- §6.2 feasibility
def test_feasibility_names_each_violation():
    table = make_table([{A}, {A, B}, set(), {B}])
    assert feasibility(table, np.array([A, B, -1, B])) == {}
    assert "length" in feasibility(table, np.array([A, B, -1]))
    assert "length" in feasibility(table, np.array([A, B, -1, B, B]))
    assert feasibility(table, np.array([A, -1, -1, B])) == {"connected_when_possible": 1}
    assert feasibility(table, np.array([B, A, -1, B])) == {"serving_not_eligible": 1}
    broken = feasibility(table, np.array([A, A, A, B]))          # connected during an outage
    assert broken.get("connected_when_possible") == 1
    assert feasibility(table, np.array([C, C, -1, C]))["serving_not_eligible"] == 3


def _patched_evaluate(monkeypatch, tables, srv, handover_penalty=0.0):
    monkeypatch.setattr(ev, "evaluation_tables", lambda inst: iter(tables))
    inst = SimpleNamespace(n_test_episodes=len(tables), handover_penalty=handover_penalty, seed=0)
    sol = Solution(family="leo-handover", method="test", status=Status.FEASIBLE,
                   decisions=Decisions(tuple(np.asarray(s, dtype=np.int64) for s in srv)), runtime_s=0.0)
    return ev.evaluate(inst, sol)


def test_evaluate_counts_infeasible_episodes(monkeypatch):
    good = make_table([{A, B}] * 4)
    tables = [good, good, good, good]
    srv = [[A, A, B, B], [A, A, B], [A, -1, B, B], [A, C, B, B]]
    e = _patched_evaluate(monkeypatch, tables, srv)
    assert e.feasible is False
    assert e.metrics["infeasible_episodes"] == 3 and e.metrics["episodes"] == 4
    assert set(e.violations) == {"length", "connected_when_possible", "serving_not_eligible"}
    assert e.violations["connected_when_possible"] == 1 and e.violations["serving_not_eligible"] == 1
    per = e.details["episodes"]
    assert per[0]["handovers"] == 1
    assert all(math.isnan(p["handovers"]) for p in per[1:])
    assert e.metrics["handovers"] == 1.0                 # the means leave the invalid episodes out


def test_evaluate_empty_episode_gives_nan_ld_and_is_counted(monkeypatch):
    full = make_table([{A, B}, {A, B}, {B}, {B}])
    empty = make_table([set()] * 5)
    e = _patched_evaluate(monkeypatch, [full, empty], [[A, A, B, B], [-1] * 5])
    assert e.feasible is True and e.metrics["empty_episodes"] == 1
    per = e.details["episodes"][1]
    assert per["handovers"] == 0
    for name in ("link_duration", "link_duration_s"):
        assert math.isnan(per[name])
    assert per["outage_frac"] == 1.0
    first = e.details["episodes"][0]
    assert first["link_duration"] == pytest.approx(4 / (4 * 2))
    assert e.metrics["link_duration"] == pytest.approx(first["link_duration"])   # NaN excluded from the mean
    assert e.metrics["link_duration_s"] == pytest.approx(2.0)
    assert all(math.isfinite(v) or math.isnan(v) for v in e.metrics.values())


def test_handover_penalty_is_reported_apart_from_g(monkeypatch):
    table = make_table([{A, B}] * 4, rew={(k, j): 0.1 * k + (0.3 if j == A else 0.2) for k in range(4) for j in (A, B)})
    srv = [[A, B, A, A]]
    plain = _patched_evaluate(monkeypatch, [table], srv, handover_penalty=0.0)
    aware = _patched_evaluate(monkeypatch, [table], srv, handover_penalty=0.5)
    G = 0.3 + 0.3 + 0.5 + 0.6
    assert plain.metrics["reward"] == pytest.approx(G) and aware.metrics["reward"] == pytest.approx(G)
    assert plain.metrics["handover_penalty_total"] == 0.0
    assert aware.metrics["handover_penalty_total"] == pytest.approx(0.5 * 2)


def test_evaluate_rejects_a_wrong_number_of_sequences(monkeypatch):
    table = make_table([{A}] * 3)
    monkeypatch.setattr(ev, "evaluation_tables", lambda inst: iter([table, table]))
    inst = SimpleNamespace(n_test_episodes=2, handover_penalty=0.0, seed=0)
    sol = Solution(family="leo-handover", method="test", status=Status.FEASIBLE,
                   decisions=Decisions((np.array([A, A, A]),)), runtime_s=0.0)
    with pytest.raises(ValueError):
        ev.evaluate(inst, sol)


# ----------------------------------------------------------------------------------------------- reference, codec
def _evaluation(h, g):
    return Evaluation(metrics={"handovers": h, "reward": g, "frac_opt": float("nan"), "frac_opt_of": float("nan")},
                      feasible=True)


def test_with_reference_by_hand():
    e = with_reference(_evaluation(4.0, 150.0), _evaluation(1.0, 200.0))
    assert e.metrics["frac_opt"] == pytest.approx(0.25)
    assert e.metrics["frac_opt_of"] == pytest.approx(0.75)
    e = with_reference(_evaluation(0.0, 10.0), _evaluation(0.0, 10.0))
    assert e.metrics["frac_opt"] == 1.0 and e.metrics["frac_opt_of"] == 1.0
    e = with_reference(_evaluation(2.0, 5.0), _evaluation(1.0, 0.0))
    assert e.metrics["frac_opt"] == pytest.approx(0.5) and math.isnan(e.metrics["frac_opt_of"])


def test_decisions_json_round_trip():
    d = Decisions((np.array([3, 3, -1, 7], dtype=np.int64), np.array([], dtype=np.int64), np.array([299])))
    data = json.loads(json.dumps(d.to_jsonable()))
    back = Decisions.from_jsonable(data)
    assert len(back.srv) == 3
    for a, b in zip(d.srv, back.srv):
        assert b.dtype == np.int64 and np.array_equal(a, b)
    api = registry.family_api("leo-handover")
    assert api.decisions_to_jsonable(api.decisions_from_jsonable(data)) == data


# ----------------------------------------------------------------------------------------------- smoke, every method
ONLINE = ("distance", "distance-all", "max-elevation", "sticky-nearest", "mrt", "mrt-every-step", "score-greedy",
          "random")
OFFLINE = (("offline-minho", {}), ("offline-dp", {"lam": 0.0}), ("offline-dp", {"lam": 1.0}),
           ("offline-dp", {"lam": "lex"}))            # offline-milp: same schedules as the DP (test_leo_methods)
LEARNERS = ("sarsa", "qlearning", "dqn")


@pytest.fixture(scope="module")
def scored(smoke, cache_dir):
    """(label, solution, evaluation) of every method on smoke (learners at the `check` budget)."""
    out = []
    for m in ONLINE:
        sol = optkit.solve(smoke, m)
        out.append((m, sol, optkit.evaluate(smoke, sol)))
    for m, opts in OFFLINE:
        sol = optkit.solve(smoke, m, **opts)
        out.append((f"{m}{opts}", sol, optkit.evaluate(smoke, sol)))
    for m in LEARNERS:
        sol = optkit.solve(smoke, m, budget="check")
        out.append((m, sol, optkit.evaluate(smoke, sol)))
    return out


def test_every_method_is_feasible_on_smoke(scored, smoke):
    covered = {label.split("{")[0] for label, _, _ in scored}
    registered = {m.id for m in registry.methods("leo-handover")}
    assert set(ONLINE) | {"offline-minho", "offline-dp"} | set(LEARNERS) <= covered <= registered
    for label, _, e in scored:
        assert e.feasible, (label, e.violations)
        assert e.metrics["infeasible_episodes"] == 0 and e.metrics["episodes"] == smoke.n_test_episodes
        assert e.metrics["empty_episodes"] == 0


def test_ld_and_tlink_identities_and_recomputed_counts(scored, smoke, smoke_tables):
    dt = smoke.dt_s
    for label, sol, e in scored:
        for table, srv, m in zip(smoke_tables, sol.decisions.srv, e.details["episodes"]):
            L = table.L
            n_conn = int(np.count_nonzero(table.counts > 0))
            H, Bk = m["handovers"], m["blocks"]
            assert m["link_duration"] == pytest.approx(n_conn / (L * (H + Bk)), rel=1e-12), label
            assert m["link_duration_s"] * (H + Bk) == pytest.approx(n_conn * dt, rel=1e-12), label
            assert (1 - m["outage_frac"]) * L == pytest.approx(n_conn)
            # independent recomputation from srv (a plain loop over steps)
            h = forced = 0
            g = 0.0
            for k in range(1, L):
                if srv[k] >= 0 and srv[k - 1] >= 0 and srv[k] != srv[k - 1]:
                    h += 1
                    forced += table.find(k, int(srv[k - 1])) < 0
            for k in range(L):
                if srv[k] >= 0:
                    g += table.reward[table.find(k, int(srv[k]))]
            runs = sum(1 for k in range(L) if table.counts[k] > 0 and (k == 0 or table.counts[k - 1] == 0))
            assert (H, m["handovers_forced"], Bk) == (h, forced, runs), label
            assert m["reward"] == pytest.approx(g, abs=1e-9), label
            g_ub = sum(table.reward[table.pairs(k)].max() for k in range(L) if table.counts[k])
            assert m["eta_g"] == pytest.approx(g / g_ub, rel=1e-12), label


def test_h_at_least_h_min_and_ld_at_most_ld_max(scored, smoke_tables):
    minho = next(sol for label, sol, _ in scored if label.startswith("offline-minho"))
    h_min = [handover_count(s) for s in minho.decisions.srv]
    for label, _, e in scored:
        for i, (table, m) in enumerate(zip(smoke_tables, e.details["episodes"])):
            assert m["h_min"] == h_min[i]
            assert m["handovers"] >= m["h_min"], label
            n_conn = int(np.count_nonzero(table.counts > 0))
            ld_max = n_conn / (table.L * (h_min[i] + m["blocks"]))
            assert m["link_duration"] <= ld_max * (1 + 1e-12), label
            assert m["eta_ld"] <= 1.0 + 1e-12 and 0.0 <= m["eta_ho"] <= 1.0
            assert m["excess_handovers"] == m["handovers"] - h_min[i]
    # the min-handover schedule attains LD_max
    e_min = next(e for label, _, e in scored if label.startswith("offline-minho"))
    assert all(m["eta_ld"] == pytest.approx(1.0) and m["eta_ho"] == 1.0 for m in e_min.details["episodes"])


def test_aggregates_are_means_of_episode_values(scored):
    for label, _, e in scored[:3]:
        for name in ("handovers", "link_duration", "reward", "eta_g"):
            values = [m[name] for m in e.details["episodes"]]
            assert e.metrics[name] == pytest.approx(np.mean(values)), (label, name)
        assert e.metrics["objective"] == e.metrics["reward"]


def test_evaluate_with_reference_on_smoke(smoke, scored):
    sol = next(s for label, s, _ in scored if label == "distance")
    ref = next(s for label, s, _ in scored if label.startswith("offline-dp") and "lex" in label)
    e = optkit.evaluate(smoke, sol, reference=ref)
    e_ref = optkit.evaluate(smoke, ref)
    assert e.metrics["frac_opt"] == pytest.approx(e_ref.metrics["handovers"] / e.metrics["handovers"])
    assert e.metrics["frac_opt_of"] == pytest.approx(e.metrics["reward"] / e_ref.metrics["reward"])
    assert 0 < e.metrics["frac_opt"] <= 1.0


def test_smoke_infeasible_sequences_are_counted(smoke, smoke_tables):
    sol = optkit.solve(smoke, "offline-minho")
    srv = [s.copy() for s in sol.decisions.srv]
    srv[0] = srv[0][:-1]                                              # wrong length
    t1 = smoke_tables[1]
    k1 = int(np.flatnonzero(t1.counts > 0)[0])
    srv[1][k1] = -1                                                   # disconnected though a satellite is eligible
    t2 = smoke_tables[2]
    k2 = int(np.flatnonzero(t2.counts > 0)[0])
    eligible = set(t2.sat[t2.pairs(k2)].tolist())
    srv[2][k2] = next(j for j in range(smoke.n_sat) if j not in eligible)   # a non-eligible satellite
    broken = Solution(family="leo-handover", method="offline-minho", status=Status.FEASIBLE,
                      decisions=Decisions(tuple(srv)), runtime_s=0.0)
    e = optkit.evaluate(smoke, broken)
    assert e.feasible is False
    assert e.metrics["infeasible_episodes"] == 3
    assert set(e.violations) == {"length", "connected_when_possible", "serving_not_eligible"}
    assert e.violations["connected_when_possible"] == 1 and e.violations["serving_not_eligible"] == 1
    assert all(math.isnan(e.details["episodes"][i]["handovers"]) for i in range(3))
    assert all(math.isfinite(e.details["episodes"][i]["handovers"]) for i in range(3, smoke.n_test_episodes))


def test_spread_over_episodes_by_hand():
    values = {"handovers": [1.0, 3.0, 2.0, float("nan"), 6.0]}
    out = ev.spread(values, base_seed=0)
    finite = np.array([1.0, 3.0, 2.0, 6.0])
    assert out["handovers_std"] == pytest.approx(finite.std(ddof=1))
    assert out["handovers_median"] == pytest.approx(2.5)
    rng = np.random.default_rng(np.random.SeedSequence([0, 600]))
    means = finite[rng.integers(0, 4, size=(ev.BOOTSTRAP_RESAMPLES, 4))].mean(axis=1)
    assert out["handovers_ci_low"] == pytest.approx(np.percentile(means, 2.5))
    assert out["handovers_ci_high"] == pytest.approx(np.percentile(means, 97.5))
    assert out["handovers_ci_low"] <= finite.mean() <= out["handovers_ci_high"]
    assert math.isnan(ev.spread({"reward": [float("nan")]}, 0)["reward_ci_low"])


def test_spread_draws_are_common_to_every_method(smoke):
    scored = optkit.evaluate(smoke, optkit.solve(smoke, "mrt"))
    a = scored.metrics
    shift = 0.5
    shifted = ev.spread({"handovers": [e["handovers"] + shift for e in scored.details["episodes"]]}, int(smoke.seed))
    # the same resampling indices for every sequence: shifting every episode shifts the interval by the same amount
    assert shifted["handovers_ci_low"] == pytest.approx(a["handovers_ci_low"] + shift)
    assert shifted["handovers_ci_high"] == pytest.approx(a["handovers_ci_high"] + shift)
    assert a["handovers_ci_low"] <= a["handovers"] <= a["handovers_ci_high"]
