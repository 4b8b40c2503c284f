"""Instance base: immutable plain data (numbers, tuples, read-only numpy arrays) with an exact JSON round trip."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from optkit.errors import InputError, ValidationError

FORMAT_VERSION = 1


def _freeze(value: Any) -> Any:
    """Lists become tuples and arrays become read-only, so an instance cannot be mutated by accident."""
    if isinstance(value, np.ndarray):
        value = np.array(value, copy=True)
        value.setflags(write=False)
        return value
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return value


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _from_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        if "__ndarray__" not in value:
            raise InputError("instance JSON: only tagged arrays may be objects inside 'fields'")
        try:
            dtype = np.dtype(value["dtype"])
            if dtype.kind not in "biuf" or (dtype.kind == "f" and dtype.itemsize < 4):
                raise InputError(f"dtype tag '{value['dtype']}' breaks the rule: optkit arrays hold booleans, integers "
                                 "or floats of at least 32 bits")
            natural = np.array(value["__ndarray__"])
            array = np.array(value["__ndarray__"], dtype=dtype)
            if natural.size and (natural.dtype.kind not in "biuf" or (dtype.kind == "b") != (natural.dtype.kind == "b")):
                raise InputError(f"the values do not match the dtype tag '{value['dtype']}'")
            if natural.size and not np.array_equal(array, natural, equal_nan=natural.dtype.kind == "f"):
                raise InputError(f"dtype tag '{value['dtype']}' would change the values (e.g. round or truncate them)")
            return array.reshape(tuple(value["shape"]))
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise InputError(f"malformed array ({type(exc).__name__}: {exc})") from None
    if isinstance(value, list):
        return tuple(_from_jsonable(v) for v in value)
    return value


@dataclasses.dataclass(frozen=True)
class Instance:
    """Base of every family's instance. Subclasses are frozen dataclasses and set `family`."""

    family: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _freeze(getattr(self, f.name)))

    # --- validation ---------------------------------------------------------------------------
    def validate(self) -> "Instance":
        """Raise ValidationError naming the first field that breaks a rule; return self when valid."""
        return self

    # --- JSON round trip ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        fields = {f.name: _to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"optkit_instance": FORMAT_VERSION, "family": self.family, "fields": fields}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, separators=(",", ":"))

    def save(self, path: str | Path) -> None:
        """Write the instance JSON atomically (temporary file + rename)."""
        write_text_atomic(Path(path), self.to_json())

    @classmethod
    def from_dict(cls, data: Any) -> "Instance":
        if not isinstance(data, dict) or "fields" not in data or "family" not in data:
            raise InputError("instance JSON: expected an object with keys 'optkit_instance', 'family', 'fields'")
        if data["family"] != cls.family:
            raise InputError(f"instance JSON: family is '{data['family']}', expected '{cls.family}'")
        if data.get("optkit_instance") != FORMAT_VERSION:
            raise InputError(f"instance JSON: optkit_instance must be {FORMAT_VERSION}")
        raw = data["fields"]
        if not isinstance(raw, dict):
            raise InputError("instance JSON: 'fields' must be an object")
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in raw]
        unknown = [n for n in raw if n not in names]
        if missing:
            raise InputError(f"instance JSON: missing field '{missing[0]}'")
        if unknown:
            raise InputError(f"instance JSON: unknown field '{unknown[0]}'")
        values = {}
        for n in names:
            try:
                values[n] = _from_jsonable(raw[n])
            except InputError as exc:
                raise ValidationError(n, str(exc)) from None
        for f in dataclasses.fields(cls):
            _check_annotated_type(f.name, f.type, values[f.name])
        try:
            instance = cls(**values)
        except (TypeError, ValueError) as exc:
            raise InputError(f"instance JSON: {exc}") from None
        try:
            return instance.validate()
        except (TypeError, ValueError, OverflowError, KeyError, IndexError, ZeroDivisionError) as exc:
            # A value the declared field rules let through but a relation check cannot compare: still bad input.
            raise InputError(f"instance JSON: a field value cannot be checked ({type(exc).__name__}: {exc})") from None

    @classmethod
    def from_json(cls, text: str) -> "Instance":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"instance JSON: not valid JSON ({exc.msg} at line {exc.lineno})") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> "Instance":
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise InputError(f"--instance: cannot read '{path}' ({exc.strerror})") from None
        return cls.from_json(text)


