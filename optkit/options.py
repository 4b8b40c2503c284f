"""Declared method options: name, type, default, allowed range or choices and a one-line help.

A method declares its options with its registration (`MethodSpec.options`); `bind` checks given values against
them for the Python API, the benchmark runner and the CLI alike, so a bad value is one clear input error before
any work starts. The declared default restates the entry function's keyword default (the contract suite checks
that the two agree); `bind` returns only the options that were given, so the function's default applies otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from optkit.budgets import BUDGETS
from optkit.errors import InputError

STAGES = ("solve", "train", "both")
_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


@dataclass(frozen=True)
class Option:
    """One keyword option of a method.

    type: "int", "float", "str", "bool", "float|str" (a number, or one of `choices`) or "any" (Python API only,
    e.g. a text stream; not checked). choices: the allowed texts of a "str" or "float|str" option.
    low/high: inclusive bounds of a number; low_open excludes `low` itself (e.g. a positive time limit).
    nullable: None is a valid value (it then means the default behaviour named in `help`).
    stage: "solve" (an option of solving), "train" (of `optkit train` only) or "both".
    """

    name: str
    type: str
    default: object
    help: str
    choices: tuple = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    nullable: bool = False
    stage: str = "solve"

    def __post_init__(self):
        if self.type not in (*_TYPES, "float|str", "any"):
            raise ValueError(f"option '{self.name}': unknown type '{self.type}'")
        if self.stage not in STAGES:
            raise ValueError(f"option '{self.name}': stage must be one of {STAGES}")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def rule(self) -> str:
        """The accepted values in words, e.g. 'an integer >= 1' or 'one of lex, or a number >= 0'."""
        if self.type == "any":
            return "any value"
        if self.type == "bool":
            text = "true or false"
        elif self.type == "str":
            text = f"one of {', '.join(map(str, self.choices))}" if self.choices else "a text"
        else:
            kind = "an integer" if self.type == "int" else "a number"
            bounds = []
            if self.low is not None:
                bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
            if self.high is not None:
                bounds.append(f"<= {self.high:g}")
            text = f"{kind} {' and '.join(bounds)}".strip()
            if self.type == "float|str":
                text = f"{text} or one of {', '.join(map(str, self.choices))}"
        return f"{text} (or null)" if self.nullable else text

    def check(self, value):
        """The value as the method receives it (an int given for a float becomes a float); InputError otherwise."""
        if value is None and self.nullable or self.type == "any":
            return value
        fail = InputError(f"{self.name}: must be {self.rule()}, got {value!r}")
        if self.type == "bool":
            if not isinstance(value, bool):
                raise fail
            return value
        if isinstance(value, str) and self.type in ("str", "float|str"):
            if self.choices and value not in self.choices:
                raise fail
            return value
        if self.type == "str" or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise fail
        if self.type == "int":
            if not isinstance(value, int):
                raise fail
        elif not math.isfinite(value):
            raise fail
        if self.low is not None and (value < self.low or self.low_open and value == self.low):
            raise fail
        if self.high is not None and value > self.high:
            raise fail
        return value if self.type == "int" else float(value)


def bind(method_id: str, declared, given: dict, *, stage: str = "solve") -> dict:
    """Check `given` (option -> value; None values are left out) against the declared options of a method at a
    stage ("solve" or "train"); return the checked values. An undeclared option is an input error."""
    options = {o.name: o for o in declared if o.stage in (stage, "both")}
    bound = {}
    for key, value in given.items():
        if value is None:
            continue
        if key not in options:
            flag = "--" + key.replace("_", "-")
            where = " when training" if stage == "train" else ""
            raise InputError(f"{flag}: method '{method_id}' does not take this option{where}")
        bound[key] = options[key].check(value)
    return bound


# ---------------------------------------------------------------------------------- options many methods share

def time_limit(default: float | None = None) -> Option:
    return Option("time_limit", "float", default, "stop after this many seconds (wall clock)", low=0.0,
                  low_open=True, nullable=True)


def mip_options(*, gap: float | None = None, threads: bool = True, log: bool = True,
                export_model: bool = True) -> tuple[Option, ...]:
    """Options of a method that solves a MILP through optkit.solver (HiGHS by default)."""
    out = [Option("solver", "str", "highs", "Pyomo solver name (e.g. highs, cbc, gurobi)")]
    if gap is not None:
        out.append(Option("gap", "float", gap, "relative MIP gap at which the solver stops", low=0.0, high=1.0))
    if threads:
        out.append(Option("threads", "int", None, "solver threads (default: the solver's)", low=1, nullable=True))
    if log:
        out.append(Option("log", "any", False, "stream the solver log: True (to stderr) or a text stream"))
    if export_model:
        out.append(Option("export_model", "str", None, "write the model to this .mps or .lp file", nullable=True))
    return tuple(out)


def learner_options() -> tuple[Option, ...]:
    """Options of every learner: the training budget and an explicit checkpoint."""
    return (Option("budget", "str", "quick", "training budget (the family's _learners.toml lists its own)",
                   choices=BUDGETS),
            Option("checkpoint", "str", None, "a checkpoint written by `optkit train -o` (skips training)",
                   nullable=True))
