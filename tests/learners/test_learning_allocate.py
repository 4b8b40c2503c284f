"""Learning tier of the allocate learners (ARCHITECTURE.md "Learners must demonstrably learn"; allocate §10,
D29, D31, D34, D36): fixed seeds, smallest presets. The slow checks (20 seeds of `online`, rule-in-the-loop parity)
are benchmarks/learning_checks.py --family allocate.

Each test fails for one of the measured failure modes: ε at its floor for the last half of training; a greedy
policy that loses to its own untrained network or to `random`; STOP in every frame; no fit even on one instance.
"""
from __future__ import annotations

import numpy as np
import pytest

import optkit
from optkit.heuristics.allocate import random_baseline
from optkit.learners import harness
from optkit.learners.allocate import haddqn, perfect, runner
from optkit.learners.monitors import stop_only
from optkit.learners.schedules import EpisodeEpsilon, LinearEpsilon, floor_fraction
from optkit.learners.training import deterministic

pytestmark = pytest.mark.learning

FAMILY = "allocate"
LEARNERS = {"perfect": perfect.Perfect, "perfect-literal-mac": perfect.Perfect, "perfect-nopred": perfect.Perfect,
            "perfect-literal-hl": perfect.Perfect, "perfect-shaped": perfect.Perfect, "haddqn": haddqn.HaDDQN,
            "haddqn-literal": haddqn.HaDDQN}
FAITHFUL = {"haddqn-literal"}      # the paper's per-decision schedule, reported beside `haddqn` (§10, D29)


def test_every_registered_allocate_learner_has_a_tested_configuration():
    from optkit import registry

    ids = {m.id for m in registry.methods(FAMILY) if m.kind == "learner"}
    assert ids == set(LEARNERS)


@pytest.mark.parametrize("method", sorted(LEARNERS))
@pytest.mark.parametrize("budget", ["check", "smoke", "quick", "paper"])
def test_epsilon_floor_no_earlier_than_75_percent_of_every_budget(method, budget):
    cfg = harness.config_from(LEARNERS[method].Config, harness.load_config(FAMILY, method, budget))
    d = {"grid": [3, 3], "n_uav": 2, "N": 5, "F": 6, "C": 2, "H": 4, "n_ues": 10}
    model = LEARNERS[method](d, cfg, np.random.default_rng(0))
    schedules = list(model.eps.values()) if isinstance(model.eps, dict) else [model.eps]
    for schedule in schedules:
        if method in FAITHFUL:
            assert isinstance(schedule, LinearEpsilon) and schedule.floor == 0.0001
            continue
        assert isinstance(schedule, EpisodeEpsilon) and 0.01 <= schedule.floor <= 0.05
        assert floor_fraction(schedule, cfg.episodes) >= 0.75
        model.set_episode(0, cfg.episodes)
        assert schedule.value == pytest.approx(1.0)


def _random_total(seeds) -> tuple[float, float]:
    acc, obj = 0.0, 0.0
    for s in seeds:
        inst = optkit.make_instance(FAMILY, "tiny", s)
        m = optkit.evaluate(inst, random_baseline.solve(inst)).metrics
        acc, obj = acc + m["accepted"], obj + m["objective"]
    return acc, obj


def _greedy_total(model_cls, method, states, config, seeds) -> tuple[float, float]:
    acc, obj = 0.0, 0.0
    for s in seeds:
        inst = optkit.make_instance(FAMILY, "tiny", s)
        with deterministic(0):
            model = runner.load_model(model_cls, method, inst, config, states, 0)
            m = model.episode(inst, train=False)[0].evaluation().metrics
        acc, obj = acc + m["accepted"], obj + m["objective"]
    return acc, obj


@pytest.mark.slow
def test_perfect_after_the_smoke_budget_beats_its_untrained_network_and_random(cache_dir):
    """D36 CI smoke test: `tiny` seeds 0..19, totals over the seeds (accepted and objective)."""
    got = runner._obtain(perfect.Perfect, "perfect", perfect.SOURCES, "tiny", 0, "smoke", None, None, None, False)
    states, config = got["states"]["model"], got["meta"]["config"]
    seeds = range(20)
    trained = _greedy_total(perfect.Perfect, "perfect", states, config, seeds)
    untrained = _greedy_total(perfect.Perfect, "perfect", None, config, seeds)
    rand = _random_total(seeds)
    assert trained[0] >= rand[0] and trained[1] > rand[1], (trained, rand)
    assert trained[0] >= untrained[0] and trained[1] > untrained[1], (trained, untrained)
    curve = got["meta"]["curve"]
    assert sum("val_objective" in r for r in curve) == 20                  # D31: every E/20 episodes
    assert {"objective", "val_objective", "val_accepted"} <= set(curve[-1])   # both scores recorded
    assert got["meta"]["checkpoint_selection"]["selected_episode"] is not None


class _OneInstance:
    """A training set whose every episode is the same instance (the overfitting check)."""

    def __init__(self, inst):
        self.inst, self.preset, self.family = inst, inst.preset, FAMILY

    def instance(self, e):
        return self.inst


@pytest.mark.slow
def test_perfect_overfits_one_tiny_instance_to_the_rule_baseline():
    """D36 (2): trained on `tiny` seed 0 alone, greedy `perfect` accepts at least as many requests there as
    `rule-stay` (UAVs stay + the placement rule, in PERFECT's pipeline)."""
    inst = optkit.make_instance(FAMILY, "tiny", 0)
    config = {**harness.load_config(FAMILY, "perfect", "smoke"), "episodes": 60, "validation_points": 12}
    model, curve, selector = runner.train_model(perfect.Perfect, "perfect", _OneInstance(inst), config, 0,
                                                validation_instances=[inst])
    with deterministic(0):
        rule = runner.load_model(perfect.Perfect, "perfect", inst, config, None, 0).episode(
            inst, train=False, uav_rule="stay", pl_rule=True)[0].evaluation().metrics
        model.load_state_dict(selector.best_states)
        ours = model.validation_episode(inst)[0].evaluation().metrics
    assert rule["accepted"] >= 1
    assert ours["accepted"] >= rule["accepted"], (ours["accepted"], rule["accepted"])


def test_stop_only_monitor_trips_on_a_placement_that_always_stops_and_not_on_the_rule():
    """The STOP-only collapse measured for HaDDQN (D34): a placement agent broken to answer STOP in every frame
    gives exactly T placement steps per greedy episode and trips the monitor; the placement rule does not."""
    config = harness.load_config(FAMILY, "perfect", "check")
    curve_broken, curve_rule = [], []
    for e, seed in enumerate(range(4)):
        inst = optkit.make_instance(FAMILY, "online", seed)
        with deterministic(0):
            broken = runner.load_model(perfect.Perfect, "perfect", inst, config, None, 0)
            broken._pl_choice = lambda obs, mask, train: len(mask) - 1          # STOP is the last action
            steps = broken.validation_episode(inst)[1]["pl_steps"]
            rule = broken.validation_episode(inst, pl_rule=True)[1]["pl_steps"]
        curve_broken.append({"episode": e, "val_pl_steps": steps})
        curve_rule.append({"episode": e, "val_pl_steps": rule})
    T = inst.T
    assert not stop_only(curve_broken, "val_pl_steps", T, fraction=1.0).ok
    assert stop_only(curve_rule, "val_pl_steps", T, fraction=1.0).ok
