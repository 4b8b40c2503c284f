"""The shared no-collapse monitors and checkpoint selection (learners/monitors.py, learners/harness.py) trip on
deliberately broken learners and stay quiet on a working one.

The toy task: an episode has T = 4 frames; in each frame the learner takes "deploy" actions 0..2 until it takes
STOP (action 3) or 3 deploys; deploy 1 pays +1 once per frame, the others -0.1. A tabular ε-greedy learner with the
D29 schedule learns "deploy 1, then STOP"; the broken variants are the failure modes the monitors exist for.
"""
from __future__ import annotations

import numpy as np
import pytest

from optkit.learners import harness
from optkit.learners.monitors import (failures, flat_return, monotone_multiplier, run_monitors, stop_only,
                                      validation_drop)
from optkit.learners.schedules import EpisodeEpsilon, LinearEpsilon, epsilon_greedy, floor_fraction
from optkit.learners.training import run_episodes

pytestmark = pytest.mark.learning

T, STOP, N_ACTIONS = 4, 3, 4


def play(q: np.ndarray, eps: float, rng, *, credit: bool = True, learn: float = 0.0):
    """One episode of the toy task with Q-table q (state = deploys taken in the frame, 0..2); credit=False is the
    broken learner that loses the +1 of a served frame and sees only the deploy costs. Returns
    (return, steps, actions)."""
    total, steps, actions = 0.0, 0, []
    for _ in range(T):
        paid = False
        for k in range(3):
            a = epsilon_greedy(q[k], None, eps, rng)
            actions.append(a)
            steps += 1
            if a == STOP:
                r = 0.0
            elif a == 1 and not paid:
                r, paid = 1.0, True
            else:
                r = -0.1
            if learn:
                nxt = 0.0 if a == STOP or k == 2 else q[k + 1].max()
                seen = r if credit or a == STOP else -0.1
                q[k, a] += learn * (seen + nxt - q[k, a])
            total += r
            if a == STOP:
                break
    return total, steps, actions


def train(n: int, *, credit: bool = True, eps_floor: float = 0.05, learn: float = 0.2, decay_after=None):
    """Tabular learner; validation = greedy return on the same task; decay_after: from that episode on the table
    is pushed towards STOP (a learner that unlearns)."""
    rng = np.random.default_rng(0)
    q = np.zeros((3, N_ACTIONS))
    schedule = EpisodeEpsilon(n, floor=eps_floor)
    selector = harness.CheckpointSelector()

    def episode(e):
        schedule.set_episode(e)
        unlearning = decay_after is not None and e >= decay_after
        if unlearning:                           # a corrupted update drifts the value of the good deploy down
            q[:, 1] -= 0.1
        ret, steps, actions = play(q, schedule.value, rng, credit=credit, learn=0.0 if unlearning else learn)
        record = {"return": ret, "steps": steps, "first_action": actions[0]}
        if harness.validation_due(e, n):
            val = harness.greedy_validation(lambda _: dict(zip(("return", "steps"), play(q.copy(), 0.0, rng)[:2])),
                                            [None])
            selector.offer(e, (val["val_return"],), lambda: {"q": q.copy()})
            record.update(val)
        return record

    return run_episodes(n, episode), selector


def test_working_learner_passes_every_monitor_and_selects_a_good_checkpoint():
    curve, selector = train(200)
    results = run_monitors(curve, {"stop_only": {"key": "val_steps", "min_mean": T},
                                   "flat_return": {}, "validation_drop": {"key": "val_return", "margin": 0.5}})
    assert failures(results) == []
    assert selector.best_score[0] == pytest.approx(4.0)                 # deploy 1 then STOP in all 4 frames
    assert np.argmax(selector.best_states["q"][0]) == 1


def test_stop_only_trips_on_a_learner_that_learned_to_do_nothing():
    curve, _ = train(200, credit=False)            # credit lost: every deploy looks bad, STOP is best
    m = stop_only(curve, "val_steps", min_mean=T)        # greedy validation: exactly one STOP per frame
    assert not m.ok and m.value == T
    assert stop_only(train(200)[0], "val_steps", min_mean=T).ok


def test_flat_return_trips_on_a_frozen_greedy_policy():
    curve, _ = train(200, credit=False, eps_floor=0.0)   # ε reaches 0: STOP forever, return 0
    assert not flat_return(curve, fraction=0.2).ok      # ε = 0 from 80 % on
    assert flat_return(train(200)[0]).ok


def test_validation_drop_trips_when_the_greedy_policy_unlearns_and_selection_keeps_the_best():
    curve, selector = train(200, decay_after=120)
    m = validation_drop(curve, "val_return", margin=0.5)
    assert not m.ok and m.value > 0.5
    assert selector.best_episode < 150 and selector.best_score[0] == pytest.approx(4.0)


def test_monotone_multiplier_trips_on_a_ratcheting_multiplier():
    lam, curve = 0.0, []
    for e in range(40):                          # the dual step uses |violation|: it can never decrease
        violation = np.sin(e)
        lam += 0.1 * abs(violation)
        curve.append({"episode": e, "lambda": lam})
    assert not monotone_multiplier(curve, "lambda").ok
    lam, curve = 0.0, []
    for e in range(40):                          # the projected dual step lam <- max(0, lam + step·violation)
        lam = max(0.0, lam + 0.1 * np.sin(e))
        curve.append({"episode": e, "lambda": lam})
    assert monotone_multiplier(curve, "lambda").ok


def test_epsilon_floor_of_the_episode_schedule_at_80_percent_and_the_paper_schedule_early():
    assert floor_fraction(EpisodeEpsilon(4), 4) == 1.0            # a 4-episode budget ends above the floor
    for n in (10, 100, 400, 3000):
        assert 0.75 <= floor_fraction(EpisodeEpsilon(n), n) <= 0.85
    paper = LinearEpsilon(1.0, 0.00005, 0.0001)
    assert floor_fraction(paper, 100_000, decisions_per_episode=20) < 0.02    # the source paper's schedule


def test_validation_schedule_every_twentieth_and_after_the_last():
    assert [e for e in range(45) if harness.validation_due(e, 45)] == list(range(2, 45, 3))
    assert [e for e in range(10) if harness.validation_due(e, 10)] == list(range(10))
    assert sum(harness.validation_due(e, 400) for e in range(400)) == 20
    assert harness.validation_seeds(3) == [5000, 5001, 5002]
