"""Registry of families and methods, filled by plugin discovery.

A family lives in one sub-package per layer: `optkit.formulations.<pkg>` declares `FAMILY` (a FamilyAPI) and may
declare `METHODS` (its exact references); `optkit.heuristics.<pkg>` and `optkit.learners.<pkg>` declare `METHODS`
(tuples of MethodSpec). Discovery imports every sub-package of those three layers, then every module named by an
entry point of the group `optkit.plugins` (how a separately installed package adds families and methods), and
registers what they declare: families first, then methods. Declarations are light (no pyomo/torch/cvxpy imports):
a method names its entry point as "module:function", imported only when it runs.
"""
from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass, field
from importlib import metadata
from types import MappingProxyType
from typing import Callable

from optkit.errors import InputError, UnknownNameError
from optkit.family import FamilyAPI, load_object
from optkit.options import Option, bind, time_limit

KINDS = ("exact", "heuristic", "learner")
KNOWLEDGE = ("oracle", "online")
LAYERS = ("optkit.formulations", "optkit.heuristics", "optkit.learners")   # formulations first
ENTRY_POINT_GROUP = "optkit.plugins"
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class MethodSpec:
    """A method of a family: kind exact|heuristic|learner, knowledge oracle|online, entry "module:function".

    The entry is called as entry(instance, *, seed, time_limit, **options) -> Solution. options: the declared
    keyword options (optkit.options.Option); time_limit is part of every method's interface and needs declaring
    only where its default is not None. Learners also name `train` ("module:function"):
    train(family, scenario, point, *, seed, budget, out, progress, **train options) used by `optkit train`;
    their `entry` trains on a cache miss (or loads the cached checkpoint) and then decides.
    seeded: False for a deterministic method whose result does not depend on the method seed; a sweep then runs
    it once per instance (its first method seed) instead of once per method seed; seeded_options: options that,
    when a configuration sets them, make such a method depend on the method seed after all.
    expected_failures: contract checks (optkit.checks) this method is known to fail, with the reason; the contract
    suite reports them as expected failures and flags them when they start to pass.
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
    options: tuple[Option, ...] = ()
    expected_failures: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self):
        object.__setattr__(self, "options", tuple(self.options))
        object.__setattr__(self, "expected_failures", MappingProxyType(dict(self.expected_failures)))

    def load(self) -> Callable:
        """The solve entry point (imports its module)."""
        return load_object(self.entry)

    def load_train(self) -> Callable:
        """The train entry point of a learner (imports its module)."""
        if self.train is None:
            raise InputError(f"--method: '{self.id}' is not a learner (kind {self.kind}); nothing to train")
        return load_object(self.train)

    def all_options(self) -> tuple[Option, ...]:
        """The declared options, with time_limit (default None) unless declared."""
        declared = {o.name for o in self.options}
        return self.options if "time_limit" in declared else (time_limit(), *self.options)

    def option(self, name: str) -> Option | None:
        return next((o for o in self.all_options() if o.name == name), None)

    def takes(self, name: str, stage: str = "solve") -> bool:
        option = self.option(name)
        return option is not None and option.stage in (stage, "both")

    def bind(self, given: dict, stage: str = "solve") -> dict:
        """Checked keyword options for the entry (stage "solve") or the train function (stage "train")."""
        return bind(self.id, self.all_options(), given, stage=stage)


_FAMILIES: dict[str, FamilyAPI] = {}
_ALIASES: dict[str, str] = {}
_METHODS: dict[tuple[str, str], MethodSpec] = {}
_loaded = False


def _check_id(what: str, name: str) -> None:
    if not _ID.match(name):
        raise ValueError(f"{what} id '{name}' must be lowercase kebab-case")


def register_family(spec: FamilyAPI) -> FamilyAPI:
    if not isinstance(spec, FamilyAPI):
        raise TypeError(f"a family is declared as a FamilyAPI, got {type(spec).__name__}")
    _check_id("family", spec.id)
    for alias in spec.aliases:
        _check_id("alias", alias)
        owner = _ALIASES.get(alias, spec.id if alias not in _FAMILIES else alias)
        if owner != spec.id:
            raise ValueError(f"family '{spec.id}': alias '{alias}' is already taken by '{owner}'")
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
    names = [o.name for o in spec.options]
    if len(names) != len(set(names)) or {"seed"} & set(names):
        raise ValueError(f"method '{spec.id}': options must have distinct names other than 'seed'")
    _METHODS[(spec.family, spec.id)] = spec
    return spec


def plugin_modules() -> list[str]:
    """Modules that declare families and methods: every sub-package of the three layers, then the entry points
    of the group `optkit.plugins`."""
    found = []
    for layer in LAYERS:
        package = importlib.import_module(layer)
        found += [f"{layer}.{m.name}" for m in pkgutil.iter_modules(package.__path__) if m.ispkg]
    found += [ep.value for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)]
    return list(dict.fromkeys(found))


def load_plugins() -> None:
    """Import the plugin modules once and register their FAMILY first, then every METHODS entry."""
    global _loaded
    if _loaded:
        return
    modules = [importlib.import_module(name) for name in plugin_modules()]
    for module in modules:
        if getattr(module, "FAMILY", None) is not None:
            register_family(module.FAMILY)
    for module in modules:
        for spec in getattr(module, "METHODS", ()):
            if spec.family not in _FAMILIES:
                raise ValueError(f"{module.__name__}: method '{spec.id}' names the unknown family '{spec.family}'")
            register_method(spec)
    _loaded = True


def families() -> list[FamilyAPI]:
    load_plugins()
    return [_FAMILIES[k] for k in sorted(_FAMILIES)]


def get_family(name: str) -> FamilyAPI:
    """Family by id or by one of its formulation aliases (FamilyAPI.aliases)."""
    load_plugins()
    family_id = _ALIASES.get(name, name)
    if family_id not in _FAMILIES:
        raise UnknownNameError("formulation", name, list(_FAMILIES) + list(_ALIASES))
    return _FAMILIES[family_id]


def family_api(name: str):
    """The family's hooks imported (generate, evaluate, metrics, ...: the namespace FamilyAPI.hooks)."""
    return get_family(name).hooks


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
