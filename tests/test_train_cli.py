"""`optkit train`: trains a learner once, caches its checkpoint, copies it on request; bad input exits 2."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from optkit.cli import app


def invoke(*args):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)
    return result


def test_train_caches_and_copies_the_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTKIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "perfect.pt"
    first = invoke("train", "-f", "allocate", "-m", "perfect", "-s", "tiny", "--budget", "check", "-o", out)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["cache_hit"] is False and summary["episodes"] == 4 and summary["train_s"] > 0
    assert out.is_file() and out.with_suffix(".json").is_file()
    again = json.loads(invoke("train", "-f", "allocate", "-m", "perfect", "-s", "tiny", "--budget", "check").stdout)
    assert again["cache_hit"] is True and again["train_s"] == summary["train_s"]


def test_checkpoint_file_drives_the_method(tmp_path, monkeypatch):
    import optkit

    monkeypatch.setenv("OPTKIT_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "ck.pt"
    assert invoke("train", "-f", "allocate", "-m", "haddqn", "-s", "tiny", "--budget", "check", "-o", out).exit_code == 0
    inst = optkit.make_instance("allocate", "tiny", 3)
    solution = optkit.solve(inst, "haddqn", checkpoint=str(out))
    assert solution.info["cache_hit"] is True and solution.info["budget"] == "check"


def test_train_bad_input_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("OPTKIT_CACHE", str(tmp_path / "cache"))
    cases = [
        (["-m", "random"], "not a learner"),
        (["-m", "allocate"], "not a learner"),
        (["-m", "perfect", "--budget", "huge"], "--budget"),
        (["-m", "perfect", "-s", "nope"], "unknown scenario"),
        (["-m", "perfect", "-s", "sweep-requests"], "--point"),
        (["-m", "nope"], "unknown method"),
    ]
    for args, message in cases:
        result = invoke("train", "-f", "allocate", *args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error:") and message in result.stderr, (args, result.stderr)
    assert not (tmp_path / "cache").exists()
