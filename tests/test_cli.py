"""The `optkit` command line: output contract, exit codes (0 solved, 2 bad input, 1 internal), start-up imports.

Most runs use the fast online `random` baseline with --no-reference; the exact MILP runs only on `tiny` with short
time limits (marked slow).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optkit import registry
from optkit.cli import app

RESULT_KEYS = {"family", "scenario", "seed", "method", "status", "objective", "bound", "gap", "runtime_s",
               "metrics", "violations"}
STATUSES = {"optimal", "gap_limit", "feasible", "time_limit", "infeasible", "error"}
TIMING = {"runtime_s", "runtime_frame_ms"}
HEAVY = ("torch", "pyomo", "cvxpy")
FAST = ["-m", "random", "--no-reference"]


def metric_ids(family="allocate"):
    return [m.id for m in registry.family_api(family).metrics]


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.output, result.exception)
    if result.exception is not None:       # only typer's own SystemExit may escape, never a Python error
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def solve_json(*args):
    result = invoke("solve", "-f", "allocate", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return parse_one_object(result.stdout)


def parse_one_object(stdout: str) -> dict:
    def no_constants(name):
        raise AssertionError(f"non-standard JSON constant {name} in output")

    data = json.loads(stdout, parse_constant=no_constants)
    assert isinstance(data, dict)
    return data


def without_timing(result: dict) -> dict:
    out = {k: v for k, v in result.items() if k not in TIMING}
    out["metrics"] = {k: v for k, v in result["metrics"].items() if k not in TIMING}
    return out


def assert_one_line_error(stderr: str, *needles: str) -> str:
    assert "Traceback" not in stderr
    # progress lines ("optkit: ... running ...") may precede the error; the error itself is one line
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("optkit: ")]
    assert len(lines) == 1, f"expected exactly one error line, got:\n{stderr}"
    line = lines[0]
    assert line.startswith("error: "), line
    for needle in needles:
        assert needle in line, f"{needle!r} not named in: {line}"
    return line


def subprocess_env():
    env = dict(os.environ)
    env.pop("OPTKIT_DEBUG", None)
    env.pop("PYTHONPATH", None)
    env["COLUMNS"] = "80"
    return env


def run_module(*args, cwd):
    return subprocess.run([sys.executable, "-m", "optkit.cli", *map(str, args)], cwd=cwd, env=subprocess_env(),
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def tiny_file(tmp_path):
    path = tmp_path / "tiny3.json"
    result = invoke("instance", "-f", "allocate", "-s", "tiny", "--seed", 3, "-o", path)
    assert result.exit_code == 0, result.stderr
    assert path.is_file() and "wrote" in result.stdout
    return path


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("OPTKIT_DEBUG", raising=False)


# ---------------------------------------------------------------- list


def test_list_shows_families_methods_and_scenarios():
    result = invoke("list")
    assert result.exit_code == 0
    out = result.stdout
    for fam in registry.families():
        assert f"family {fam.id}" in out
        assert f"reference method: {fam.reference_method}" in out
    lines = out.splitlines()
    for m in registry.methods():
        assert any(line.split()[:3] == [m.id, m.kind, m.knowledge] for line in lines), m.id
    rows = {line.split()[0]: line for line in lines if line.startswith("    ") and line.split()}
    assert rows["allocate"].split()[1:3] == ["exact", "oracle"]
    assert rows["random"].split()[1:3] == ["heuristic", "online"]
    for sid in ("tiny", "small", "paper-default", "paper-literal-energy", "sweep-nodes"):
        assert sid in rows
    assert "[sweep N: 6, 10, 14, 18, 23]" in rows["sweep-nodes"]
    assert "[sweep" not in rows["tiny"]


# ---------------------------------------------------------------- instance + solve


def test_instance_file_gives_the_same_result_as_scenario_and_seed(tiny_file):
    data = json.loads(tiny_file.read_text())
    assert data["family"] == "allocate" and data["fields"]["seed"] == 3 and data["fields"]["preset"] == "tiny"
    from_file = solve_json("--instance", tiny_file, *FAST)
    from_scenario = solve_json("-s", "tiny", "--seed", 3, *FAST)
    assert from_file["scenario"] == "tiny" and from_file["seed"] == 3
    assert without_timing(from_file) == without_timing(from_scenario)


def test_solve_json_contract():
    result = solve_json("-s", "tiny", "--seed", 1, *FAST)
    assert set(result) == RESULT_KEYS
    assert (result["family"], result["scenario"], result["seed"], result["method"]) == ("allocate", "tiny", 1, "random")
    assert result["status"] == "feasible"
    assert set(metric_ids()) <= set(result["metrics"])
    assert result["objective"] == result["metrics"]["objective"]
    assert result["bound"] is None and result["gap"] is None          # a heuristic proves nothing
    assert isinstance(result["runtime_s"], float) and result["runtime_s"] >= 0
    assert result["metrics"]["frac_opt"] is None                      # NaN becomes null, no reference run
    assert isinstance(result["violations"], dict)


def test_solve_table_format():
    result = invoke("solve", "-f", "allocate", "-s", "tiny", *FAST)
    assert result.exit_code == 0
    for key in ("family", "scenario", "status", "objective", "metrics:", "violations:"):
        assert key in result.stdout
    for mid in metric_ids():
        assert mid in result.stdout


def test_method_seed_changes_only_the_method_stream():
    a = solve_json("-s", "tiny", "--seed", 2, *FAST, "--method-seed", 0)
    b = solve_json("-s", "tiny", "--seed", 2, *FAST, "--method-seed", 0)
    c = solve_json("-s", "tiny", "--seed", 2, *FAST, "--method-seed", 1)
    assert without_timing(a) == without_timing(b)
    assert without_timing(a)["metrics"] != without_timing(c)["metrics"]


def test_solution_file_written_with_decisions(tmp_path):
    out = tmp_path / "res" / "sol.json"
    result = solve_json("-s", "tiny", "--seed", 3, *FAST, "-o", out)
    payload = json.loads(out.read_text())
    assert RESULT_KEYS <= set(payload) and {"decisions", "method_seed", "info"} <= set(payload)
    assert without_timing({k: payload[k] for k in RESULT_KEYS}) == without_timing(result)
    assert sorted(p.name for p in out.parent.iterdir()) == ["sol.json"]     # no temporary file left
    # the stored decisions are complete: re-scoring them reproduces the printed metrics
    from optkit.api import make_instance
    from optkit.solution import Solution, Status

    fam_api = registry.family_api("allocate")
    decisions = fam_api.decisions_from_jsonable(payload["decisions"])
    assert fam_api.decisions_to_jsonable(decisions) == payload["decisions"]
    inst = make_instance("allocate", "tiny", 3)
    ev = fam_api.evaluate(inst, Solution("allocate", "random", Status.FEASIBLE, decisions,
                                         runtime_s=payload["runtime_s"]))
    rescored = json.loads(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v)
                                      for k, v in ev.metrics.items()}))
    assert without_timing({"metrics": rescored})["metrics"] == without_timing(result)["metrics"]


@pytest.mark.parametrize("status", ["optimal", "feasible", "time_limit", "infeasible", "error"])
def test_exit_0_whatever_the_solver_status(register_fake_method, tmp_path, status):
    from optkit.formulations.allocate.record import Decisions
    from optkit.solution import Solution, Status

    def fixed_status(inst, *, seed=0, time_limit=None):
        return Solution("allocate", "fake-status", Status(status), Decisions.empty(inst), runtime_s=0.0)

    register_fake_method(fixed_status, "fake-status")
    out = tmp_path / "sol.json"
    result = solve_json("-s", "tiny", "-m", "fake-status", "--no-reference", "-o", out)
    assert result["status"] == status and result["metrics"]["accepted"] == 0
    assert json.loads(out.read_text())["status"] == status


# ---------------------------------------------------------------- the exact MILP on tiny (slow)


@pytest.mark.slow
def test_exact_reference_on_tiny_json_and_honest_status(tmp_path):
    out = tmp_path / "sol.json"
    result = solve_json("-s", "tiny", "--time-limit", 5, "-o", out)      # default method: the exact reference
    assert set(result) == RESULT_KEYS and result["method"] == registry.get_family("allocate").reference_method
    assert set(metric_ids()) <= set(result["metrics"])
    assert result["status"] in ("optimal", "time_limit"), result["status"]
    if result["gap"] is not None and result["gap"] > 1e-4:
        assert result["status"] == "time_limit", "a time-limited incumbent with a gap must never be 'optimal'"
    if result["status"] == "optimal":
        assert result["gap"] is not None and result["gap"] <= 1e-4
    if result["objective"] is not None and result["bound"] is not None:
        assert result["bound"] >= result["objective"] - 1e-6 * max(1.0, abs(result["objective"]))
    assert result["metrics"]["frac_opt_of"] in (1.0, None)                # the reference is its own reference
    assert result["violations"] == {}
    assert "decisions" in json.loads(out.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("suffix, marker", [(".lp", "max"), (".mps", "COLUMNS")])
def test_export_model_writes_a_file(tmp_path, suffix, marker):
    path = tmp_path / f"model{suffix}"
    result = invoke("solve", "-f", "allocate", "-s", "tiny", "--time-limit", 1, "--format", "json",
                    "--export-model", path)
    assert result.exit_code == 0, result.stderr
    assert path.is_file() and path.stat().st_size > 1000
    assert marker in path.read_text()[:200000]


# ---------------------------------------------------------------- bad input: exit 2, one line, nothing written


def _edit_instance(path: Path, edit) -> Path:
    data = json.loads(path.read_text())
    edit(data)
    out = path.with_name("edited.json")
    out.write_text(json.dumps(data))          # python's json writes NaN, which json.loads accepts
    return out


def _set_field(name, value):
    return lambda d: d["fields"].__setitem__(name, value)


def _drop_last_cap(d):
    d["fields"]["cap"]["__ndarray__"].pop()
    d["fields"]["cap"]["shape"] = [len(d["fields"]["cap"]["__ndarray__"])]


def _set_array_entry(name, index, value):
    return lambda d: d["fields"][name]["__ndarray__"].__setitem__(index, value)


INSTANCE_CASES = [
    pytest.param(lambda d: d.__setitem__("family", "sagin"), ("'sagin'", "allocate"), id="other-family"),
    pytest.param(_set_field("cap", "abc"), ("cap",), id="cap-as-string"),
    pytest.param(_set_array_entry("cap", 0, "x"), ("array",), id="cap-entry-as-string"),
    pytest.param(_set_field("T", "4"), ("T", "integer"), id="T-as-string"),
    pytest.param(_set_field("T", 4.5), ("T", "integer"), id="T-as-float"),
    pytest.param(_set_field("cell_side_m", float("nan")), ("cell_side_m", "finite"), id="nan-scalar"),
    pytest.param(_set_array_entry("cap", 0, float("nan")), ("cap", "finite"), id="nan-in-array"),
    pytest.param(_set_field("frame_s", float("inf")), ("frame_s", "finite"), id="inf-scalar"),
    pytest.param(_set_field("alpha", -1.0), ("alpha", "-1.0", "[0, "), id="negative-alpha"),
    pytest.param(_set_array_entry("cap", 1, -3.0), ("cap", "-3.0", "(0, "), id="negative-cap"),
    pytest.param(_drop_last_cap, ("cap", "shape"), id="inconsistent-shape"),
    pytest.param(lambda d: d["fields"]["cap"].__setitem__("shape", [99]), ("array",), id="shape-tag-mismatch"),
    pytest.param(_set_field("weather_atten_db", {"__ndarray__": [0.0, 1.0], "dtype": "<f8", "shape": [2]}),
                 ("weather_atten_db", "shape"), id="short-weather-table"),
    pytest.param(lambda d: d["fields"].pop("alpha"), ("alpha", "missing"), id="missing-field"),
    pytest.param(_set_field("bogus", 1), ("bogus", "unknown"), id="unknown-field"),
    pytest.param(lambda d: d.pop("optkit_instance"), ("optkit_instance",), id="no-format-version"),
    pytest.param(_set_field("n_core", 0), ("n_core",), id="no-core-node"),
    pytest.param(_set_field("seed", -1), ("seed",), id="negative-seed"),
    pytest.param(_set_field("seed", 1.5), ("seed",), id="float-seed"),
    pytest.param(_set_field("alpha", "x"), ("alpha",), id="alpha-as-string"),
    pytest.param(_set_field("service_funcs", 5), ("service_funcs",), id="service-funcs-as-int"),
    pytest.param(_set_field("service_funcs", [["a", "b"]] * 4), ("service_funcs",), id="service-funcs-strings"),
    pytest.param(_set_field("req_demand", 3), ("req_demand",), id="req-demand-as-int"),
    pytest.param(_set_field("uav_weight_as_force", "yes"), ("uav_weight_as_force",), id="bool-as-string"),
]


@pytest.mark.parametrize("edit, needles", INSTANCE_CASES)
def test_bad_instance_file_exit_2_one_line_nothing_written(tiny_file, tmp_path, edit, needles):
    bad = _edit_instance(tiny_file, edit)
    out = tmp_path / "sol.json"
    result = invoke("solve", "-f", "allocate", "--instance", bad, *FAST, "--format", "json", "-o", out)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert_one_line_error(result.stderr, *needles)
    assert result.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("text, needle", [
    ('{"family": "allocate", "fields": ', "not valid JSON"),
    ("", "not valid JSON"),
    ("[1, 2]", "family"),
    ('{"family": "allocate", "fields": null, "optkit_instance": 1}', "fields"),
])
def test_malformed_instance_json(tmp_path, text, needle):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    out = tmp_path / "sol.json"
    result = invoke("solve", "-f", "allocate", "--instance", bad, *FAST, "-o", out)
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, needle)
    assert not out.exists()


BAD_SOLVE_ARGS = [
    pytest.param(["-f", "nosuch", "-s", "tiny", *FAST], ("formulation", "nosuch", "allocate"), id="unknown-formulation"),
    pytest.param(["-f", "allocate", "-s", "nosuch", *FAST], ("scenario", "nosuch", "tiny"), id="unknown-scenario"),
    pytest.param(["-f", "allocate", "-s", "tiny", "-m", "nosuch", "--no-reference"], ("method", "nosuch", "random"),
                 id="unknown-method"),
    pytest.param(["-f", "allocate", "-s", "tiny", *FAST, "--solver", "nosuch"], ("solver", "nosuch", "highs"),
                 id="unknown-solver"),
    pytest.param(["-f", "allocate", "-s", "tiny", "--solver", "nosuch"], ("solver", "nosuch"),
                 id="unknown-solver-exact"),
    pytest.param(["-f", "allocate", "-s", "tiny", *FAST, "--time-limit", -1], ("--time-limit",), id="negative-time-limit"),
    pytest.param(["-f", "allocate", "-s", "tiny", *FAST, "--time-limit", 0], ("--time-limit",), id="zero-time-limit"),
    pytest.param(["-f", "allocate", "-s", "tiny", *FAST, "--time-limit", "nan"], ("--time-limit",), id="nan-time-limit"),
    pytest.param(["-f", "allocate", "-s", "tiny", "--gap", 2], ("--gap",), id="gap-2"),
    pytest.param(["-f", "allocate", "-s", "tiny", "--gap", -0.1], ("--gap",), id="negative-gap"),
    pytest.param(["-f", "allocate", "-s", "tiny", *FAST, "--gap", 0.1], ("--gap", "random"), id="gap-for-random"),
    pytest.param(["-f", "allocate", "-s", "tiny", *FAST, "--format", "xml"], ("--format", "xml"), id="format-xml"),
    pytest.param(["-f", "allocate", "-s", "tiny", "--export-model", "file.txt"], ("--export-model", "file.txt"),
                 id="export-txt"),
    pytest.param(["-f", "allocate", "-s", "tiny", *FAST, "--export-model", "m.lp"], ("--export-model", "random"),
                 id="export-for-random"),
    pytest.param(["-f", "allocate", "-s", "sweep-nodes", *FAST], ("--point", "sweep-nodes", "6, 10, 14, 18, 23"),
                 id="sweep-without-point"),
    pytest.param(["-f", "allocate", "-s", "sweep-nodes", "--point", "99", *FAST], ("--point", "99"), id="unknown-point"),
    pytest.param(["-f", "allocate", "-s", "tiny", "--point", "6", *FAST], ("--point", "tiny"), id="point-on-plain"),
    pytest.param(["-f", "allocate", "-s", "tiny", "--instance", "whatever.json", *FAST], ("--instance",),
                 id="instance-and-scenario"),
    pytest.param(["-f", "allocate", "--instance", "missing.json", *FAST], ("--instance", "missing.json"),
                 id="missing-instance-file"),
]


@pytest.mark.parametrize("args, needles", BAD_SOLVE_ARGS)
def test_bad_solve_input_exit_2_one_line_nothing_written(tmp_path, monkeypatch, args, needles):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "sol.json"
    result = invoke("solve", *args, "-o", out)
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    assert_one_line_error(result.stderr, *needles)
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_missing_solver_exit_2(tmp_path):
    from optkit.solver import available_solvers

    if "gurobi_direct" in available_solvers():
        pytest.skip("gurobi is installed here")
    out = tmp_path / "sol.json"
    for args in (["-s", "tiny", "--solver", "gurobi"], ["-s", "tiny", *FAST, "--solver", "gurobi"]):
        result = invoke("solve", "-f", "allocate", *args, "-o", out)
        assert result.exit_code == 2
        assert_one_line_error(result.stderr, "gurobi", "not available", "highs")
        assert not out.exists()


@pytest.mark.parametrize("args", [
    ["--seed", -1], ["--method-seed", -2], ["--threads", 0], ["--seed", "abc"], ["--time-limit", "soon"],
])
def test_click_usage_errors_exit_2_in_process(tmp_path, args):
    out = tmp_path / "sol.json"
    result = invoke("solve", "-f", "allocate", "-s", "tiny", *FAST, *args, "-o", out)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("args, needles", [
    (["-f", "nosuch", "-s", "tiny"], ("nosuch",)),
    (["-f", "allocate", "-s", "nosuch"], ("nosuch",)),
    (["-f", "allocate", "-s", "sweep-nodes"], ("--point",)),
])
def test_bad_instance_command_input(tmp_path, args, needles):
    out = tmp_path / "inst.json"
    result = invoke("instance", *args, "-o", out)
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, *needles)
    assert sorted(p.name for p in tmp_path.iterdir()) == []

@pytest.mark.parametrize("command", ["solve", "instance"])
@pytest.mark.parametrize("kind", ["existing-directory", "parent-is-a-file"])
def test_unwritable_output_path_is_input_error(tmp_path, command, kind):
    if kind == "existing-directory":
        out = tmp_path / "taken"
        out.mkdir()
    else:
        (tmp_path / "afile").write_text("x")
        out = tmp_path / "afile" / "out.json"
    args = ["-f", "allocate", "-s", "tiny", "-o", out] + (FAST if command == "solve" else [])
    result = invoke(command, *args)
    assert result.exit_code == 2, (result.exit_code, result.stderr)
    assert_one_line_error(result.stderr, str(out.name))
    assert not list(tmp_path.glob("**/.*.tmp"))


# ---------------------------------------------------------------- internal error: exit 1, one line


def test_internal_error_exit_1_one_line(register_fake_method, tmp_path):
    def boom(inst, *, seed=0, time_limit=None):
        raise RuntimeError("kaboom in the method")

    register_fake_method(boom, "random")          # the registered `random` now points at a failing entry
    assert registry.get_method("allocate", "random").entry.endswith(":boom")
    out = tmp_path / "sol.json"
    result = invoke("solve", "-f", "allocate", "-s", "tiny", *FAST, "--format", "json", "-o", out)
    assert result.exit_code == 1
    line = assert_one_line_error(result.stderr, "internal error", "RuntimeError", "kaboom in the method")
    assert "OPTKIT_DEBUG" in line
    assert result.stdout == ""
    assert not out.exists()


def test_internal_error_with_debug_shows_traceback(register_fake_method, monkeypatch):
    def boom(inst, *, seed=0, time_limit=None):
        raise RuntimeError("kaboom")

    register_fake_method(boom, "random")
    monkeypatch.setenv("OPTKIT_DEBUG", "1")
    result = invoke("solve", "-f", "allocate", "-s", "tiny", *FAST)
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "kaboom" in result.stderr


# ---------------------------------------------------------------- subprocess: real exit codes and start-up imports


def test_subprocess_exit_codes(tmp_path):
    ok = run_module("solve", "-f", "allocate", "-s", "tiny", *FAST, "--format", "json", cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert set(parse_one_object(ok.stdout)) == RESULT_KEYS
    bad = run_module("solve", "-f", "allocate", "-s", "tiny", "-m", "nosuch", "--no-reference", cwd=tmp_path)
    assert bad.returncode == 2
    assert_one_line_error(bad.stderr, "nosuch")
    bad_file = tmp_path / "bad.json"
    bad_file.write_text("{not json")
    bad = run_module("solve", "-f", "allocate", "--instance", bad_file, *FAST, "-o", tmp_path / "o.json", cwd=tmp_path)
    assert bad.returncode == 2
    assert_one_line_error(bad.stderr, "not valid JSON")
    assert not (tmp_path / "o.json").exists()


def test_console_script_runs(tmp_path):
    script = Path(sys.executable).with_name("optkit")
    if not script.exists():
        pytest.skip("no optkit console script next to this interpreter")
    res = subprocess.run([str(script), "list"], cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == 0 and "family allocate" in res.stdout
    res = subprocess.run([str(script), "solve", "-f", "allocate", "-s", "nosuch", *FAST], cwd=tmp_path,
                         env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert_one_line_error(res.stderr, "nosuch")

@pytest.mark.parametrize("args, needle", [
    (["solve", "-f", "allocate", "-s", "tiny", "--seed", "-1"], "--seed"),
    (["solve", "-s", "tiny"], "--formulation"),
    (["solve", "-f", "allocate", "--format"], "--format"),
])
def test_usage_errors_are_one_line(tmp_path, args, needle):
    res = run_module(*args, cwd=tmp_path)
    assert res.returncode == 2
    assert_one_line_error(res.stderr, needle)


def test_usage_error_exit_2_subprocess(tmp_path):
    res = run_module("solve", "-f", "allocate", "-s", "tiny", "--seed", "-1", "-o", tmp_path / "o.json", cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and "--seed" in res.stderr
    assert not (tmp_path / "o.json").exists()


IMPORT_PROBE = """
import sys
sys.argv = ["optkit"] + sys.argv[1:]
from optkit.cli import app
try:
    app()
