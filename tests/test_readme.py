"""The README's examples run: every command of its bash blocks and its Python API example (saved and run as a
script, as a user would).

Each command runs in a shell from a scratch directory (with `benchmarks/` linked in), exactly as written except for
the overrides listed in OVERRIDES: a flag's value replaced by the smallest one the command accepts (time limits,
training budgets, presets, seeds) so the whole file stays within about a minute and a half on 2 cores. Every
command of the README must have an entry there: a new README command without one fails
`test_every_readme_command_is_covered`. The environment set-up steps (venv, pip) and `python -m pytest` are the
CI's own command line, which `.ci/run` runs verbatim (checked here too).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SETUP_STEPS = ("python3 -m venv .venv", ". .venv/bin/activate", "pip install", "python -m pytest")

# README command -> flag overrides {flag: value} (a flag not in the command is appended); None: run as written.
OVERRIDES: dict[str, dict | None] = {
    "optkit solve --formulation allocate": {"--time-limit": "2"},
    "optkit list": None,
    "optkit solve -f allocate -s tiny --log": {"--time-limit": "2"},
    "optkit solve -f allocate -s small --time-limit 120": {"--time-limit": "2"},
    "optkit solve -f allocate -s tiny -m random --format json": {"--no-reference": ""},
    "optkit instance -f allocate -s paper-default --seed 3 -o inst.json": None,
    "optkit solve -f allocate --instance inst.json --time-limit 120 --export-model model.mps": {"--time-limit": "1"},
    "optkit solve -f allocate -s sweep-nodes --point 23 --time-limit 60": {"--time-limit": "1"},
    "python benchmarks/allocate_milp.py --time-limit 600 --jobs 2": {"--time-limit": "1", "--only": "small",
                                                                       "--quick": "", "--out": "milp"},
    "optkit bench -f allocate -s tiny -m allocate,sca,random --seeds 0-2 --out runs/tiny": {"--seeds": "0",
                                                                                            "--time-limit": "2"},
    "optkit report runs/tiny": None,
    "optkit bench --experiment allocate-sweep-requests --budget quick -j 2": {"--budget": "smoke",
                                                                              "--time-limit": "2"},
    "optkit train -f allocate -m perfect -s small --budget quick": {"-s": "tiny", "--budget": "check"},
    "python benchmarks/allocate_methods.py --scenario small --seeds 0-4 --jobs 2": {
        "--scenario": "tiny", "--seeds": "0", "--methods": "allocate,sca,random", "--time-limit": "2",
        "--out": "methods"},
    "optkit solve -f handover -s smoke": None,
    "optkit solve -f handover -m mrt": {"-s": "smoke"},
    "optkit solve -f handover -m offline-dp -O lam=1": {"-s": "smoke"},
    "optkit train -f handover -m dqn --budget paper": {"-s": "smoke", "--budget": "check"},
    "optkit bench --experiment leo-test --budget quick -j 2": {"--budget": "smoke", "--out": "runs/leo-test-quick"},
    "optkit report runs/leo-test-quick": None,
    "optkit solve -f p2-lattice -s ref-tiny": None,
    "optkit solve -f sagin -s ref-tiny -m p2l-milp": {"--time-limit": "5"},
    "optkit solve -f sagin -s ref-small -m graph": {"-s": "ref-tiny"},
    "optkit train -f sagin -m ddqn-csac -s paper-default --budget fast": {"-s": "ref-tiny", "--budget": "check"},
    "optkit bench --experiment sagin-reference --budget quick -j 2": {"--budget": "check",
                                                                      "--out": "runs/sagin-reference-quick"},
    "optkit report runs/sagin-reference-quick": None,
    "python benchmarks/sagin_methods.py --budget fast --seeds 0-2": {"--budget": "check", "--seeds": "0",
                                                                     "--scenario": "ref-tiny",
                                                                     "--methods": "sl,lattice-dp", "--out": "sagin"},
}
# Python example: literal replacements (the smallest preset, a short time limit)
PYTHON_OVERRIDES = (('"small"', '"tiny"'), ("time_limit=120", "time_limit=2"), ('seeds="0-2"', 'seeds="0"'),
                    ("jobs=2)", "jobs=2, time_limit=2)"))


def bash_blocks(text: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", text, flags=re.S)


def readme_commands() -> list[str]:
    """Every command of the README's bash blocks (comments stripped, `&&` chains split, set-up steps left out)."""
    commands = []
    for block in bash_blocks(README.read_text(encoding="utf-8")):
        for line in block.splitlines():
            line = re.split(r"\s#", line, maxsplit=1)[0].strip()
            for part in (p.strip() for p in line.split("&&")):
                if part and not part.startswith(SETUP_STEPS):
                    commands.append(part)
    return list(dict.fromkeys(commands))


