"""Executors of a sweep's cells: in this process or a local process pool ("local"), or a Dask cluster ("dask")."""
from __future__ import annotations

import os
import threading
import time

from optkit.bench.cell import _limit_threads, run_cell
from optkit.errors import InputError

EXECUTORS = ("local", "dask")
PARENT_POLL_S = 0.5


def _worker_init(parent_pid: int) -> None:
    """Start of a pool worker: one thread for solvers and torch, and a watchdog that ends the worker as soon as
    its parent is gone (killed, even with SIGKILL), so no worker outlives the run."""
    _limit_threads()

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="optkit-parent-watchdog", daemon=True).start()


def _run_local(tasks, jobs: int, on_result) -> None:
    """Run the tasks here (jobs 1) or in `jobs` fresh processes; `on_result` gets each result as it finishes."""
    if jobs == 1:
        _limit_threads()
        for task in tasks:
            on_result(run_cell(*task))
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    context = multiprocessing.get_context("spawn")   # fresh interpreters: no inherited solver/torch threads
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init,
                               initargs=(os.getpid(),))
    pending = {pool.submit(run_cell, *task) for task in tasks}
    try:
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in finished:
                on_result(future.result())
    except BaseException:
        # Interrupted (Ctrl-C, SIGTERM) or a worker died: stop the cells in flight now instead of waiting for
        # them; the rows already written stay, and a resume runs the rest.
        for process in list(pool._processes.values()):     # the pool's worker processes (no public accessor)
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _run_dask(tasks, jobs: int, scheduler: str | None, on_result) -> None:
    """Run the tasks on the Dask scheduler at `scheduler`, or on a local cluster of `jobs` one-thread workers."""
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError("--executor dask: needs the 'distributed' package (pip install 'optkit[dask]')") from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"--scheduler: cannot reach '{scheduler}' ({exc})") from None
    else:
        cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None)
        client = Client(cluster)
    try:
        futures = [client.submit(run_cell, *task, pure=False) for task in tasks]
        for future in as_completed(futures):
            on_result(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def check_executor(executor: str, jobs: int, scheduler: str | None) -> None:
    """Refuse an unknown executor, a job count below 1 and a scheduler without Dask."""
    if executor not in EXECUTORS:
        raise InputError(f"--executor: '{executor}' is not one of {', '.join(EXECUTORS)}")
    if not isinstance(jobs, int) or jobs < 1:
        raise InputError("--jobs: must be an integer >= 1")
    if scheduler and executor != "dask":
        raise InputError("--scheduler: only with --executor dask")
