"""The benchmark runner: manifest, one row per cell, failures as rows, resume after a kill, refusal of a different
sweep, reference fractions, local and Dask executors giving the same rows.

Cells use the fast online `random` baseline on `tiny` (and fake methods); the exact MILP is not needed here.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from optkit import bench
from optkit.bench import ID_COLUMNS, make_sweep, parse_seeds, read_rows, results_frame, run_sweep
from optkit.cli import app
from optkit.errors import InputError
from optkit.solution import Solution, Status

TIMING = {"decision_s", "wall_s", "runtime_s", "runtime_frame_ms"}


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def random_sweep(seeds="0-2", **kw):
    return make_sweep("allocate", ["tiny"], "random", seeds, **kw)


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    drop = [c for c in df.columns if c in TIMING]
    return df.drop(columns=drop).sort_values(ID_COLUMNS).reset_index(drop=True)


@pytest.mark.parametrize("text,expected", [
    ("0-9", list(range(10))), ("0,3,5", [0, 3, 5]), ("0-4,10", [0, 1, 2, 3, 4, 10]), ("3", [3]), ("2,2,1", [1, 2]),
])
def test_parse_seeds(text, expected):
    assert parse_seeds(text) == expected


@pytest.mark.parametrize("text", ["a", "5-2", "-1", "0-", "1,,x", ""])
def test_parse_seeds_rejects_malformed(text):
    with pytest.raises(InputError, match="--seeds"):
        parse_seeds(text)


def test_run_writes_manifest_rows_and_tables(tmp_path):
    out = tmp_path / "run"
    df = run_sweep(random_sweep(), out, progress=False)
    manifest = json.loads((out / "manifest.json").read_text())
    assert len(manifest["cells"]) == 3
    assert manifest["sweep"]["methods"] == ["random"]
    assert len(df) == 3 and set(df["status"]) == {"feasible"}
    assert sorted(df["seed"]) == [0, 1, 2]
    for column in ("objective", "acc_pct", "frac_opt", "decision_s", "train_s", "optkit_version", "v_highspy",
                   "git_rev", "platform", "bound", "gap", "ref_status"):
        assert column in df.columns, column
    assert (out / "results.parquet").is_file() and (out / "results.csv").is_file()
    back = pd.read_parquet(out / "results.parquet")
    assert comparable(back).equals(comparable(df))
    # the evaluator's objective: n_acc - alpha W
    inst_alpha = 0.001
    assert all(math.isclose(r.objective, r.accepted - inst_alpha * r.energy_total, rel_tol=1e-9, abs_tol=1e-12)
               for r in df.itertuples())


def test_rows_match_a_direct_solve(tmp_path):
    import optkit

    df = run_sweep(random_sweep("1"), tmp_path / "run", progress=False)
    inst = optkit.make_instance("allocate", "tiny", 1)
    evaluation = optkit.evaluate(inst, optkit.solve(inst, "random"))
    assert df.loc[0, "objective"] == pytest.approx(evaluation.metrics["objective"], rel=1e-12)
    assert df.loc[0, "accepted"] == evaluation.metrics["accepted"]


def test_rerun_skips_finished_cells(tmp_path):
    out = tmp_path / "run"
    run_sweep(random_sweep(), out, progress=False)
    before = (out / "rows.jsonl").read_bytes()
    df = run_sweep(random_sweep(), out, progress=False)
    assert (out / "rows.jsonl").read_bytes() == before
    assert len(df) == 3


def test_extending_seeds_is_a_different_sweep_and_leaves_results_untouched(tmp_path):
    out = tmp_path / "run"
    run_sweep(random_sweep(), out, progress=False)
    files = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(InputError, match="different sweep.*seeds"):
        run_sweep(random_sweep("0-4"), out, progress=False)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == files


def test_cli_refuses_a_different_sweep_with_exit_2(tmp_path):
    out = tmp_path / "run"
    assert invoke("bench", "-f", "allocate", "-s", "tiny", "-m", "random", "--seeds", "0", "--out", out,
                  "--no-progress").exit_code == 0
    rows = (out / "rows.jsonl").read_bytes()
    result = invoke("bench", "-f", "allocate", "-s", "tiny", "-m", "random", "--seeds", "0-1", "--out", out)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: --out:")
    assert (out / "rows.jsonl").read_bytes() == rows


@pytest.mark.parametrize("args,flag", [
    (["--seeds", "x-1"], "--seeds"),
    (["--methods", "nope"], "method"),
    (["--budget", "huge"], "--budget"),
    (["--executor", "ray"], "--executor"),
    (["--time-limit", "-3"], "--time-limit"),
    (["--points", "99"], "points"),
])
def test_cli_bad_input_exit_2(tmp_path, args, flag):
    base = ["bench", "-f", "allocate", "-s", "sweep-requests", "-m", "random", "--seeds", "0", "--out", tmp_path / "o"]
    result = invoke(*base, *args) if "--methods" not in args else invoke(
        "bench", "-f", "allocate", "-s", "tiny", "--seeds", "0", "--out", tmp_path / "o", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and flag in result.stderr
    assert not (tmp_path / "o" / "rows.jsonl").exists()


def test_cli_unknown_experiment_exit_2(tmp_path):
    result = invoke("bench", "--experiment", "allocate-nope", "--out", tmp_path / "o")
    assert result.exit_code == 2 and "unknown experiment 'allocate-nope'" in result.stderr


def test_failing_cell_becomes_an_error_row_and_the_run_goes_on(tmp_path, register_fake_method):
    from optkit.heuristics.allocate.random_baseline import solve as random_solve

    def flaky(inst, *, seed=0, time_limit=None):
        if inst.seed == 1:
            raise RuntimeError("boom on seed 1")
        return random_solve(inst, seed=seed)

    register_fake_method(flaky, "flaky")
    df = run_sweep(make_sweep("allocate", ["tiny"], "flaky,random", "0-2"), tmp_path / "run", progress=False)
    assert len(df) == 6
    failed = df[df["status"] == "error"]
    assert list(zip(failed["method"], failed["seed"])) == [("flaky", 1)]
    assert "RuntimeError: boom on seed 1" in failed["message"].iloc[0]
    assert math.isnan(failed["objective"].iloc[0])
    assert set(df[df["status"] != "error"]["status"]) == {"feasible"}


def test_partial_last_line_is_ignored_and_its_cell_runs_again(tmp_path):
    out = tmp_path / "run"
    run_sweep(random_sweep(), out, progress=False)
    lines = (out / "rows.jsonl").read_text().splitlines(keepends=True)
    (out / "rows.jsonl").write_text("".join(lines[:2]) + lines[2][:40])      # killed while writing row 3
    assert len(read_rows(out)) == 2
    df = run_sweep(random_sweep(), out, progress=False)
    assert len(df) == 3
    text = (out / "rows.jsonl").read_text()
    assert text.endswith("\n") and all(json.loads(line) for line in text.splitlines())


@pytest.mark.slow
def test_resume_after_kill_loses_and_duplicates_nothing(tmp_path):
    out = tmp_path / "run"
    command = [sys.executable, "-c", "from optkit.cli import main; main()", "bench", "-f", "allocate", "-s", "tiny",
               "-m", "random", "--seeds", "0-79", "--out", str(out), "--no-progress"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(read_rows(out)) < 5 and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = read_rows(out)
    assert 5 <= len(done_before) < 80, "the run must be killed mid-way"
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = read_rows(out)
    keys = [bench.Cell(**{c: r[c] for c in ID_COLUMNS}).key for r in rows]
    assert len(keys) == len(set(keys)) == 80
    assert rows[:len(done_before)] == done_before          # finished rows are kept, not recomputed
    assert len(pd.read_parquet(out / "results.parquet")) == 80


def test_resume_with_only_the_directory(tmp_path):
    out = tmp_path / "run"
    sweep = random_sweep()
    bench.prepare_out(out, sweep)           # manifest written, nothing run yet (as after an early kill)
    result = invoke("bench", "--resume", "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output
    assert len(read_rows(out)) == 3
    assert invoke("bench", "--resume", "--out", tmp_path / "empty").exit_code == 2


def test_sweep_preset_expands_into_points_with_sweep_values(tmp_path):
    sweep = make_sweep("allocate", ["sweep-requests"], "random", "0", points=["7", "30"])
    assert [c.point for c in sweep.cells()] == ["7", "30"]
    df = run_sweep(sweep, tmp_path / "run", progress=False)
    assert list(df["point"]) == ["7", "30"] and list(df["sweep_value"]) == [7, 30]
    assert set(df["sweep"]) == {"R"}
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert [c["point"] for c in manifest["cells"]] == ["7", "30"]


def test_experiment_budgets_override_the_paper_table():
    from optkit.experiments import experiment_ids, load_experiment

    ids = experiment_ids()
    for required in ("allocate-conv-lr", "allocate-conv-batch", "allocate-sweep-requests", "allocate-sweep-nodes",
                     "allocate-sweep-channels", "allocate-radar", "allocate-heat", "allocate-runtime"):
        assert required in ids
    paper = load_experiment("allocate-sweep-requests", "paper")
    quick = load_experiment("allocate-sweep-requests", "quick")
    assert paper.seeds == "0-9" and paper.points is None and paper.time_limit == 600
    assert quick.seeds == "0-1" and quick.points == ["7", "15", "30"] and quick.time_limit == 60
    conv = load_experiment("allocate-conv-lr", "paper")
    assert [c["lr"] for c in conv.configs] == [0.0001, 0.001, 0.01] and conv.method_seeds == "0-2"
    heat = load_experiment("allocate-heat", "quick")
    sweep = make_sweep("allocate", heat.scenarios, "random", heat.seeds, points=heat.points)
    assert {sc: [p for p, _ in pts] for sc, pts in sweep.points.items()} == heat.points


def test_evaluation_seeds_must_avoid_the_training_seeds():
    with pytest.raises(InputError, match="--seeds: seeds from 10000 on are the learners' training seeds"):
        make_sweep("allocate", ["tiny"], "perfect,random", "9998-10001")
    assert len(make_sweep("allocate", ["tiny"], "random", "9998-10001").cells()) == 4    # no learner: allowed


def test_configs_must_be_options_some_method_takes():
    with pytest.raises(InputError, match="no method of random takes all of lr"):
        make_sweep("allocate", ["tiny"], "random", "0", configs=[{"label": "lr=1", "lr": 1.0}])


def test_configs_apply_to_the_methods_that_take_them(register_fake_method):
    from optkit.heuristics.allocate.random_baseline import solve as random_solve

    def tunable(inst, *, seed=0, time_limit=None, lr=0.001):
        return random_solve(inst, seed=seed)

    from optkit.options import Option

    register_fake_method(tunable, "tunable", options=(Option("lr", "float", 0.001, "learning rate", low=0.0),))
    sweep = make_sweep("allocate", ["tiny"], "tunable,random", "0",
                       configs=[{"label": "lr=1", "lr": 1.0}, {"label": "lr=2", "lr": 2.0}])
    assert [(c.method, c.config) for c in sweep.cells()] == [("tunable", "lr=1"), ("tunable", "lr=2"), ("random", "")]


def _row(method, seed, objective, efficiency, accepted=1.0, status="feasible", bound=None, gap=None):
    from optkit.formulations.allocate.evaluator import METRIC_IDS

    row = {"family": "allocate", "scenario": "tiny", "point": "", "seed": seed, "method": method, "config": "",
           "method_seed": 0, "status": status, "message": "", "method_objective": objective, "bound": bound,
           "gap": gap, "decision_s": 0.1, "train_s": 0.0, "solver": "", "feasible": True, "wall_s": 0.1}
    row.update({m: 0.0 for m in METRIC_IDS})
    row.update(objective=objective, efficiency=efficiency, accepted=accepted, frac_opt=None, frac_opt_of=None)
    return row


def test_reference_fractions_are_computed_per_instance():
    rows = [_row("allocate", 0, 2.0, 0.02, status="optimal", bound=2.5, gap=0.25),
            _row("random", 0, 0.5, 0.01),
            _row("allocate", 1, 4.0, 0.04, status="time_limit", bound=5.0, gap=0.25),
            _row("random", 1, -1.0, 0.0, accepted=0.0),
            _row("random", 2, 1.0, 0.01)]                     # no reference for seed 2
    rows[3]["status"] = "error"
    df = results_frame(rows, "allocate").set_index(["method", "seed"])
    assert df.loc[("random", 0), "frac_opt"] == pytest.approx(0.5)
    assert df.loc[("random", 0), "frac_opt_of"] == pytest.approx(0.25)
    assert df.loc[("random", 0), "frac_bound"] == pytest.approx(0.2)
    assert df.loc[("random", 0), "ref_status"] == "optimal"
    assert df.loc[("allocate", 1), "frac_opt"] == pytest.approx(1.0)
    assert df.loc[("allocate", 1), "ref_gap"] == pytest.approx(0.25)
    assert math.isnan(df.loc[("random", 1), "frac_opt"])          # error rows get no fraction
    assert math.isnan(df.loc[("random", 2), "frac_opt"]) and df.loc[("random", 2), "ref_status"] == ""


def test_python_api_returns_the_table():
    import optkit

    df = optkit.benchmark("allocate", "tiny", methods="random", seeds="0-1")
    assert isinstance(df, pd.DataFrame) and len(df) == 2 and set(df["method"]) == {"random"}


def test_progress_reports_done_failures_and_eta():
    import io

    stream = io.StringIO()
    progress = bench.Progress(total=4, already=1, stream=stream)
    progress.update({"status": "feasible", "method": "random", "seed": 0})
    progress.update({"status": "error", "method": "random", "seed": 1})
    progress.update({"status": "feasible", "method": "random", "seed": 2})
    last = stream.getvalue().strip().splitlines()[-1]
    assert "4/4 cells" in last and "1 failed" in last and "ETA" in last


@pytest.mark.slow
def test_two_local_processes_give_the_same_rows(tmp_path):
    one = run_sweep(random_sweep("0-3"), tmp_path / "one", progress=False)
    two = run_sweep(random_sweep("0-3"), tmp_path / "two", jobs=2, progress=False)
    assert comparable(one).equals(comparable(two))


@pytest.mark.slow
def test_dask_executor_on_a_loopback_cluster_gives_the_same_rows(tmp_path):
    distributed = pytest.importorskip("distributed")
    local = run_sweep(random_sweep(), tmp_path / "local", progress=False)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster:
        assert cluster.scheduler_address.startswith("tcp://127.0.0.1:")
        remote = run_sweep(random_sweep(), tmp_path / "dask", executor="dask", scheduler=cluster.scheduler_address,
                           progress=False)
    assert comparable(local).equals(comparable(remote))


@pytest.mark.slow
def test_every_method_through_runner_and_report(tmp_path):
    """End to end: all registered allocate methods (learners at the `check` budget) on one tiny instance, then the
    report; every cell finishes without error and the learners report their training time."""
    from optkit import registry
    from optkit.report import write_report

    methods = ",".join(m.id for m in registry.methods("allocate"))
    sweep = make_sweep("allocate", ["tiny"], methods, "2", budget="check", time_limit=10)
    df = run_sweep(sweep, tmp_path / "run", jobs=2, progress=False)
    assert len(df) == len(registry.methods("allocate"))
    assert not (df["status"] == "error").any(), df[df["status"] == "error"][["method", "message"]].to_string()
    learners = df[df["method"].isin([m.id for m in registry.methods("allocate") if m.kind == "learner"])]
    assert len(learners) >= 2 and (learners["train_s"] > 0).all()
    assert (df["viol_collision"] == 0).all()
    ref = df[df["method"] == "allocate"].iloc[0]
    assert ref["status"] in ("optimal", "time_limit")
    report = write_report(tmp_path / "run")
    assert "perfect" in report.read_text()
    assert list((tmp_path / "run" / "curves").glob("perfect__*.csv"))


@pytest.mark.parametrize("kwargs,message", [
    ({"scenarios": ["tiny", "tiny"]}, "--scenario: tiny listed more than once"),
    ({"scenarios": []}, "--scenario: give at least one preset id"),
    ({"methods": "random,random"}, "--methods: random listed more than once"),
    ({"scenarios": ["sweep-requests"], "points": ["7", "bogus"]}, "points: bogus is not a sweep point"),
    ({"points": ["7"]}, "points: 7 is not a sweep point of tiny"),
    ({"configs": [{"label": "t", "time_limit": 5}]}, "configs: time_limit is set by the runner"),
])
def test_sweep_definition_errors(kwargs, message):
    args = {"scenarios": ["tiny"], "methods": "random", **kwargs}
    with pytest.raises(InputError, match=message):
        make_sweep("allocate", args.pop("scenarios"), args.pop("methods"), "0", **args)


def test_unknown_budget_override_in_an_experiment_is_refused(monkeypatch):
    from optkit import experiments

    table = {"scenarios": ["tiny"], "methods": ["random"], "budget": {"quick": {"seed": "0"}}}
    monkeypatch.setattr(experiments, "_tables", lambda: {"allocate-x": ("allocate", table)})
    with pytest.raises(InputError, match=r"unknown field\(s\) budget.quick.seed"):
        experiments.load_experiment("allocate-x", "quick")
    table["budget"] = {"huge": {"seeds": "0"}}
    with pytest.raises(InputError, match="budget.huge"):
        experiments.load_experiment("allocate-x", "quick")


def test_resume_from_an_unreadable_manifest_exits_2(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "manifest.json").write_text('{"sweep": {"family": "allocate"}}')
    result = invoke("bench", "--resume", "--out", out)
    assert result.exit_code == 2 and "--resume:" in result.stderr and "not a manifest" in result.stderr


def test_a_second_runner_on_the_same_directory_is_refused(tmp_path):
    import fcntl

    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(InputError, match="another `optkit bench` is writing"):
            run_sweep(random_sweep("0"), out, progress=False)
    assert not (out / "rows.jsonl").exists()


def test_reference_is_matched_by_configuration_when_it_takes_the_configurations():
    rows = [_row("allocate", 0, 2.0, 0.02, status="optimal", bound=2.0, gap=0.0),
            _row("allocate", 0, 1.0, 0.01, status="optimal", bound=1.0, gap=0.0),
            _row("random", 0, 0.5, 0.005)]
    rows[0]["config"], rows[1]["config"], rows[2]["config"] = "a", "b", "b"
    df = results_frame(rows, "allocate").set_index(["method", "config"])
    assert df.loc[("random", "b"), "frac_opt_of"] == pytest.approx(0.5)
    assert df.loc[("allocate", "a"), "frac_opt_of"] == pytest.approx(1.0)


# ---------------------------------------------------------------- interruptions lose nothing and leave nothing


def test_a_damaged_line_anywhere_is_reported_and_its_cell_runs_again(tmp_path, capsys):
    out = tmp_path / "run"
    run_sweep(random_sweep(), out, progress=False)
    lines = (out / "rows.jsonl").read_text().splitlines(keepends=True)
    lines[1] = "{not json at all\n"                                          # damage in the middle
    (out / "rows.jsonl").write_text("".join(lines))
    problems = []
    assert len(read_rows(out, problems)) == 2
    assert problems == ["rows.jsonl line 2 is not a complete row; its cell runs again on resume"]
    df = run_sweep(random_sweep(), out, progress=False)
    assert "rows.jsonl line 2 is not a complete row" in capsys.readouterr().err
    assert len(df) == 3 and len(read_rows(out)) == 3
    keys = [bench.Cell(**{c: r[c] for c in ID_COLUMNS}).key for r in read_rows(out)]
    assert len(set(keys)) == 3


def test_results_files_follow_the_umask(tmp_path):
    previous = os.umask(0o022)
    try:
        out = tmp_path / "run"
        run_sweep(random_sweep(), out, progress=False)
    finally:
        os.umask(previous)
    for name in ("manifest.json", "rows.jsonl", "results.parquet", "results.csv"):
        assert (out / name).stat().st_mode & 0o777 == 0o644, name


def _children(pid: int) -> set[int]:
    """The pool workers among the child processes of `pid` (Linux /proc; not multiprocessing's resource tracker)."""
    found = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        text = (task / "children").read_text() if (task / "children").exists() else ""
        found |= {int(c) for c in text.split()}
    return {c for c in found if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] if Path(f"/proc/{pid}").exists() else "X"
    return state not in ("Z", "X")


def _start_bench(out: Path, jobs: int):
    command = [sys.executable, "-m", "optkit.cli", "bench", "-f", "allocate", "-s", "tiny", "-m", "sca",
               "--seeds", "0-11", "--out", str(out), "--no-progress", "-j", str(jobs)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and len(read_rows(out)) < 1 and proc.poll() is None:
        time.sleep(0.05)
    return command, proc


def _resume_and_check(command, out: Path, done_before: list) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    rows = read_rows(out)
    keys = [bench.Cell(**{c: r[c] for c in ID_COLUMNS}).key for r in rows]
    assert len(keys) == len(set(keys)) == 12
    assert rows[:len(done_before)] == done_before


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from Linux /proc")
def test_sigterm_keeps_rows_stops_workers_and_exits_143(tmp_path):
    out = tmp_path / "run"
    command, proc = _start_bench(out, jobs=2)
    workers = _children(proc.pid)
    assert workers, "the pool's worker processes"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated (SIGTERM)" in err and "--resume" in err
    assert (out / "results.parquet").is_file()                      # the tables were written on the way out
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "worker processes outlived the run"
    _resume_and_check(command, out, read_rows(out))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from Linux /proc")
def test_sigkill_of_the_main_process_leaves_no_worker_behind(tmp_path):
    out = tmp_path / "run"
    command, proc = _start_bench(out, jobs=2)
    workers = _children(proc.pid)
    proc.kill()
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers), "worker processes outlived their killed parent"
    _resume_and_check(command, out, read_rows(out))


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads child processes from Linux /proc")
def test_a_killed_worker_ends_the_run_cleanly_and_resume_completes_it(tmp_path):
    out = tmp_path / "run"
    command, proc = _start_bench(out, jobs=2)
    workers = sorted(_children(proc.pid))
    os.kill(workers[-1], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1 and "a worker process died" in err and "Traceback" not in err
    _resume_and_check(command, out, read_rows(out))
