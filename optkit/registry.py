"""Registry of families, methods and scenario presets.

Declarations are light (no pyomo/torch/cvxpy imports): a method names its entry point as
"module:function" and is imported only when it runs, so `optkit list` and `optkit --help` stay fast.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import Callable

from optkit.errors import InputError, UnknownNameError

KINDS = ("exact", "heuristic", "learner")
KNOWLEDGE = ("oracle", "online")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

# Modules whose import registers families and methods (formulations first: methods need their family).
PLUGINS = (
    "optkit.formulations.allocate",
    "optkit.heuristics.allocate",
    "optkit.learners.allocate",
    "optkit.formulations.leo_handover",
    "optkit.heuristics.leo_handover",
    "optkit.learners.leo_handover",
    "optkit.formulations.sagin",
    "optkit.heuristics.sagin",
    "optkit.learners.sagin",
)


@dataclass(frozen=True)
class FamilySpec:
    """A problem family. `api` is the module with INSTANCE_CLASS, generate, evaluate, METRICS, decision codecs."""

    id: str
    title: str
    api: str
    default_scenario: str
    reference_method: str
    test_scenario: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class MethodSpec:
    """A method of a family: kind exact|heuristic|learner, knowledge oracle|online, entry "module:function".

    Learners also name `train` ("module:function"): train(family, scenario, point, *, seed, budget, ...) used by
    `optkit train`; their `entry` trains on a cache miss (or loads the cached checkpoint) and then decides.
    seeded: False for a deterministic method whose result does not depend on the method seed; a sweep then runs
    it once per instance (its first method seed) instead of once per method seed; seeded_options: options that,
    when a configuration sets them, make such a method depend on the method seed after all.
    """

    family: str
    id: str
    kind: str
    knowledge: str
    entry: str
    description: str
    train: str | None = None
    seeded: bool = True
    seeded_options: tuple[str, ...] = ()


    def load(self) -> Callable:
        module_name, _, attr = self.entry.partition(":")
        return getattr(importlib.import_module(module_name), attr)


_FAMILIES: dict[str, FamilySpec] = {}
_ALIASES: dict[str, str] = {}
_METHODS: dict[tuple[str, str], MethodSpec] = {}
_loaded = False


def _check_id(what: str, name: str) -> None:
    if not _ID.match(name):
        raise ValueError(f"{what} id '{name}' must be lowercase kebab-case")


def register_family(spec: FamilySpec) -> FamilySpec:
    _check_id("family", spec.id)
    _FAMILIES[spec.id] = spec
    for alias in spec.aliases:
        _ALIASES[alias] = spec.id
    return spec


def register_method(spec: MethodSpec) -> MethodSpec:
    _check_id("method", spec.id)
    if spec.kind not in KINDS:
        raise ValueError(f"method '{spec.id}': kind must be one of {KINDS}")
    if spec.knowledge not in KNOWLEDGE:
        raise ValueError(f"method '{spec.id}': knowledge must be one of {KNOWLEDGE}")
    _METHODS[(spec.family, spec.id)] = spec
    return spec


def load_plugins() -> None:
    global _loaded
    if not _loaded:
        for module in PLUGINS:
            importlib.import_module(module)
        _loaded = True


def families() -> list[FamilySpec]:
    load_plugins()
    return [_FAMILIES[k] for k in sorted(_FAMILIES)]


def get_family(name: str) -> FamilySpec:
    """Family by id or formulation alias (e.g. `p2` -> `sagin`)."""
    load_plugins()
    family_id = _ALIASES.get(name, name)
    if family_id not in _FAMILIES:
        raise UnknownNameError("formulation", name, list(_FAMILIES) + list(_ALIASES))
    return _FAMILIES[family_id]


def family_api(name: str):
    """The family's API module (imported on first use)."""
    return importlib.import_module(get_family(name).api)


def methods(family: str | None = None) -> list[MethodSpec]:
    load_plugins()
    family_id = get_family(family).id if family else None
    return [m for k, m in sorted(_METHODS.items()) if family_id in (None, m.family)]


def get_method(family: str, name: str) -> MethodSpec:
    family_id = get_family(family).id
    key = (family_id, name)
    if key not in _METHODS:
        raise UnknownNameError(f"method of '{family_id}'", name, [m.id for m in methods(family_id)])
    return _METHODS[key]


def parse_method_list(family: str, text: str) -> list[MethodSpec]:
    """Comma-separated method ids, or `all`."""
    if text.strip() == "all":
        return methods(family)
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise InputError("--methods: give at least one method id or 'all'")
    specs = [get_method(family, n) for n in names]
    ids = [s.id for s in specs]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InputError(f"--methods: {', '.join(repeated)} listed more than once")
    return specs
