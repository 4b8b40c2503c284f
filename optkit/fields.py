"""Declared instance fields: one `Field` per instance field (type, shape, plausible range, unit) and one function,
`validate_fields`, that enforces a family's declaration with one line naming the field, the value and the rule.

A family lists its fields once (``formulations/<family>/schema.py``) and calls ``validate_fields(instance, FIELDS,
sizes)`` first in its ``validate()``; relations between fields (ordering, ids in range of a count, geometry) stay in
the family's own checks after it. Kinds:

=========  ==========================================================================================
kind       value
=========  ==========================================================================================
int        a Python/numpy integer (not a bool), within [low, high]
float      a finite real number (an integer is accepted), within the range
bool       true or false
str        a string; `choices` lists the allowed values when given
list       a sequence of numbers (`element` "int" or "float"), length `shape[0]` when given
nested     a sequence of sequences of numbers (ragged), `element` as for list
array      a numpy array whose dtype is exactly `dtype` (so a serialized array's "dtype" tag is checked), shape
           `shape`
=========  ==========================================================================================

Shapes are tuples of ints, names (resolved in `sizes`, then among the instance's int fields) or None (any length).
Ranges are physical plausibility bounds, not model limits: a value outside them is a typo or a unit error (1e30 GHz).
`estimate_check` refuses work whose memory or time estimate exceeds a limit, with the estimate in the message.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from optkit.errors import ValidationError

KINDS = ("int", "float", "bool", "str", "list", "nested", "array")

#: Largest memory estimate (bytes) an instance may imply before it is refused (8 GiB).
MEMORY_LIMIT_BYTES = 8 * 2**30


@dataclass(frozen=True)
class Field:
    """One instance field. low/high: inclusive plausibility bounds of every entry (None: unbounded);
    low_open: the low bound is exclusive (a positive quantity). unit: SI unit or "1" (shown in messages)."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    unit: str = ""
    shape: tuple = ()
    dtype: str | None = None            # array: numpy dtype name ("float64", "int64", "bool", "uint8")
    element: str = "float"              # list / nested: "int" or "float"
    choices: tuple = ()                 # str: allowed values ("" allowed only when listed)
    help: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Field {self.name}: kind must be one of {KINDS}")
        if self.kind == "array" and self.dtype is None:
            raise ValueError(f"Field {self.name}: an array field needs its dtype")

    def rule(self) -> str:
        """The range rule in words, e.g. "in (0, 100] GHz"."""
        unit = f" {self.unit}" if self.unit and self.unit != "1" else ""
        if self.low is None and self.high is None:
            return "finite"
        if self.high is None:
            return f"{'>' if self.low_open else '>='} {self.low:g}{unit}"
        if self.low is None:
            return f"<= {self.high:g}{unit}"
        return f"in {'(' if self.low_open else '['}{self.low:g}, {self.high:g}]{unit}"


def _shown(value: Any) -> str:
    text = repr(value.item() if isinstance(value, np.generic) else value)
    return text if len(text) <= 40 else text[:37] + "..."


def _fail(field: Field, value: Any, rule: str) -> None:
    raise ValidationError(field.name, f"{_shown(value)} breaks the rule: {rule}")


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def _check_range(field: Field, values: np.ndarray) -> None:
    """Every entry finite and inside the declared range (first offender named)."""
    if values.size == 0:
        return
    bad = ~np.isfinite(values)
    if field.low is not None:
        bad |= (values <= field.low) if field.low_open else (values < field.low)
    if field.high is not None:
        bad |= values > field.high
    if bad.any():
        index = np.unravel_index(int(np.argmax(bad)), values.shape) if values.ndim else ()
        where = f"entry [{', '.join(map(str, index))}] = " if index else ""
        shown = values[index] if index else values.reshape(-1)[0]
        raise ValidationError(field.name, f"{where}{_shown(shown)} breaks the "
                                          f"rule: must be finite and {field.rule()}")


def _resolve(dim, sizes: Mapping[str, int], name: str) -> int | None:
    if dim is None or isinstance(dim, int):
        return dim
    if dim not in sizes:
        raise ValueError(f"Field {name}: shape names '{dim}', which is neither a size nor an int field")
    return int(sizes[dim])


