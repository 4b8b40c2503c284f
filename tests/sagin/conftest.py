"""Shared fixtures of the sagin tests: the `quick` and `ref-tiny` instances of seed 0 (one per test module)."""
import pytest

from optkit.formulations.sagin.generator import generate
from optkit.scenarios import load_scenario


@pytest.fixture(scope="module")
def quick():
    return generate(load_scenario("sagin", "quick").params, 0, "quick")


@pytest.fixture(scope="module")
def tiny():
    return generate(load_scenario("sagin", "ref-tiny").params, 0, "ref-tiny")