_ANNOTATED = {"float": "a number", "int": "an integer", "bool": "true or false", "str": "a string",
              "np.ndarray": "a tagged array", "numpy.ndarray": "a tagged array", "tuple": "a list"}


def _check_annotated_type(name: str, annotation, value) -> None:
    """A file value of the kind its dataclass annotation names (float, int, bool, str, np.ndarray, tuple); other
    annotations are left to the family's validate(). Every family gets this check, declared fields or not."""
    kind = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    kind = {"ndarray": "np.ndarray"}.get(kind, kind)
    if kind not in _ANNOTATED:
        return
    ok = {"float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
          "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
          "bool": lambda v: isinstance(v, bool),
          "str": lambda v: isinstance(v, str),
          "np.ndarray": lambda v: isinstance(v, np.ndarray),
          "numpy.ndarray": lambda v: isinstance(v, np.ndarray),
          "tuple": lambda v: isinstance(v, tuple)}[kind](value)
    if not ok:
        shown = repr(value)
        raise ValidationError(name, f"{shown if len(shown) <= 40 else shown[:37] + '...'} breaks the rule: must be "
                                    f"{_ANNOTATED[kind]}")
    if isinstance(value, float) and not math.isfinite(value):     # to_json never writes NaN or infinity
        raise ValidationError(name, f"{value!r} breaks the rule: must be finite")


def read_instance_family(path: str | Path) -> str:
    """Family id stored in an instance file (to dispatch to the right class)."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise InputError(f"--instance: cannot read '{path}' ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"--instance: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or not isinstance(data.get("family"), str):
        raise InputError("--instance: the file has no 'family' key; it is not an optkit instance")
    return data["family"]


def replace_atomically(path: Path, write) -> None:
    """Call write(tmp_path) on a temporary sibling of `path`, then rename it over `path`, so a reader never sees
    half a file. OSError propagates (the temporary file is removed)."""
    import os
    import tempfile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())        # as an ordinary open() would create it, not mkstemp's 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process's file-creation mask (read by setting it and putting it back)."""
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: Path, text: str) -> None:
    """Write a text file atomically; a failure is an InputError naming the -o path."""
    try:
        replace_atomically(path, lambda tmp: tmp.write_text(text))
    except OSError as exc:
        raise InputError(f"-o: cannot write '{path}' ({exc.strerror or exc})") from None


def plain_value(value):
    """A field value as plain Python: tuples and arrays become lists, numpy scalars Python numbers (nested)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return [plain_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def json_ready(value):
    """JSON-safe copy: NaN and infinities become null, numpy scalars plain numbers, tuples lists, keys strings."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --- validation helpers shared by families -------------------------------------------------------
def check_finite(name: str, value: Any, *, min_value: float | None = None, positive: bool = False) -> None:
    """Every entry finite, and >= min_value (or > 0 when positive)."""
    if isinstance(value, (str, bytes, bool)):
        raise ValidationError(name, "must be a number")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ValidationError(name, "must be a number or an array of numbers") from None
    if array.size and not np.all(np.isfinite(array)):
        raise ValidationError(name, "must be finite (no NaN or infinity)")
    if positive and array.size and np.any(array <= 0):
        raise ValidationError(name, "must be > 0")
    if min_value is not None and array.size and np.any(array < min_value):
        raise ValidationError(name, f"must be >= {min_value}")


def check_shape(name: str, value: Any, shape: tuple) -> None:
    actual = np.shape(value)
    if tuple(actual) != tuple(shape):
        raise ValidationError(name, f"must have shape {tuple(shape)}, got {tuple(actual)}")


def check_int(name: str, value: Any, *, min_value: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(name, f"must be an integer, got {type(value).__name__}")
    if min_value is not None and value < min_value:
        raise ValidationError(name, f"must be >= {min_value}")
