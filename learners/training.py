"""Training loop helper and determinism.

`run_episodes` calls `episode(e)` for e = 0..n-1, collects the learning curve (one dict per episode,
{"episode": e, "return": ..., ...}), calls an optional per-episode hook and prints a progress line with
the ETA on stderr every `progress_every` episodes. `deterministic(seed)` makes CPU training repeatable.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Callable

import torch


@contextlib.contextmanager
def single_thread():
    """One thread for torch and for numpy's BLAS (threadpoolctl): the networks here are far too small to gain from
    threads, and a multithreaded BLAS on tiny matrices is several times slower on a busy machine."""
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def deterministic(seed: int):
    """Seed torch, use one thread (torch and BLAS) and deterministic algorithms; restores the thread counts and the
    deterministic-algorithms flag on exit."""
    flag = torch.are_deterministic_algorithms_enabled()
    # cuBLAS refuses deterministic mode without a fixed workspace (RuntimeError on the first CUDA matmul)
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(int(seed))
    torch.use_deterministic_algorithms(True)
    try:
        with single_thread():
            yield
    finally:
        torch.use_deterministic_algorithms(flag)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s"


def run_episodes(n_episodes: int, episode: Callable[[int], dict], *, label: str = "train",
                 progress_every: int = 0, on_episode: Callable[[int, dict], None] | None = None,
                 stream=None) -> list[dict]:
    """Run `episode(e) -> dict` (e.g. {"return": float, ...}) n_episodes times; returns the curve
    [{"episode": e, **record}]. progress_every > 0 prints "label: episode e/n, return x, elapsed, ETA"
    to stderr (or `stream`) every that many episodes and after the last one."""
    stream = stream or sys.stderr
    curve = []
    start = time.perf_counter()
    for e in range(int(n_episodes)):
        record = {"episode": e, **episode(e)}
        curve.append(record)
        if on_episode is not None:
            on_episode(e, record)
        done = e + 1
        if progress_every > 0 and (done % progress_every == 0 or done == n_episodes):
            elapsed = time.perf_counter() - start
            eta = elapsed / done * (n_episodes - done)
            ret = record.get("return")
            ret_text = f", return {ret:.3f}" if isinstance(ret, (int, float)) else ""
            print(f"{label}: episode {done}/{n_episodes}{ret_text}, elapsed {_clock(elapsed)}, ETA {_clock(eta)}",
                  file=stream, flush=True)
    return curve
