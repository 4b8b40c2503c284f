"""Methods of `leo-handover` (docs/families/leo-handover.md §7, checks 21–25, degenerate cases): every baseline rule
replayed step by step, `mrt` = H_min with enough slots, `score-greedy` = G_UB, the offline DP (λ = 0, monotonicity,
lex = H_min = MILP P2-H, DP = MILP), `distance-all`, `random` seeding, M = 1, the learners on the smoke budget (better
than random, checkpoint cache, ablation dimension, mask_at_test), the contract suites and bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest

import optkit
from optkit import registry
from optkit.checks import METHOD_CHECKS, check_family, check_method
from optkit.errors import InputError, ValidationError
from optkit.formulations.leo_handover import offline
from optkit.formulations.leo_handover.env import HandoverEnv, instance_env
from optkit.formulations.leo_handover.episode import evaluation_specs, evaluation_tables, instance_scaler
from optkit.formulations.leo_handover.evaluator import handover_count
from optkit.formulations.leo_handover.milp import solve_schedule_milp
from optkit.solution import Status

FAMILY = "leo-handover"
ENV_POLICIES = ("distance", "max-elevation", "sticky-nearest", "mrt", "mrt-every-step", "score-greedy", "random")
HEURISTICS = ENV_POLICIES + ("distance-all",)
LAMBDAS = (0.0, 0.1, 1.0, 10.0, "lex")


# ----------------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def smoke():
    return optkit.make_instance(FAMILY, "smoke", 0)


@pytest.fixture(scope="module")
def tables(smoke):
    return list(evaluation_tables(smoke))


@pytest.fixture(scope="module")
def runs(smoke):
    """method -> (solution, per-episode metrics) on smoke, for every heuristic."""
    out = {}
    for m in HEURISTICS:
        sol = optkit.solve(smoke, m)
        e = optkit.evaluate(smoke, sol)
        assert e.feasible, (m, e.violations)
        out[m] = (sol, e.details["episodes"])
    return out


@pytest.fixture(scope="module")
def dp_runs(smoke):
    out = {}
    for lam in LAMBDAS:
        sol = optkit.solve(smoke, "offline-dp", lam=lam)
        out[lam] = (sol, optkit.evaluate(smoke, sol).details["episodes"])
    return out


def per_episode(inst, method, **opts):
    sol = optkit.solve(inst, method, **opts)
    e = optkit.evaluate(inst, sol)
    assert e.feasible, (method, e.violations)
    return sol, e.details["episodes"]


# ----------------------------------------------------------------------------------------------- rules replayed
def _replay(smoke, tables, srv_all, check):
    """Drive the environment along a method's serving sequences; check(k, table, cands, prev, chosen) per decision
    with cands = [(sat, pair), ...] of the valid slots."""
    env = instance_env(smoke)
    decisions = 0
    for spec, table, srv in zip(evaluation_specs(smoke), tables, srv_all):
        _, info = env.reset(spec, table)
        while not info["terminated"]:
            k = env.k
            ids = info["cand_ids"].tolist()
            cands = [(s, table.find(k, s)) for s in ids if s >= 0]
            assert int(srv[k]) in ids, "an environment policy served a satellite outside C(k)"
            check(k, table, cands, info["serving"], int(srv[k]))
            _, _, _, _, info = env.step(ids.index(int(srv[k])))
            decisions += 1
    return decisions


def _nearest(t, cands):
    return min(cands, key=lambda c: (t.range_km[c[1]], c[0]))[0]


def _max_remaining(t, cands):
    return min(cands, key=lambda c: (-t.end[c[1]], -t.el_deg[c[1]], c[0]))[0]


RULES = {
    "distance": lambda k, t, c, prev: _nearest(t, c),
    "max-elevation": lambda k, t, c, prev: min(c, key=lambda x: (-t.el_deg[x[1]], x[0]))[0],
    "sticky-nearest": lambda k, t, c, prev: prev if prev in [s for s, _ in c] else _nearest(t, c),
    "mrt": lambda k, t, c, prev: prev if t.find(k, prev) >= 0 and prev >= 0 else _max_remaining(t, c),
    "mrt-every-step": lambda k, t, c, prev: _max_remaining(t, c),
}


@pytest.mark.parametrize("method", sorted(RULES))
def test_baseline_rule_at_every_decision(smoke, tables, runs, method):
    rule = RULES[method]

    def check(k, t, cands, prev, chosen):
        assert chosen == rule(k, t, cands, prev), (method, k)

    assert _replay(smoke, tables, runs[method][0].decisions.srv, check) > 1000


def test_score_greedy_is_the_per_step_argmax(smoke, tables, runs):
    def check(k, t, cands, prev, chosen):
        best = max(t.reward[p] for _, p in cands)
        assert t.reward[t.find(k, chosen)] == best

    _replay(smoke, tables, runs["score-greedy"][0].decisions.srv, check)


def test_score_greedy_reaches_g_ub_when_the_prefilter_never_binds(smoke, tables, runs):
    _, metrics = runs["score-greedy"]
    loose = [i for i, t in enumerate(tables) if t.counts.max() <= smoke.n_candidates]
    assert 0 < len(loose) < len(tables)                  # smoke has both kinds of episodes
    for i in loose:
        g_ub = sum(tables[i].reward[tables[i].pairs(k)].max() for k in range(tables[i].L) if tables[i].counts[k])
        assert metrics[i]["reward"] == pytest.approx(g_ub, rel=1e-12)
        assert metrics[i]["eta_g"] == pytest.approx(1.0, abs=1e-12)
    assert all(m["eta_g"] <= 1.0 + 1e-12 for m in metrics)


# ----------------------------------------------------------------------------------------------- mrt (check 24)
def test_mrt_has_no_voluntary_handover(runs):
    for m in ("mrt", "sticky-nearest"):                  # the serving satellite stays a candidate while eligible
        assert all(e["handovers_voluntary"] == 0 for e in runs[m][1]), m


def test_mrt_with_enough_slots_reaches_h_min(smoke, tables):
    assert max(int(t.counts.max()) for t in tables) > 5   # the default M = 5 binds on some smoke episodes
    wide = optkit.make_instance(FAMILY, "smoke", 0, overrides={"n_candidates": 10})
    assert max(int(t.counts.max()) for t in evaluation_tables(wide)) <= 10
    _, metrics = per_episode(wide, "mrt")
    for m in metrics:
        assert m["handovers"] == m["h_min"]
        assert m["handovers_voluntary"] == 0
        assert m["eta_ho"] == 1.0 and m["eta_ld"] == pytest.approx(1.0)


def test_distance_all_equals_distance_without_binding_prefilter(smoke, tables, runs):
    d, d_all = runs["distance"][0].decisions.srv, runs["distance-all"][0].decisions.srv
    for i, t in enumerate(tables):
        if t.counts.max() <= smoke.n_candidates:
            assert np.array_equal(d[i], d_all[i])
    wide = optkit.make_instance(FAMILY, "smoke", 0, overrides={"n_candidates": 10})
    a, b = optkit.solve(wide, "distance"), optkit.solve(wide, "distance-all")
    assert all(np.array_equal(x, y) for x, y in zip(a.decisions.srv, b.decisions.srv))
    # distance-all is the argmin of the range over E(k) (lower ID on ties), step by step
    for t, srv in zip(tables, d_all):
        for k in range(t.L):
            sl = t.pairs(k)
            if t.counts[k] == 0:
                assert srv[k] == -1
            else:
                best = min(zip(t.range_km[sl], t.sat[sl]))[1]
                assert srv[k] == best


# ----------------------------------------------------------------------------------------------- random
def test_random_is_seeded(smoke, tables, runs):
    first = runs["random"][0].decisions.srv
    again = optkit.solve(smoke, "random", seed=0).decisions.srv
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    other = optkit.solve(smoke, "random", seed=1).decisions.srv
    assert any(not np.array_equal(a, b) for a, b in zip(first, other))
    # episode i draws from the stream [S, 700, i] (§6.5): replay it
    env = instance_env(smoke)
    for i, (spec, table) in enumerate(zip(evaluation_specs(smoke), tables)):
        rng = np.random.default_rng(np.random.SeedSequence([smoke.seed, 700, i]))
        _, info = env.reset(spec, table)
        while not info["terminated"]:
            _, _, _, _, info = env.step(int(rng.choice(np.flatnonzero(info["mask"]))))
        assert np.array_equal(env.srv, first[i])


def test_one_candidate_makes_every_environment_policy_identical(smoke):
    narrow = optkit.make_instance(FAMILY, "smoke", 0, overrides={"n_candidates": 1})
    srv = {m: optkit.solve(narrow, m).decisions.srv for m in ENV_POLICIES}
    ref = srv["distance"]
    for m, s in srv.items():
        assert all(np.array_equal(a, b) for a, b in zip(ref, s)), m
    metrics = optkit.evaluate(narrow, optkit.solve(narrow, "max-elevation")).details["episodes"]
    assert all(e["handovers_voluntary"] == 0 for e in metrics)


# ----------------------------------------------------------------------------------------------- offline DP (check 23)
def test_dp_lambda_zero_reaches_g_ub(tables, dp_runs):
    _, metrics = dp_runs[0.0]
    for t, m in zip(tables, metrics):
        g_ub = sum(t.reward[t.pairs(k)].max() for k in range(t.L) if t.counts[k])
        assert m["reward"] == pytest.approx(g_ub, rel=1e-12)


def test_dp_handovers_and_quality_non_increasing_in_lambda(dp_runs, runs):
    n = len(dp_runs[0.0][1])
    for i in range(n):
        hs = [dp_runs[lam][1][i]["handovers"] for lam in LAMBDAS]
        qs = [dp_runs[lam][1][i]["reward"] for lam in LAMBDAS]
        assert all(a >= b for a, b in zip(hs, hs[1:])), (i, hs)
        assert all(a >= b - 1e-9 for a, b in zip(qs, qs[1:])), (i, qs)
        assert hs[-1] == dp_runs["lex"][1][i]["h_min"]
    means = [np.mean([m["handovers"] for m in dp_runs[lam][1]]) for lam in LAMBDAS]
    assert means[0] > means[-1]                          # the sweep is not degenerate on smoke
    # the DP at λ beats every heuristic on Σq − λH, episode by episode
    for lam in (0.1, 1.0):
        for m in HEURISTICS:
            for dp, h in zip(dp_runs[lam][1], runs[m][1]):
                assert dp["reward"] - lam * dp["handovers"] >= h["reward"] - lam * h["handovers"] - 1e-9


def test_dp_solution_objective_matches_the_evaluator(dp_runs):
    for lam in LAMBDAS:
        sol, metrics = dp_runs[lam]
        if lam == "lex":
            expected = np.mean([m["reward"] for m in metrics])
        else:
            expected = np.mean([m["reward"] - lam * m["handovers"] for m in metrics])
        assert sol.objective == pytest.approx(expected, rel=1e-12)


@pytest.fixture(scope="module")
def longer():
    """smoke with longer episodes as in offline-small (600–1500 steps here), 3 of them, to keep the MILP fast."""
    return optkit.make_instance(FAMILY, "smoke", 0, overrides={"ep_len_min": 600, "ep_len_max": 1500,
                                                               "n_test_episodes": 3})


def test_minho_equals_lex_and_milp_p2h(longer):
    _, minho = per_episode(longer, "offline-minho")
    _, lex = per_episode(longer, "offline-dp", lam="lex")
    sol_milp, milp_lex = per_episode(longer, "offline-milp", lam="lex")
    assert sol_milp.status == Status.OPTIMAL
    for i, table in enumerate(evaluation_tables(longer)):
        h_min = minho[i]["handovers"]
        assert h_min == minho[i]["h_min"] == lex[i]["handovers"] == milp_lex[i]["handovers"]
        assert milp_lex[i]["reward"] == pytest.approx(lex[i]["reward"], rel=1e-6)
        out = solve_schedule_milp(table.step_ptr, table.sat, np.zeros(table.sat.size), 1.0)   # P2-H: q ≡ 0
        assert out["status"] == "optimal"
        assert out["objective"] == pytest.approx(-h_min, abs=1e-6)
        assert handover_count(out["srv"]) == h_min
    assert sum(m["handovers"] for m in minho) > 0


@pytest.mark.parametrize("lam", [0.5, 2.0])
def test_milp_matches_dp_objective(smoke, tables, lam):
    dp = optkit.solve(smoke, "offline-dp", lam=lam)
    milp = optkit.solve(smoke, "offline-milp", lam=lam)
    assert milp.status == Status.OPTIMAL
    assert milp.objective == pytest.approx(dp.objective, rel=1e-6)
    for t, a, b in zip(tables, dp.decisions.srv, milp.decisions.srv):
        qa, ha = offline.schedule_value(t.step_ptr, t.sat, t.reward, a)
        qb, hb = offline.schedule_value(t.step_ptr, t.sat, t.reward, b)
        assert qb - lam * hb == pytest.approx(qa - lam * ha, rel=1e-6, abs=1e-9)


def test_bad_lambda_is_an_input_error(smoke):
    for bad in (-1.0, "many", float("nan")):
        with pytest.raises(InputError):
            optkit.solve(smoke, "offline-dp", lam=bad)


# ----------------------------------------------------------------------------------------------- learners
@pytest.fixture(scope="module")
def own_cache():
    """A checkpoint cache outside pytest's basetemp: concurrent pytest sessions of the same user prune old basetemp
    folders, which would turn the cache-hit test below into a spurious miss."""
    import os
    import shutil
    import tempfile

    path = tempfile.mkdtemp(prefix="optkit-leo-methods-")
    previous = os.environ.get("OPTKIT_CACHE")
    os.environ["OPTKIT_CACHE"] = path
    yield path
    if previous is None:
        os.environ.pop("OPTKIT_CACHE", None)
    else:
        os.environ["OPTKIT_CACHE"] = previous
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def learned(smoke, own_cache):
    """The learners on the smoke budget (run seed 0) and random, by mean handovers."""
    out = {}
    for m in ("dqn", "qlearning"):
        sol = optkit.solve(smoke, m, budget="smoke")
        out[m] = (sol, optkit.evaluate(smoke, sol))
    sol = optkit.solve(smoke, "random")
    out["random"] = (sol, optkit.evaluate(smoke, sol))
    return out


def test_learners_hand_over_less_than_random(learned):
    h_random = learned["random"][1].metrics["handovers"]
    for m in ("dqn", "qlearning"):
        sol, e = learned[m]
        assert e.feasible
        assert sol.info["episodes"] == 20 and sol.info["cache_hit"] is False
        assert e.metrics["handovers"] < h_random, (m, e.metrics["handovers"], h_random)
        assert e.metrics["link_duration"] > learned["random"][1].metrics["link_duration"]


def test_second_solve_is_a_cache_hit_with_identical_decisions(smoke, learned, own_cache):
    for m in ("dqn", "qlearning"):
        again = optkit.solve(smoke, m, budget="smoke")
        assert again.info["cache_hit"] is True
        first = learned[m][0]
        assert first.info["checkpoint"] == again.info["checkpoint"]
        assert all(np.array_equal(a, b) for a, b in zip(first.decisions.srv, again.decisions.srv))


def test_ablation_has_15_dimensional_observations(smoke, own_cache):
    from optkit.formulations.leo_handover.generator import fit_training_scaler
    from optkit.learners import checkpoint as ckpt
    from optkit.learners import harness
    from optkit.learners.leo_handover import common

    for method, dropped in (("dqn-no-range", "range"), ("dqn-no-elev", "elevation"), ("dqn", None)):
        config = harness.learner_config("leo-handover", method, "check", smoke.seed, {})
        params = common.learner_params(smoke.params(), config["drop_feature"])
        env = HandoverEnv([smoke.orbits()], params, instance_scaler(smoke))
        assert env.obs_dim == (15 if dropped else 20), method
        if dropped:
            assert dropped not in params["state_features"] and len(params["state_features"]) == 3
    sol = optkit.solve(smoke, "dqn-no-range", budget="check")
    _, meta = ckpt.load_checkpoint(sol.info["checkpoint"])
    assert int(meta["obs_dim"]) == 15
    assert fit_training_scaler(smoke.params(), smoke.seed) == pytest.approx((smoke.d_min_km, smoke.d_max_km))


def test_mask_at_test(smoke, own_cache):
    from optkit.learners.leo_handover import common, dqn

    masked = optkit.solve(smoke, "dqn", budget="check", mask_at_test="range")
    assert masked.info["mask_at_test"] == "range"
    assert optkit.evaluate(smoke, masked).feasible
    with pytest.raises(InputError):
        optkit.solve(smoke, "dqn", budget="check", mask_at_test="bogus")
    with pytest.raises(InputError):                      # the ablated model does not take the option at all
        optkit.solve(smoke, "dqn-no-range", budget="check", mask_at_test="range")
    for feature in ("range", "elevation"):               # nor, through the shared path, any feature of it
        with pytest.raises(InputError):
            common.solve_with(dqn, "dqn-no-range", smoke, 0, "check", None, {}, feature)


def test_learner_refuses_an_instance_made_with_overrides(own_cache):
    inst = optkit.make_instance(FAMILY, "smoke", 0, overrides={"n_candidates": 4})
    with pytest.raises(InputError):
        optkit.solve(inst, "qlearning", budget="check")


# ----------------------------------------------------------------------------------------------- contracts
def test_check_family():
    passed = check_family(FAMILY)
    assert "every preset generates" in passed and "deterministic generator, exact JSON round trip" in passed


METHOD_IDS = sorted(m.id for m in registry.methods(FAMILY))


@pytest.mark.parametrize("method", METHOD_IDS)
def test_check_method(method, own_cache):
    passed = check_method(FAMILY, method)
    assert passed[-1] == "honest status" and passed == [name for name, _ in METHOD_CHECKS]


def test_every_method_is_covered():
    ids = {m.id for m in registry.methods(FAMILY)}
    learners = {"sarsa", "qlearning", "dqn", "dqn-listing-a", "dqn-no-dirdiff", "dqn-no-elev", "dqn-no-range",
                "dqn-no-azimuth"}
    assert ids == set(HEURISTICS) | {"offline-minho", "offline-dp", "offline-milp"} | learners


# ----------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("field, value", [
    ("alt_min_km", 100.0),
    ("terminal_lat_deg", math.nan),
    ("n_candidates", 0),
    ("footprint_metric", "bogus"),
    ("ep_len_max", 20000),
    ("slot_order", "random"),
    ("state_features", ["dirdiff", "speed"]),
    ("reward_weights", [0.3, 0.3, 0.4]),
    ("horizon_s", 14400.5),
    ("pad_features", [1.0, 1.0, 0.0, 2.0]),
    ("handover_penalty", -1.0),
    ("n_candidates", 301),
])
def test_bad_overrides_are_validation_errors(field, value):
    with pytest.raises(ValidationError) as err:
        optkit.make_instance(FAMILY, "smoke", 0, overrides={field: value})
    assert err.value.field == field
    assert field in str(err.value)
    assert isinstance(err.value, InputError)


def test_unknown_override_is_an_input_error():
    with pytest.raises(InputError, match="n_candidate"):
        optkit.make_instance(FAMILY, "smoke", 0, overrides={"n_candidate": 10})


def test_each_learner_configuration_is_its_toml_table_and_nothing_else():
    """Every leo learner's configuration dataclass takes each key of its resolved _learners.toml table (no default
    in code) and refuses a key that is not one of its settings."""
    import dataclasses

    from optkit.learners import harness
    from optkit.learners.leo_handover import common

    learners = [spec for spec in registry.methods("leo-handover") if spec.kind == "learner"]
    assert len(learners) == 8
    for spec in learners:
        values = harness.learner_config("leo-handover", spec.id, "quick", 0, {})
        learner = common.learner_module(values)
        cfg = learner.config(values)
        assert all(f.default is dataclasses.MISSING for f in dataclasses.fields(cfg)), spec.id
        assert dataclasses.asdict(cfg) == {k: v for k, v in values.items() if k != "base_seed"}, spec.id
        with pytest.raises(InputError, match="not a setting"):
            learner.config({**values, "stay_margin": 0.5})
        missing = dict(values)
        missing.pop("gamma")
        with pytest.raises(InputError, match="'gamma' is not set"):
            learner.config(missing)
    with pytest.raises(InputError, match="train-every: method .sarsa. does not take"):     # a DQN-only option
        optkit.solve(optkit.make_instance("leo-handover", "smoke", 0), "sarsa", budget="check", train_every=2)


def test_handover_penalty_reaches_the_replay_untruncated(smoke):                       # D44 with the reward clip
    """With c_HO = 8 the stored reward of a handover step is r − 8 (r in [0, 1] there), not the paper's clip −1: the
    clip bound widens by c_HO, so c_HO = 2, 4, 8 train different learners."""
    from optkit.formulations.leo_handover.env import training_env
    from optkit.formulations.leo_handover.generator import training_specs
    from optkit.learners import dqn as dqn_core
    from optkit.learners import harness
    from optkit.learners.leo_handover import common, dqn

    cfg = dqn.config(harness.learner_config("leo-handover", "dqn", "check", 0, {}))
    assert cfg.reward_clip == 1.0
    params = common.learner_params(dict(smoke.params(), serving_flag=True, handover_penalty=8.0))
    env = training_env(params, smoke.seed)
    learner = dqn_core.DQNLearner(env.obs_dim, env.M, dqn.core_config(cfg, 4, handover_penalty=8.0), 0)
    assert learner.config.reward_clip == 9.0
    dqn_core.run_dqn_episode(env, training_specs(params, smoke.seed, 0, 1)[0], learner, 0, 100)   # ε = 1: random
    stored = learner.memory.data["reward"][: learner.memory.size]
    handover_steps = stored < -1.0
    assert handover_steps.sum() > 10                                  # a random policy hands over often
    assert np.all((stored[handover_steps] >= -8.0) & (stored[handover_steps] <= -7.0))
    assert np.all(np.abs(stored[~handover_steps]) <= 1.0)            # the paper's reward, within its clip


def test_a_checkpoint_whose_configuration_this_version_refuses_is_named(smoke, own_cache, tmp_path):
    """A model given by --checkpoint whose stored configuration lacks a key the configuration dataclass needs
    (written by another version) is refused with one line naming the checkpoint, not the TOML file."""
    import json
    import shutil

    from optkit.learners import checkpoint as ckpt

    solved = optkit.solve(smoke, "qlearning", budget="check")
    weights, meta_path = ckpt.checkpoint_files(solved.info["checkpoint"])
    stale = tmp_path / "stale.pt"
    shutil.copy(weights, stale)
    meta = json.loads(meta_path.read_text())
    del meta["config"]["episodes"]
    (tmp_path / "stale.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match=r"^--checkpoint: the model's stored configuration does not fit .*'episodes'"):
        optkit.solve(smoke, "qlearning", checkpoint=str(stale))
    assert optkit.solve(smoke, "qlearning", checkpoint=str(weights)).decisions.srv[0].size > 0
