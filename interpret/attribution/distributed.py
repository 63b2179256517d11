"""Attributions into a resumable ``attributions.h5``, shard by shard, in this process or on Dask.

The explained sequences are cut into fixed shards of ``shard_size`` rows; a shard is one unit of
work and one commit to an :class:`interpret.io.AttributionStore`. Shards an interrupted run
already committed are checked against the input (CRC-32 of their rows) and skipped, so a resumed
run computes only the rest and writes the same file, bit for bit, as a run that never stopped.

On a Dask cluster (``scheduler`` or ``workers``) each worker loads the model once (cached per
process by path) and computes whole shards; the client commits each shard as it arrives and keeps
only a few in flight, so its memory stays bounded. A worker that dies holding shards: the
scheduler runs them again on another worker, with the same result (a shard's numbers depend on
its rows alone). The scheduler gone: :class:`InputError` saying how many shards are saved, and
the file resumes. Without a cluster the same shard function runs in this process.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path

import numpy as np

from .. import io
from ..errors import InputError

logger = logging.getLogger(__name__)

_MODELS: dict = {}


def _model(path: str, custom_objects: str | None = None):
    # One load per worker process: tasks on the same worker share the model.
    if (path, custom_objects) not in _MODELS:
        _MODELS[path, custom_objects] = io.load_model(path, custom_objects=custom_objects)
    return _MODELS[path, custom_objects]


def attribute_shard(model_path: str, x: np.ndarray, methods: tuple, target: int, output: str,
                    n_references: int, seed: int, batch_size: int, model=None,
                    custom_objects: str | None = None) -> dict:
    """Attributions of one shard.

    Parameters
    ----------
    model_path : str
        Loaded once per process (ignored when ``model`` is given).
    x : ndarray, shape (n, L, 4)
    methods : tuple of str
        Names in :data:`interpret.attribution.METHODS`.
    custom_objects : str, optional
        Python file with the model's custom layers (see :func:`interpret.io.load_model`).

    Returns
    -------
    dict
        ``{method: {"contrib", "hypothetical" (n, L, 4), "score" (n,), "delta" (n,) or None,
        "seconds"}}``.
    """
    from .methods import METHODS

    model = model if model is not None else _model(model_path, custom_objects)
    # One method object per model and settings, so its compiled functions are traced once.
    cache = model.__dict__.setdefault("_shard_methods", {})
    out = {}
    for name in methods:
        key = (name, target, output, batch_size)
        if key not in cache:
            cache[key] = METHODS[name](model, target=target, output=output, batch_size=batch_size)
        method = cache[key]
        kw = {"seed": seed, "n_references": n_references} if method.has_references else {}
        t = time.perf_counter()
        res = method.attribute(x, **kw)
        out[name] = {"contrib": res.contrib, "hypothetical": res.hypothetical, "score": res.score,
                     "delta": res.delta, "seconds": time.perf_counter() - t}
    return out


def store_attrs(model, methods, target: int, output: str, n_references: int, seed: int, batch_size: int) -> dict:
    """File attributes of an attributions store: what is explained and every setting the numbers
    depend on (with the model's weights and the package version), so a resume can check them."""
    from .. import __version__

    params = {"methods": list(methods), "target": int(target), "output": output, "n_references": int(n_references),
              "seed": int(seed), "batch_size": int(batch_size), "model": model.fingerprint(), "interpret": __version__}
    return {"explained": model.explained(target, output), "target": int(target),
            "params": json.dumps(params, sort_keys=True)}


def attribute_into(store, model, x, rows=None, methods=("gradxinput", "deepshap"), target: int = 0,
                   output: str = "logit", n_references: int = 20, seed: int = 0, batch_size: int = 128,
                   model_path=None, scheduler: str | None = None, workers: int | None = None,
                   verbose: bool = False, custom_objects: str | None = None) -> dict:
    """Compute and commit every shard of ``store`` not committed yet.

    Parameters
    ----------
    store : interpret.io.AttributionStore
    model : Model
        The loaded model (used in this process).
    x : ndarray or interpret.io.RowReader, shape (N, L, 4)
    rows : ndarray, shape (n,), optional
        Rows of ``x`` in the store's order (``n`` = the store's rows); default all of ``x``.
    model_path : str, optional
        Path every Dask worker loads the model from (required with ``scheduler``/``workers``).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).
    workers : int, optional
        Start a local Dask cluster with this many single-threaded workers.
    custom_objects : str, optional
        Python file with the model's custom layers; Dask workers import it before loading the model.

    Returns
    -------
    dict
        ``{method: seconds}`` spent computing in this call.

    Raises
    ------
    InputError
        A saved shard was computed from other sequences; the scheduler was lost; a shard kept
        killing workers.
    """
    from tqdm.auto import tqdm

    def shard_x(k):
        a, b = store.rows(k)
        return x[a:b] if rows is None else x[np.asarray(rows[a:b])]

    for k in np.flatnonzero(store.done):
        if io.AttributionStore.input_crc(shard_x(int(k))) != int(store.crc[k]):
            a, b = store.rows(int(k))
            raise InputError(f"{store.path}: saved shard {k} (rows {a}-{b - 1}) was computed from other sequences; "
                             "give the same data and options, or pass --force to start over.")
    todo = store.missing()
    if store.n_done:
        logger.info("%d of %d shards were saved by an interrupted run; computing the other %d", store.n_done,
                    store.n_shards, len(todo))
    seconds = dict.fromkeys(methods, 0.0)
    args = (tuple(methods), target, output, n_references, seed, batch_size)
    done_rows = sum(b - a for a, b in map(store.rows, np.flatnonzero(store.done)))
    bar = tqdm(total=store.n, initial=done_rows, desc="attributions", unit="seq", disable=not verbose)

    def commit(k, xs, res):
        store.commit(k, xs, res)
        for m in methods:
            seconds[m] += res[m]["seconds"]
        bar.update(len(xs))

    try:
        if todo and (scheduler or workers):
            objects = str(Path(custom_objects).resolve()) if custom_objects else None
            _run_dask(str(Path(model_path).resolve()), shard_x, todo, args, commit, store, scheduler, workers, objects)
        else:
            for k in todo:
                xs = shard_x(k)
                commit(k, xs, attribute_shard(None, xs, *args, model=model))
    finally:
        bar.close()
    return seconds


def attribute_to_file(model_path, model, x, index: np.ndarray, out, methods=("gradxinput", "deepshap"),
                      target: int = 0, output: str = "logit", n_references: int = 20, seed: int = 0,
                      batch_size: int = 128, shard_size: int = 2048, scheduler: str | None = None,
                      workers: int | None = None, force: bool = False, resume: bool = False,
                      verbose: bool = False, custom_objects: str | None = None) -> Path:
    """Compute attributions of ``x[index]`` into ``out`` (an attributions.h5), sharded and resumable.

    The file is written as ``.<out>.partial`` beside ``out`` and renamed when every shard is in.
    If the run stops (error, Ctrl-C, kill, lost scheduler, full disk) the partial file keeps the
    finished shards, and the same call with ``resume=True`` completes it.

    Parameters
    ----------
    model_path : str
        Path workers load the model from (must be readable by every worker).
    model : Model
        The already loaded model (used in-process).
    x : ndarray or interpret.io.RowReader, shape (N, L, 4)
        Read shard by shard, so a memory-mapped source stays on disk.
    index : ndarray, shape (n,)
        Rows of ``x`` to explain.
    shard_size : int
        Rows per shard (one Dask task, one commit).
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).
    workers : int, optional
        Start a local Dask cluster with this many single-threaded workers.
    force : bool
        Replace ``out`` if interpret wrote it (:func:`interpret.io.check_replaceable`), and discard
        an unfinished one unless ``resume``.
    resume : bool
        Continue the unfinished ``out`` if there is one.
    custom_objects : str, optional
        Python file with the model's custom layers; workers import it before loading the model.
    """
    out = Path(out)
    check_cluster(scheduler, workers)
    if resume and not force and io.finished(out, "file"):
        logger.info("%s is already complete, nothing to do", out)
        return out
    io.check_replaceable(out, force, inputs=(model_path, custom_objects), kind="file")
    if isinstance(shard_size, bool) or not isinstance(shard_size, (int, np.integer)) or shard_size < 1:
        raise InputError(f"--shard-size must be an integer of at least 1, not {shard_size!r}.")
    methods = tuple(methods)
    from .methods import METHODS

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}.")
    partial = io.partial_path(out)
    if partial.exists():
        io.check_unlocked(partial, out)
    if partial.exists() and not (resume or force):
        raise InputError(f"an unfinished {out} is kept in {partial}; pass --resume to continue it or --force to "
                         "start over.")
    index = np.asarray(index, dtype=np.int64)
    attrs = store_attrs(model, methods, target, output, n_references, seed, batch_size)
    store = io.AttributionStore.open(partial, index, x.shape[1], methods, attrs, shard_size, resume=resume)
    try:
        attribute_into(store, model, x, index, methods, target, output, n_references, seed, batch_size,
                       model_path, scheduler, workers, verbose, custom_objects)
    except BaseException:
        store.close()
        if store.n_done == 0:
            partial.unlink(missing_ok=True)
        raise
    store.close()
    os.replace(partial, out)
    return out


