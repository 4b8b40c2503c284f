"""Shared fixtures: temporary fake methods registered in optkit's registry (undone after each test)."""
from __future__ import annotations

import os
import sys
import types

import pytest

FAKE_MODULE = "optkit_test_fake_methods"


def _set_cache(path):
    previous = os.environ.get("OPTKIT_CACHE")
    os.environ["OPTKIT_CACHE"] = str(path)
    return previous


def _restore_cache(previous):
    if previous is None:
        os.environ.pop("OPTKIT_CACHE", None)
    else:
        os.environ["OPTKIT_CACHE"] = previous


@pytest.fixture(autouse=True, scope="session")
def isolated_checkpoint_cache(tmp_path_factory):
    """Learner checkpoints of the test run go to a fresh folder, never to the user's cache."""
    previous = _set_cache(tmp_path_factory.mktemp("optkit-cache"))
    yield
    _restore_cache(previous)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A checkpoint cache of its own for one test module (its tests share what they train; the first training
    in the module is a cache miss)."""
    path = tmp_path_factory.mktemp("optkit-cache")
    previous = _set_cache(path)
    yield path
    _restore_cache(previous)


@pytest.fixture
def register_fake_method(monkeypatch):
    """register(func, id, kind="heuristic", knowledge="online", family="allocate", options=()) -> MethodSpec.

    The function becomes importable as "optkit_test_fake_methods:<name>" and the MethodSpec is put into
    `optkit.registry._METHODS` for this test only (monkeypatch restores both afterwards)."""
    from optkit import registry

    registry.load_plugins()
    module = types.ModuleType(FAKE_MODULE)
    monkeypatch.setitem(sys.modules, FAKE_MODULE, module)

    def register(func, id, *, kind="heuristic", knowledge="online", family="allocate", options=()):
        setattr(module, func.__name__, func)
        spec = registry.MethodSpec(family=family, id=id, kind=kind, knowledge=knowledge,
                                   entry=f"{FAKE_MODULE}:{func.__name__}", description="test fake", options=options)
        monkeypatch.setitem(registry._METHODS, (family, id), spec)
        return spec

    return register
