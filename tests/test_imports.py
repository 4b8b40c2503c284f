"""The import rules of .importlinter hold (layers, heuristics vs learners, no family imports another).

The source tree maps folders into the namespace (./formulations is optkit.formulations, see
[tool.setuptools.package-dir]), so lint-imports cannot find the families by walking ./optkit. Each test
assembles the installed layout from the .py files into a temporary folder and runs lint-imports there,
in a subprocess whose PYTHONPATH points at that folder.
"""
from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter")

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"
# Used when pyproject.toml names no package-dir mapping.
DEFAULT_PACKAGE_DIR = {
    "optkit": "optkit",
    "optkit.formulations": "formulations",
    "optkit.heuristics": "heuristics",
    "optkit.learners": "learners",
    "optkit.datasets": "datasets",
}
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def _package_dir() -> dict[str, str]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return pyproject.get("tool", {}).get("setuptools", {}).get("package-dir") or DEFAULT_PACKAGE_DIR


def _assemble(dst: Path) -> int:
    """Copy every .py file of the mapped folders to dst/<import path>; return how many were copied."""
    copied = 0
    for package, folder in sorted(_package_dir().items(), key=lambda kv: kv[0].count(".")):
        src = ROOT / folder
        target = dst.joinpath(*package.split("."))
        for path in src.rglob("*.py"):
            rel = path.relative_to(src)
            if "__pycache__" in rel.parts or any(part.startswith(".") for part in rel.parts):
                continue
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, out)
            copied += 1
    return copied


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", "--no-logo", str(CONFIG)],
        cwd=tree, env=env, capture_output=True, text=True, timeout=120,
    )


def _families() -> list[str]:
    """A family is a sub-package of formulations/ (every family has one model); heuristics/ and learners/
    may also hold shared packages."""
    folder = ROOT / _package_dir()["optkit.formulations"]
    return sorted(p.parent.name for p in folder.glob("*/__init__.py"))


def test_import_contracts_hold(tmp_path):
    copied = _assemble(tmp_path)
    res = _lint(tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode == 0, f"lint-imports exit {res.returncode}:\n{out}"
    # The linter saw the assembled tree, not the editable install (which would hide the mapped folders).
    analyzed = re.search(r"Analyzed (\d+) files", out)
    assert analyzed and int(analyzed.group(1)) == copied, out


def test_a_broken_rule_fails(tmp_path):
    _assemble(tmp_path)
    pkg = tmp_path / "optkit"
    (pkg / "formulations" / "allocate" / "_lint_probe.py").write_text("import optkit.heuristics.allocate\n")
    (pkg / "heuristics" / "sagin" / "_lint_probe.py").write_text("import optkit.formulations.allocate\n")
    res = _lint(tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode != 0, out
    assert re.search(r"Formulations import no heuristic and no learner\s+BROKEN", out), out
    assert re.search(r"sagin imports no other family\s+BROKEN", out), out
    assert "optkit.formulations.allocate._lint_probe" in out, out


def test_every_family_has_its_contract():
    """Each family folder has a family-F contract that forbids exactly the other families."""
    config = configparser.ConfigParser()
    config.read(CONFIG)
    prefix = "importlinter:contract:family-"
    listed = {s[len(prefix):]: config[s] for s in config.sections() if s.startswith(prefix)}
    missing = sorted(set(_families()) - set(listed))
    assert not missing, f"families without a contract in .importlinter (see ADD A FAMILY HERE): {missing}"
    for family, section in listed.items():
        assert section["source_modules"].split() == [f"optkit.*.{family}"], family
        expected = {f"optkit.*.{other}" for other in listed if other != family}
        assert set(section["forbidden_modules"].split()) == expected, (
            f"family-{family} must forbid exactly the other families (see ADD A FAMILY HERE)")
