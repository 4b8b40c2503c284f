"""Seed streams: every random quantity comes from a named `SeedSequence` spawn key of the instance seed."""
from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, *key: int) -> np.random.Generator:
    """Independent PCG64 generator for `SeedSequence(entropy=seed, spawn_key=key)`."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy=int(seed), spawn_key=tuple(int(k) for k in key))))


def method_key(method_id: str) -> int:
    """crc32 of a method id: the second element of its method stream key (100, crc32(id))."""
    return zlib.crc32(method_id.encode("utf-8"))


def method_stream(seed: int, method_id: str, method_seed: int = 0) -> np.random.Generator:
    """Method-internal randomness (exploration, tie-breaks) on instance `seed`:
    stream (100, crc32(method_id), method_seed), so several method seeds per instance stay independent."""
    return stream(seed, 100, method_key(method_id), method_seed)
