"""Online methods see only what has been revealed (docs/families/allocate.md §6.2, §7.6): changing the future
(slot qualities of later frames, later UE areas, the hidden θ/σ and weather) must not change any decision taken
before that future.

The UAV areas of frame t0 are committed at the end of frame t0-1, so they belong to the past as well. Learners run
at the `check` budget: their model is trained on training instances, never on the evaluated one.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import optkit
from optkit import registry
from optkit.formulations.allocate.evaluator import split_frame

ONLINE = [m.id for m in registry.methods("allocate") if m.knowledge == "online"]
T0 = 2      # first frame whose realizations are altered


def altered_future(inst, t0: int):
    """The same instance with every realization from frame t0 on redrawn (and the hidden channel parameters)."""
    rng = np.random.default_rng(99)
    Q = np.array(inst.Q)
    Q[:, :, t0 * inst.K:] = rng.integers(0, 2, size=Q[:, :, t0 * inst.K:].shape, dtype=Q.dtype)
    ue_area = np.array(inst.ue_area)
    cols = ue_area[:, inst.H + t0:]
    ue_area[:, inst.H + t0:] = cols[rng.permutation(len(cols))]
    weather = np.array(inst.weather)
    weather[t0:] = (weather[t0:] + 1) % 3
    return dataclasses.replace(inst, Q=Q, ue_area=ue_area, weather=weather,
                               theta_los=rng.uniform(0.2, 0.8, size=np.shape(inst.theta_los)),
                               sigma_ray=rng.uniform(0.2, 0.8, size=np.shape(inst.sigma_ray)))


def decisions_before(decisions, inst, t0: int):
    frames = [split_frame(decisions, inst, t) for t in range(t0)]
    services = [{r: (e.route, sorted(e.hosts.items())) for r, e in service.items()} for *_, service in frames]
    return (np.asarray(decisions.uav_area)[: t0 + 1].tolist(), [f[:3] for f in frames], services)


@pytest.mark.parametrize("method", ONLINE)
def test_decisions_before_t0_ignore_the_future(method):
    inst = optkit.make_instance("allocate", "small", 1)
    future = altered_future(inst, T0)
    assert not np.array_equal(future.Q, inst.Q)
    options = {"budget": "check"} if registry.get_method("allocate", method).kind == "learner" else {}
    before = optkit.solve(inst, method, seed=0, **options)
    after = optkit.solve(future, method, seed=0, **options)
    assert decisions_before(before.decisions, inst, T0) == decisions_before(after.decisions, future, T0)
