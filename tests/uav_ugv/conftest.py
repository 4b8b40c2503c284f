"""Fixtures shared by the uav-ugv tests: instances of the small presets (seed 0), generated once per module."""
from __future__ import annotations

import pytest

import optkit


@pytest.fixture(scope="module")
def tiny():
    return optkit.make_instance("uav-ugv", "tiny-exact", 0)


@pytest.fixture(scope="module")
def quick():
    return optkit.make_instance("uav-ugv", "quick", 0)


@pytest.fixture(scope="module")
def paper():
    return optkit.make_instance("uav-ugv", "paper-default", 0)
