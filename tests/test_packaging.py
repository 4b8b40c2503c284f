"""Build the wheel offline, install it into a fresh virtual environment, and prove the installed package works.

The fresh venv gets no copies of the heavy dependencies: a `.pth` file appends this interpreter's site-packages
*after* the venv's own one (only the path, so the editable install's `__editable__` finder .pth is not run), and
the test asserts every optkit module resolves from the wheel's files inside the new venv.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
GENERIC_NAMES = ("formulations", "heuristics", "learners", "datasets")
PRESETS = {"small", "tiny", "paper-default", "paper-literal-energy", "sweep-nodes"}
LEO_DATA = {"_defaults", "_learners", "_experiments", "paper-default", "smoke", "offline-small", "sweep-reward-weights",
            "ext-sweep-nsat"}
BUILD_TIMEOUT = 180
# Every package of the source tree, found the way a reader would: each folder with an __init__.py under a folder
# that package-dir maps into the optkit namespace. The build must ship all of them without a hand-kept list.
SOURCE_PACKAGES = sorted(
    ".".join([name, *init.parent.relative_to(ROOT / folder).parts])
    for name, folder in PYPROJECT["tool"]["setuptools"]["package-dir"].items()
    for init in (ROOT / folder).rglob("__init__.py") if "__pycache__" not in init.parts)


def _env():
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "OPTKIT_DEBUG", "VIRTUAL_ENV"):
        env.pop(key, None)
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONNOUSERSITE="1")
    return env


def _run(cmd, cwd, timeout=BUILD_TIMEOUT):
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, f"{cmd} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


def _copy_source(dst: Path) -> None:
    """Only what the build needs (the package directories named in pyproject + metadata files), so the build
    never writes build/ or *.egg-info into the working tree that others are editing."""
    dst.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", dst)
    for name in ("README.md", "LICENSE", "MANIFEST.in", "setup.cfg", "setup.py"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, dst)
    dirs = {d.split("/")[0] for d in PYPROJECT["tool"]["setuptools"]["package-dir"].values()}
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*")
    for d in sorted(dirs):
        shutil.copytree(ROOT / d, dst / d, ignore=ignore)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    _copy_source(src)
    # --no-isolation: no network; -x: the declared build requirement 'wheel' is not installed here
    # (see test_build_requirements_are_installed) and setuptools >= 70.1 does not need it.
    _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "-x", "-o", base / "dist"], cwd=src)
    [whl] = list((base / "dist").glob("optkit-*.whl"))
    return whl


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """(venv python, venv bin dir, venv site-packages) with the wheel installed and the deps visible."""
    base = tmp_path_factory.mktemp("venv")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / ("python.exe" if os.name == "nt" else "python")
    # install BEFORE the deps become visible, so pip never sees (or touches) the editable optkit
    _run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--no-cache-dir", wheel], cwd=base)
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base)
                .stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "zz_optkit_test_deps.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
    return python, bindir, site, base

def test_build_requirements_are_installed():
    from importlib.metadata import PackageNotFoundError, version

    from packaging.requirements import Requirement

    for text in PYPROJECT["build-system"]["requires"]:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate():
            continue                                  # e.g. tomli on Python >= 3.11
        try:
            have = version(req.name)
        except PackageNotFoundError:
            pytest.fail(f"build requirement '{text}' is not installed")
        assert req.specifier.contains(have, prereleases=True), f"{req.name} {have} does not satisfy '{text}'"

def test_readme_exists():
    assert (ROOT / PYPROJECT["project"]["readme"]).is_file()


def test_wheel_contents(wheel):
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info"))
        top_level = zf.read(f"{dist_info}/top_level.txt").decode().split()
        record = zf.read(f"{dist_info}/RECORD").decode()
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    tops = {n.split("/")[0] for n in names}
    assert tops == {"optkit", dist_info}, f"unexpected top-level entries: {tops}"
    assert top_level == ["optkit"]
    for generic in GENERIC_NAMES:
        assert not any(line.startswith(f"{generic}/") for line in record.splitlines())
    for pkg in SOURCE_PACKAGES:
        assert f"{pkg.replace('.', '/')}/__init__.py" in names, pkg
    for sid in PRESETS | {"_defaults"}:
        assert f"optkit/datasets/allocate/{sid}.toml" in names
    for sid in LEO_DATA:
        assert f"optkit/datasets/leo-handover/{sid}.toml" in names
    assert "optkit = optkit.cli:main" in entry_points
    assert not any("/tests/" in n or n.startswith("tests/") for n in names)


PROBE = r"""
import importlib, importlib.util, json, pkgutil, sys
import optkit
mods = {}
for info in pkgutil.walk_packages(optkit.__path__, "optkit."):
    mods[info.name] = importlib.import_module(info.name).__file__
