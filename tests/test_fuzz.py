"""Property-based fuzzing of instance files (hypothesis): one field of a discovered family's test-preset instance is
mutated (benchmarks/fuzz.py's mutation kinds), the file goes through `optkit solve --instance F` in-process, and the
outcome must be exit 2 with one `error:` line, or exit 0 with one JSON result; never exit 1, a traceback, or a run
past its time limit. An implausible mutation (a changed dtype tag, 1e30, NaN, a wrong type, a dropped field) must be
rejected. The fast online baseline of each family runs the accepted instances. The strict checks cover the families
that declare their fields (a `schema` module, docs/guides/add-a-family.md); `benchmarks/fuzz.py` runs >= 1000 cases
over every discovered family with the reference methods.
"""
from __future__ import annotations

import functools
import importlib.util
import json
import random
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from optkit import registry
from optkit.cli import app

_spec = importlib.util.spec_from_file_location("fuzz_bench", Path(__file__).parents[1] / "benchmarks" / "fuzz.py")
fuzz = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fuzz)

TIME_LIMIT = 2.0
#: A fast method per family for the accepted instances (the reference runs in benchmarks/fuzz.py).
FAST_METHOD = {"allocate": "random", "sagin": "sl", "leo-handover": "distance"}


@functools.lru_cache(maxsize=None)
def instance_json(family: str) -> str:
    return json.dumps(fuzz.test_instance(family))


def fast_method(family: str) -> str:
    """The family's fast heuristic when known, else its first online heuristic, else its reference method."""
    if family in FAST_METHOD:
        return FAST_METHOD[family]
    for spec in registry.methods(family):
        if spec.kind == "heuristic":
            return spec.id
    return registry.get_family(family).reference_method


def declares_fields(family: str) -> bool:
    """Whether the family's formulations package declares its fields (a `schema` module, see
    docs/guides/add-a-family.md): only then is an implausible value required to be rejected."""
    package = registry.family_api(family).instance_class.__module__.rpartition(".")[0]
    return importlib.util.find_spec(f"{package}.schema") is not None


FAMILIES = sorted(f.id for f in registry.families())
DECLARED = [f for f in FAMILIES if declares_fields(f)]


def run_mutated(tmp: Path, family: str, field_pick: int, kind: str, seed: int):
    data = json.loads(instance_json(family))
    names = [f for f, v in data["fields"].items() if fuzz.applicable(kind, v)]
    if not names:
        return None
    field = names[field_pick % len(names)]
    mutated, implausible = fuzz.mutate(data, field, kind, random.Random(seed))
    if kind == "dtype_tag" and mutated["fields"][field]["dtype"] == data["fields"][field]["dtype"]:
        implausible = False
    path = tmp / f"{family}.json"
    path.write_text(json.dumps(mutated))
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["solve", "-f", family, "--instance", str(path), "--format", "json",
                                      "--time-limit", str(TIME_LIMIT), "--no-reference", "-m", fast_method(family)])
    return field, implausible, result, time.perf_counter() - start


def check_outcome(family, kind, field, implausible, result, wall) -> None:
    where = f"{family}.{field} <- {kind}"
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), f"{where}: {result.exception!r}"
    assert "Traceback" not in result.output, where
    assert result.exit_code in (0, 2), f"{where}: exit {result.exit_code}: {result.output[-500:]}"
    assert wall <= TIME_LIMIT + 30, f"{where}: ran {wall:.0f} s under --time-limit {TIME_LIMIT}"
    if result.exit_code == 2:
        errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1, f"{where}: {result.stderr}"
    else:
        assert not implausible, f"{where}: an implausible value was accepted"
        json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(family=st.sampled_from(DECLARED), kind=st.sampled_from(fuzz.MUTATIONS),
       field_pick=st.integers(0, 10_000), seed=st.integers(0, 2**31 - 1))
def test_mutated_instance_is_rejected_in_one_line_or_solved(tmp_path, family, kind, field_pick, seed):
    out = run_mutated(tmp_path, family, field_pick, kind, seed)
    if out is not None:
        check_outcome(family, kind, *out)


@pytest.mark.parametrize("family", DECLARED)
@pytest.mark.parametrize("kind", ["dtype_tag", "huge_int", "array_entry_inf", "list_for_number"])
def test_every_family_rejects_implausible_files(tmp_path, family, kind):
    out = run_mutated(tmp_path, family, 0, kind, 1)
    if out is None:
        pytest.skip(f"{family} has no field that {kind} applies to")
    field, implausible, result, wall = out
    assert implausible
    assert result.exit_code == 2, f"{family}.{field} <- {kind}: exit {result.exit_code}: {result.output[-300:]}"
    check_outcome(family, kind, field, implausible, result, wall)


def test_mutations_change_what_they_say():
    data = {"fields": {"x": 3.0, "a": {"__ndarray__": [[1, 2], [3, 4]], "dtype": "<i8", "shape": [2, 2]},
                       "flag": True, "name": "p"}}
    rng = random.Random(0)
    assert fuzz.mutate(data, "x", "huge_float", rng) == ({"fields": {**data["fields"], "x": 1e30}}, True)
    tagged, bad = fuzz.mutate(data, "a", "dtype_tag", rng)
    assert tagged["fields"]["a"]["dtype"] != "<i8" and bad
    neg, bad = fuzz.mutate(data, "x", "negate", rng)
    assert neg["fields"]["x"] == -3.0 and not bad
    assert "x" not in fuzz.mutate(data, "x", "drop_field", rng)[0]["fields"]
    assert data["fields"]["x"] == 3.0                      # the original is never changed
    assert fuzz.applicable("array_entry_flip", data["fields"]["a"]) is False
    assert fuzz.applicable("number_for_bool", True) and not fuzz.applicable("number_for_bool", 1)
    assert fuzz.classify(1, "", "error: internal error", 1.0, 2.0, False) == ["exit1"]
    assert fuzz.classify(0, '{"a": 1}', "", 1.0, 2.0, True) == ["silent"]
    assert fuzz.classify(2, "", "error: x: bad\n", 20.0, 2.0, True) == ["rejected", "past_limit"]
    assert fuzz.classify(None, "", "", 32.0, 2.0, False) == ["past_limit"]
