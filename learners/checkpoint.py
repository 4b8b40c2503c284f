"""Checkpoints and the checkpoint cache.

A checkpoint is two files: `<stem>.pt` (torch.save of a dict of state dicts / tensors, loaded back with
`torch.load(weights_only=True)`) and `<stem>.json` (metadata: config, training time, curve, ...).
The cache lives in $OPTKIT_CACHE (or ~/.cache/optkit/checkpoints) and is keyed by the sha256 of
(family, preset, method, resolved config, seed, code version), the code version being optkit.__version__
plus a hash of the learner's source files, so any change of code, config or seed trains anew.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch

import optkit


def cache_dir() -> Path:
    """$OPTKIT_CACHE if set, else ~/.cache/optkit/checkpoints."""
    env = os.environ.get("OPTKIT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "optkit" / "checkpoints"


def code_version(source_files) -> str:
    """optkit.__version__ + '+' + the first 16 hex digits of the sha256 of the given files' bytes (in order)."""
    digest = hashlib.sha256()
    for path in source_files:
        digest.update(Path(path).name.encode())
        digest.update(Path(path).read_bytes())
    return f"{optkit.__version__}+{digest.hexdigest()[:16]}"


def cache_key(family: str, preset: str, method: str, config: dict, seed: int, version: str) -> str:
    """sha256 hex of the canonical JSON of everything that determines a trained model."""
    payload = json.dumps({"family": family, "preset": preset, "method": method, "config": config,
                          "seed": int(seed), "code_version": version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def cache_path(family: str, method: str, key: str) -> Path:
    """Stem (without suffix) of a cached checkpoint: <cache>/<family>/<method>/<key>."""
    return cache_dir() / family / method / key


def save_checkpoint(stem, states: dict, metadata: dict) -> Path:
    """Write <stem>.pt (states: name -> state dict or tensor) and <stem>.json atomically; returns the .pt path.
    The JSON is written last, so a checkpoint whose .json exists is complete."""
    weights, meta = checkpoint_files(stem)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tmp = weights.with_name(weights.name + f".tmp{os.getpid()}")
    torch.save(states, tmp)
    os.replace(tmp, weights)
    tmp = meta.with_name(meta.name + f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(metadata, indent=1, sort_keys=True))
    os.replace(tmp, meta)
    return weights


def load_checkpoint(path) -> tuple[dict, dict]:
    """(states, metadata) of a checkpoint given its .pt path or its stem."""
    weights, meta = checkpoint_files(path)
    states = torch.load(weights, weights_only=True, map_location="cpu")     # a GPU-trained model loads anywhere
    metadata = json.loads(meta.read_text())
    return states, metadata


def exists(path) -> bool:
    """A complete checkpoint (both files) is stored at this .pt path or stem."""
    weights, meta = checkpoint_files(path)
    return weights.is_file() and meta.is_file()


def checkpoint_files(path) -> tuple[Path, Path]:
    """(<stem>.pt, <stem>.json) for a .pt path or a stem."""
    stem = str(path).removesuffix(".pt")
    return Path(stem + ".pt"), Path(stem + ".json")