def _check_one(field: Field, value: Any, sizes: Mapping[str, int]) -> None:
    kind = field.kind
    if kind == "int":
        if not _is_int(value):
            _fail(field, value, "must be an integer")
        low_ok = field.low is None or (value > field.low if field.low_open else value >= field.low)
        if not (low_ok and (field.high is None or value <= field.high)):
            _fail(field, value, f"must be {field.rule()}")
    elif kind == "float":
        if not _is_number(value):
            _fail(field, value, "must be a number")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        _check_range(field, np.asarray(number))
    elif kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            _fail(field, value, "must be true or false")
    elif kind == "str":
        if not isinstance(value, str):
            _fail(field, value, "must be a string")
        if field.choices and value not in field.choices:
            _fail(field, value, f"must be one of {', '.join(repr(c) for c in field.choices)}")
    elif kind in ("list", "nested"):
        if not isinstance(value, (tuple, list)):
            _fail(field, value, f"must be a list of {'lists of ' if kind == 'nested' else ''}{field.element}s")
        rows = value if kind == "nested" else (value,)
        test = _is_int if field.element == "int" else _is_number
        for row in rows:
            if not isinstance(row, (tuple, list)) or not all(test(x) for x in row):
                _fail(field, value, f"must be a list of {'lists of ' if kind == 'nested' else ''}{field.element}s")
            _check_range(field, _as_float(row))
        if field.shape and kind == "list":
            want = _resolve(field.shape[0], sizes, field.name)
            if want is not None and len(value) != want:
                _fail(field, value, f"must hold {want} entries, got {len(value)}")
    else:  # array
        if not isinstance(value, np.ndarray):
            _fail(field, value, f"must be an array of dtype {field.dtype}")
        if value.dtype != np.dtype(field.dtype):
            raise ValidationError(field.name, f"dtype tag '{value.dtype.str}' breaks the rule: the field is "
                                              f"{field.dtype} ('{np.dtype(field.dtype).str}')")
        if field.shape:
            want = tuple(_resolve(d, sizes, field.name) for d in field.shape)
            got = value.shape
            if len(got) != len(want) or any(w is not None and w != g for w, g in zip(want, got)):
                shown = tuple("any" if w is None else w for w in want)
                raise ValidationError(field.name, f"shape {got} breaks the rule: must have shape {shown}")
        if value.dtype.kind in "iuf":
            _check_range(field, value.astype(float))
        elif value.dtype.kind == "b" and (field.low is not None or field.high is not None):
            raise ValueError(f"Field {field.name}: a bool array takes no range")


def _as_float(row) -> np.ndarray:
    out = np.empty(len(row))
    for i, x in enumerate(row):
        try:
            out[i] = float(x)
        except OverflowError:
            out[i] = math.inf
    return out


def validate_fields(instance: Any, fields: Sequence[Field], sizes=None) -> None:
    """Check every declared field of `instance` (an object with the fields as attributes, or a mapping) against its
    declaration; raise ValidationError naming the first offending field, its value and the rule.

    Scalar fields (int, float, bool, str) are checked first, in declaration order; then `sizes` (a mapping, or a
    callable taking the instance and returning one) gives the dimension names used in shapes (e.g. {"N": 5}), and
    the list, nested and array fields are checked. Int fields are dimension names too, under their own names."""
    get = instance.__getitem__ if isinstance(instance, Mapping) else (lambda n: getattr(instance, n))
    scalars = [f for f in fields if f.kind in ("int", "float", "bool", "str")]
    known: dict = {}
    for field in scalars:
        value = get(field.name)
        _check_one(field, value, known)
        if field.kind == "int":
            known[field.name] = int(value)
    if callable(sizes):
        sizes = sizes(instance)
    known.update(sizes or {})
    for field in fields:
        if field.kind not in ("int", "float", "bool", "str"):
            _check_one(field, get(field.name), known)


def length(value) -> int:
    """len(value) of a sequence or array, 0 for anything else (sizes are computed before arrays are checked)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        return 0
    try:
        return len(value)
    except TypeError:          # a 0-d array
        return 0


def estimate_check(name: str, what: str, estimate_bytes: float, limit: float = MEMORY_LIMIT_BYTES) -> None:
    """Refuse an instance whose `what` would need more than `limit` bytes: ValidationError on `name` with the
    estimate, e.g. "ref_kappa0: the lattice DP labels would need about 398 TiB (limit 8 GiB)"."""
    if not estimate_bytes <= limit:          # NaN and inf refused too
        raise ValidationError(name, f"{what} would need about {human_bytes(estimate_bytes)} "
                                    f"(limit {human_bytes(limit)}); choose smaller sizes")


def human_bytes(n: float) -> str:
    if not math.isfinite(n):
        return "an unbounded amount of memory"
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"