for name in ("optkit.formulations", "optkit.formulations.allocate", "optkit.heuristics", "optkit.heuristics.allocate",
             "optkit.learners", "optkit.datasets"):
    mods[name] = importlib.import_module(name).__file__
from optkit.scenarios import scenario_ids, load_scenario
inst = optkit.make_instance("allocate", "tiny", 1)
sol = optkit.solve(inst, "random")
json.dump({
    "optkit": optkit.__file__,
    "modules": mods,
    "scenarios": scenario_ids("allocate"),
    "sweep": [p.label for p in load_scenario("allocate", "sweep-nodes").points],
    "generic": {n: importlib.util.find_spec(n) is not None for n in %r},
    "editable_finder": [type(f).__name__ for f in sys.meta_path if "editable" in repr(f).lower()],
    "accepted": optkit.evaluate(inst, sol).metrics["accepted"],
}, sys.stdout)
""" % (GENERIC_NAMES,)


def test_installed_wheel_imports_from_the_venv(installed):
    python, _bindir, site, base = installed
    neutral = base / "neutral"
    neutral.mkdir(exist_ok=True)
    out = json.loads(_run([python, "-c", PROBE], cwd=neutral).stdout)
    site = site.resolve()

    def inside(path):
        return Path(path).resolve().is_relative_to(site)

    assert inside(out["optkit"]), out["optkit"]
    expected = {"optkit.cli", "optkit.api", "optkit.registry", "optkit.solver", "optkit.scenarios",
                "optkit.formulations.allocate.api", "optkit.formulations.allocate.milp",
                "optkit.formulations.allocate.physics", "optkit.formulations.allocate.evaluator",
                "optkit.heuristics.allocate.random_baseline", "optkit.learners", "optkit.datasets",
                "optkit.formulations.leo_handover.api", "optkit.heuristics.leo_handover.policies",
                "optkit.learners.leo_handover.tabular", "optkit.learners.leo_handover.dqn", "optkit.envs"}
    assert expected <= set(out["modules"])
    outside = {name: path for name, path in out["modules"].items() if not inside(path)}
    assert not outside, f"modules not loaded from the wheel: {outside}"
    assert PRESETS <= set(out["scenarios"])
    assert out["sweep"] == ["6", "10", "14", "18", "23"]
    assert out["generic"] == {n: False for n in GENERIC_NAMES}, out["generic"]
    assert out["editable_finder"] == []
    assert out["accepted"] >= 0


def test_installed_console_script(installed):
    _python, bindir, _site, base = installed
    script = bindir / ("optkit.exe" if os.name == "nt" else "optkit")
    assert script.is_file()
    res = _run([script, "list"], cwd=base, timeout=60)
    assert "family allocate" in res.stdout and "random" in res.stdout and "sweep-nodes" in res.stdout
    res = _run([script, "solve", "-f", "allocate", "-s", "tiny", "-m", "random", "--no-reference", "--format",
                "json"], cwd=base, timeout=120)
    assert json.loads(res.stdout)["status"] == "feasible"
    bad = subprocess.run([str(script), "solve", "-f", "allocate", "-s", "nosuch"], cwd=base, env=_env(),
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ")