def with_overrides(command: str, overrides: dict | None) -> list[str]:
    """The command's words with each overridden flag's value replaced (or the flag appended)."""
    words = shlex.split(command)
    for flag, value in (overrides or {}).items():
        if flag in words:
            i = words.index(flag)
            if value != "":
                words[i + 1] = value
        else:
            words += [flag] + ([value] if value != "" else [])
    return words


def run(words: list[str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONUNBUFFERED": "1"}
    env.pop("OPTKIT_DEBUG", None)
    proc = subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(words)} exited {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """One scratch directory for the whole README (later commands read what earlier ones wrote), with the
    repository's benchmarks/ linked in."""
    path = tmp_path_factory.mktemp("readme")
    (path / "benchmarks").symlink_to(ROOT / "benchmarks", target_is_directory=True)
    return path


# ----------------------------------------------------------------------------------------------- fast checks

def test_every_readme_command_is_covered():
    commands = readme_commands()
    assert len(commands) >= 25
    assert [c for c in commands if c not in OVERRIDES] == [], "README commands without an entry in OVERRIDES"
    assert [c for c in OVERRIDES if c not in commands] == [], "OVERRIDES entries no longer in the README"


def test_ci_runs_the_readme_test_command():
    blocks = bash_blocks(README.read_text(encoding="utf-8"))
    test_line = next(line for b in blocks for line in b.splitlines() if line.rstrip().endswith("python -m pytest"))
    assert test_line.strip() in (ROOT / ".ci" / "run").read_text().splitlines()


def test_python_example_has_its_spawn_guard():
    """optkit.benchmark(jobs=2) starts spawn workers that import the script again: the example guards its work."""
    code = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S).group(1)
    assert 'if __name__ == "__main__":' in code
    compile(code, "README.md", "exec")


# ----------------------------------------------------------------------------------------------- the commands

@pytest.mark.slow
@pytest.mark.parametrize("command", list(OVERRIDES))
def test_readme_command_runs(command, workdir):
    words = with_overrides(command, OVERRIDES[command])
    proc = run(words, workdir)
    out = proc.stdout
    if words[:2] == ["optkit", "solve"] and "--format" not in words:
        assert "status" in out or "result:" in out, out[-2000:]
    if "--format" in words:
        result = json.loads(out)
        assert result["method"] == "random" and result["status"] in ("feasible", "optimal")
    if "--export-model" in words:
        assert (workdir / "model.mps").stat().st_size > 0
    if words[:2] == ["optkit", "instance"]:
        assert json.loads((workdir / "inst.json").read_text())
    if words[:2] == ["optkit", "report"]:
        folder = workdir / words[2]
        assert (folder / "report.md").is_file() and (folder / "report.html").stat().st_size > 1_000_000


@pytest.mark.slow
def test_readme_python_example_runs_as_a_script(workdir):
    code = re.search(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S).group(1)
    for old, new in PYTHON_OVERRIDES:
        assert old in code, old
        code = code.replace(old, new)
    script = workdir / "example.py"
    script.write_text(code)
    proc = run([sys.executable, str(script)], workdir)
    assert "frac_opt" in proc.stdout or "acc_pct" in proc.stdout, proc.stdout
    assert proc.stdout.count("optimal") + proc.stdout.count("time_limit") >= 1
    assert (workdir / "runs" / "tiny-api" / "results.parquet").is_file()