except SystemExit as exc:
    code = exc.code
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(%r))
print("PROBE", code, ",".join(heavy))
""" % (HEAVY,)


@pytest.mark.parametrize("args", [["--help"], ["solve", "--help"], ["instance", "--help"], ["list"]])
def test_start_path_does_not_import_heavy_libraries(tmp_path, args):
    res = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *args], cwd=tmp_path, env=subprocess_env(),
                         capture_output=True, text=True, timeout=60)
    probe = [line for line in res.stdout.splitlines() if line.startswith("PROBE")]
    assert probe, res.stdout + res.stderr
    _, code, *heavy = probe[-1].split(" ")
    assert code in ("0", "None"), res.stderr
    assert heavy in ([], [""]), f"`optkit {' '.join(args)}` imported {heavy}"


def test_help_importtime_has_no_heavy_modules(tmp_path):
    res = subprocess.run([sys.executable, "-X", "importtime", "-m", "optkit.cli", "--help"], cwd=tmp_path,
                         env=subprocess_env(), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and "solve" in res.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in res.stderr.splitlines() if line.startswith("import time:")}
    assert {"optkit", "optkit.errors", "typer"} <= imported      # -m runs optkit.cli as __main__
    assert not {m for m in imported if m.split(".")[0] in HEAVY}


def test_certificate_says_what_the_result_proves():
    from optkit.cli import certificate

    assert certificate("optimal", 3.2315, 3.2316, 3e-5, 12.0).startswith("result: PROVEN OPTIMAL, objective 3.2315")
    text = certificate("time_limit", 3.131, 3.2457, 0.0366, 600.2)
    assert text.startswith("result: NOT PROVEN OPTIMAL (time_limit): incumbent 3.131, bound 3.2457, gap 3.66 %")
    assert "after 600 s" in text
    assert "no bound" in certificate("feasible", 0.58, None, None, 0.2)
    assert certificate("infeasible", None, None, None, 1.0).startswith("result: INFEASIBLE")


def test_progress_printer_prints_improvements_and_a_heartbeat():
    import io

    from optkit.cli import ProgressPrinter

    out = io.StringIO()
    printer = ProgressPrinter(every_s=5.0, stream=out)
    printer(0.5, None, None, None)            # first call: a line
    printer(1.0, None, 4.0, None)             # nothing new, too soon: no line
    printer(2.0, 3.0, 4.0, 1 / 3)             # improved incumbent: a line
    printer(3.0, 3.0, 3.9, 0.3)               # too soon: no line
    printer(8.0, 3.0, 3.5, 1 / 6)             # heartbeat after 5 s: a line
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert "incumbent none yet" in lines[0] and "bound -" in lines[0]
    assert lines[1].split() == ["optkit:", "2.0", "s", "incumbent", "3", "bound", "4", "gap", "33.33", "%"]
    assert "bound 3.5" in lines[2] and "gap 16.67 %" in lines[2]


def test_a_reduced_experiment_says_what_it_substitutes():
    from optkit.cli import experiment_substitutions
    from optkit.experiments import load_experiment

    paper = load_experiment("sagin-reference", "paper")
    [line] = experiment_substitutions(load_experiment("sagin-reference", "check"), paper, "check")
    assert line.startswith("optkit: experiment sagin-reference at budget check is reduced against the paper budget")
    assert "presets ref-tiny instead of ref-small" in line
    assert experiment_substitutions(paper, paper, "paper") == []


@pytest.mark.parametrize("manifest,words", [
    ('{"sweep": {"family": "allocate"}, "cells": []}', "sweep.scenarios"),
    ('{"sweep": {"family": "allocate", "scenarios": 5}, "cells": [1]}', "sweep.scenarios"),
    ('{"sweep": {"family": "allocate", "scenarios": ["tiny"], "points": {"tiny": [1]}}, "cells": []}', "sweep.points"),
    ('{"sweep": {"family": "allocate", "scenarios": ["tiny"]}, "cells": [{"seed": 0}]}', "every cell"),
    ('{"sweep": [], "cells": []}', "'sweep'"),
    ('{"sweep": {', "cannot be read as JSON"),
])
def test_malformed_manifest_is_exit_2(tmp_path, manifest, words):
    (tmp_path / "manifest.json").write_text(manifest)
    result = invoke("report", tmp_path)
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, words)


def test_certificate_of_a_gap_limit_and_of_a_model_optimum():
    from optkit.cli import certificate

    text = certificate("gap_limit", 2.49, 2.589, 0.0395, 7.0)
    assert text.startswith("result: NOT PROVEN OPTIMAL (gap_limit): incumbent 2.49, bound 2.589, gap 3.95 %")
    text = certificate("optimal", 4.0097, None, None, 0.4, model="P2-L lattice value", method_objective=3.9983)
    assert "OPTIMAL FOR THE METHOD'S MODEL (P2-L lattice value): model value 3.9983" in text
    assert "family objective of these decisions is 4.0097, with no bound" in text


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc (a folder that refuses files)")
def test_output_refused_by_the_file_system_fails_before_solving():
    result = invoke("solve", "-f", "allocate", "-s", "tiny", *FAST, "-o", "/proc/optkit-solution.json")
    assert result.exit_code == 2
    assert "running" not in result.stderr
    assert_one_line_error(result.stderr, "-o", "/proc/optkit-solution.json")
