"""A family added from outside the optkit tree (tests/toy_plugin: one folder per layer plus presets, registered by
the `optkit.plugins` entry points of its dist-info) appears in `optkit list`, runs through solve, bench and report,
and passes the whole contract suite, with no edit to optkit itself."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from optkit import registry
from optkit.checks import FAMILY_CHECKS, METHOD_CHECKS, check_family, check_method

PLUGIN_ROOT = Path(__file__).resolve().parent / "toy_plugin"
FAMILY = "toy-knapsack"


@pytest.fixture
def toy_registry(monkeypatch):
    """The registry as discovery fills it with the toy plugin on the path (restored afterwards)."""
    monkeypatch.syspath_prepend(str(PLUGIN_ROOT))
    monkeypatch.setattr(registry, "_FAMILIES", {})
    monkeypatch.setattr(registry, "_ALIASES", {})
    monkeypatch.setattr(registry, "_METHODS", {})
    monkeypatch.setattr(registry, "_loaded", False)
    registry.load_plugins()
    return registry


def _optkit(*args, cwd=None, timeout=300):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PLUGIN_ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-m", "optkit.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=timeout)


def test_discovery_registers_the_plugin_family_and_its_methods(toy_registry):
    fam = toy_registry.get_family("knapsack")
    assert fam.id == FAMILY and toy_registry.plugin_modules()[-2:] == ["toy_optkit.formulation",
                                                                      "toy_optkit.heuristics"]
    assert [m.id for m in toy_registry.methods(FAMILY)] == ["greedy", "random", "toy-dp"]
    assert {f.id for f in toy_registry.families()} >= {"allocate", "sagin", "leo-handover", FAMILY}


def test_the_plugin_family_passes_the_whole_contract_suite(toy_registry):
    assert check_family(FAMILY) == [name for name, _ in FAMILY_CHECKS]
    for method in ("toy-dp", "greedy", "random"):
        assert check_method(FAMILY, method) == [name for name, _ in METHOD_CHECKS]


def test_without_the_plugin_the_family_is_unknown():
    assert FAMILY not in {f.id for f in registry.families()}


@pytest.mark.slow
def test_the_plugin_family_through_list_solve_bench_and_report(tmp_path):
    listed = _optkit("list", "-f", "knapsack")
    assert listed.returncode == 0, listed.stderr
    assert "family toy-knapsack (aliases: knapsack)" in listed.stdout and "toy-dp" in listed.stdout
    options = _optkit("list", "-f", FAMILY, "-m", "toy-dp")
    assert options.returncode == 0 and "scale" in options.stdout and "an integer >= 1 and <= 100" in options.stdout

    solved = _optkit("solve", "-f", FAMILY, "-s", "tiny", "--seed", "3", "--format", "json")
    assert solved.returncode == 0, solved.stderr
    result = json.loads(solved.stdout)
    assert result["method"] == "toy-dp" and result["status"] == "optimal"
    assert result["objective"] == pytest.approx(result["bound"])
    assert "time limit 30 s" in solved.stderr               # the family's exact_time_limit
    bad = _optkit("solve", "-f", FAMILY, "-s", "tiny", "-O", "scale=0")
    assert bad.returncode == 2 and "scale: must be an integer >= 1 and <= 100" in bad.stderr

    out = tmp_path / "run"
    bench = _optkit("bench", "-f", FAMILY, "-s", "tiny,sweep-items", "--seeds", "0-2", "--no-progress", "-o", out)
    assert bench.returncode == 0, bench.stderr
    import pandas as pd

    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 3 * 3 * 3 and set(df["status"]) <= {"optimal", "feasible"}
    exact = df[df["method"] == "toy-dp"]
    assert (exact["frac_opt"] == 1.0).all()
    assert (df["frac_opt"] <= 1.0 + 1e-12).all()
    report = _optkit("report", out)
    assert report.returncode == 0, report.stderr
    text = (out / "report.md").read_text()
    assert "toy-knapsack" in text and "greedy" in text and "total value" in text


def test_the_core_names_no_family():
    """optkit/ (the core) knows families only through discovery: no family id, package name or alias appears in it."""
    import re

    names = set()
    for fam in registry.families():
        names |= {fam.id, fam.id.replace("-", "_"), *(a for a in fam.aliases if len(a) > 3)}
    pattern = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names))) + r")\b", re.IGNORECASE)
    core = Path(registry.__file__).resolve().parent
    found = [f"{path.relative_to(core)}:{number}: {line.strip()}"
             for path in sorted(core.rglob("*.py")) for number, line in enumerate(path.read_text().splitlines(), 1)
             if pattern.search(line)]
    assert not found, "\n".join(found)