def check_cluster(scheduler: str | None, workers: int | None) -> None:
    """:class:`InputError` unless ``workers`` (a local cluster's size) is a positive integer or None,
    and at most one of ``scheduler`` and ``workers`` is given."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
                                or workers < 1):
        raise InputError(f"--workers must be an integer of at least 1, not {workers!r}.")
    if scheduler and workers is not None:
        raise InputError("--scheduler and --workers both given: use a running cluster (--scheduler) or start a "
                         "local one (--workers), not both.")


def dask_setup(worker) -> None:
    """Preload of the local Dask workers :func:`attribute_to_file` starts (``distributed`` calls it in
    each worker process): they print nothing, neither TensorFlow's banner nor distributed's logs
    (the client reports what matters in one line), and leave Ctrl-C to the client, which closes
    them; a terminal's Ctrl-C reaches every process of its group."""
    import signal
    import threading

    from ..model import quiet_tensorflow

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    quiet_tensorflow()


def _run_dask(model_path, shard_x, todo, args, commit, store, scheduler, workers, custom_objects) -> None:
    from concurrent.futures import CancelledError

    from dask.distributed import Client, LocalCluster, as_completed
    from distributed.comm.core import CommClosedError
    from distributed.scheduler import KilledWorker

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address.") from exc
        cluster = None
    else:
        # Quiet workers (dask_setup) unless the run logs at debug level.
        quiet = [] if logger.isEnabledFor(logging.DEBUG) else [__name__]
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               preload=quiet)
        client = Client(cluster)
    where = f" at {scheduler}" if scheduler else ""
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
        in_flight = 2 * n_workers  # bounded: at most this many shards' inputs and results held at once
        token = uuid.uuid4().hex[:8]
        queue = iter(todo)
        pending = {}
        running = as_completed()

        def submit():
            k = next(queue, None)
            if k is not None:
                xs = shard_x(k)
                # The rows travel inside the task, so the scheduler can rerun it on another worker.
                fut = client.submit(attribute_shard, model_path, xs, *args, custom_objects=custom_objects, pure=False,
                                    key=f"interpret-shard-{k}-{token}")
                pending[fut.key] = (k, xs)
                running.add(fut)

        for _ in range(in_flight):
            submit()
        for fut in running:
            k, xs = pending.pop(fut.key)
            try:
                res = fut.result()
            except KilledWorker as exc:
                a, b = store.rows(k)
                raise InputError(f"shard {k} (rows {a}-{b - 1}) ended every Dask worker that ran it (out of memory?); "
                                 "lower --batch-size or --shard-size and rerun with --resume.") from exc
            commit(k, xs, res)
            fut.release()
            submit()
    except (CancelledError, CommClosedError) as exc:
        raise InputError(f"lost the Dask scheduler{where} ({type(exc).__name__}); {store.n_done} of {store.n_shards} "
                         f"shards are saved in {store.path}: restart the cluster and rerun with --resume.") from exc
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
