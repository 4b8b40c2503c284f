"""Fixtures shared by the leo-handover tests: the smoke instance (seed 0) and its test-episode tables."""
from __future__ import annotations

import pytest

import optkit
from optkit.formulations.leo_handover.episode import evaluation_tables


@pytest.fixture(scope="module")
def smoke():
    return optkit.make_instance("leo-handover", "smoke", 0)


@pytest.fixture(scope="module")
def smoke_tables(smoke):
    return list(evaluation_tables(smoke))
