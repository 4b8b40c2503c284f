"""Fixtures of the ntn-relay tests: instances of the presets (seed 0), built once per module."""
from __future__ import annotations

import pytest

import optkit


def make(preset: str = "smoke", seed: int = 0, point: str | None = None, **overrides):
    return optkit.make_instance("ntn-relay", preset, seed, point=point, overrides=overrides or None)


@pytest.fixture(scope="module")
def smoke():
    return make("smoke")


@pytest.fixture(scope="module")
def default():
    return make("paper-default")
