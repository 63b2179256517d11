"""Attributions sharded over a Dask cluster (dask.distributed), or in this process.

The sequences are cut into fixed shards; each shard is one task. A worker loads the model once
(cached per process by path) and returns the shard's attributions; the client writes shards
to ``attributions.h5`` in order as they arrive, keeping only a few shards in flight so memory
stays bounded. Without a cluster the very same shard function runs in this process, so the
Dask path gives bitwise the same file as the single-process one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from . import io
from .errors import InputError

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
        ``{method: {"contrib", "hypothetical" (n, L, 4), "score" (n,), "delta" (n,) or None}}``.
    """
    from . import attribution

    model = model if model is not None else _model(model_path, custom_objects)
    out = {}
    for name in methods:
        cls = attribution.METHODS[name]
        method = cls(model, target=target, output=output, batch_size=batch_size)
        kw = {"seed": seed, "n_references": n_references} if cls.has_references else {}
        parts = [r for _, r in attribution.iter_attribute(method, x, chunk_size=len(x), **kw)]
        res = parts[0]
        out[name] = {"contrib": res.contrib, "hypothetical": res.hypothetical, "score": res.score,
                     "delta": res.delta}
    return out


def attribute_to_file(model_path, model, x: np.ndarray, index: np.ndarray, out, methods=("gradxinput", "deepshap"),
                      target: int = 0, output: str = "logit", n_references: int = 20, seed: int = 0,
                      batch_size: int = 128, shard_size: int = 2048, scheduler: str | None = None,
                      workers: int | None = None, force: bool = False, verbose: bool = False,
                      custom_objects: str | None = None) -> Path:
    """Compute attributions of ``x[index]`` into ``out`` (an attributions.h5), sharded.

    Parameters
    ----------
    model_path : str
        Path workers load the model from (must be readable by every worker).
    model : Model
        The already loaded model (used in-process).
    x : ndarray, shape (N, L, 4)
    index : ndarray, shape (n,)
        Rows of ``x`` to explain.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).
    workers : int, optional
        Start a local Dask cluster with this many single-threaded workers.
    custom_objects : str, optional
        Python file with the model's custom layers; workers import it before loading the model.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    if out.exists() and not force:
        raise InputError(f"{out} exists; choose another --out or pass --force to replace it.")
    if shard_size < 1:
        raise InputError(f"--shard-size must be at least 1, not {shard_size}.")
    methods = tuple(methods)
    from .attribution import METHODS

    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise InputError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}.")
    xs = x[index]
    starts = list(range(0, len(xs), shard_size))
    tmp = out.with_name(f".{out.name}.partial")
    writer = io.AttributionWriter(tmp, xs, index, list(methods),
                                  {"explained": model.explained(target, output), "target": target,
                                   "shard_size": shard_size})
    args = (methods, target, output, n_references, seed, batch_size)
    bar = tqdm(total=len(xs), desc="attributions", unit="seq", disable=not verbose)
    try:
        if scheduler or workers:
            objects = str(Path(custom_objects).resolve()) if custom_objects else None
            _run_dask(str(Path(model_path).resolve()), xs, starts, shard_size, args, writer, bar, scheduler, workers,
                      objects)
        else:
            for s in starts:
                res = attribute_shard(str(model_path), xs[s:s + shard_size], *args, model=model)
                _write(writer, s, res)
                bar.update(len(xs[s:s + shard_size]))
        writer.close()
        tmp.replace(out)
    except BaseException:
        writer.close()
        tmp.unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    return out


def _write(writer, start, res) -> None:
    for name, r in res.items():
        writer.write(name, start, r["contrib"], r["hypothetical"], r["score"], r["delta"])


def _run_dask(model_path, xs, starts, shard_size, args, writer, bar, scheduler, workers, custom_objects) -> None:
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="20s")
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({exc}); check the address.") from exc
        cluster = None
    else:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    try:
        n_workers = max(1, len(client.scheduler_info().get("workers", {})) or (workers or 1))
        in_flight = 2 * n_workers  # bounded: at most this many shards' results held at once
        pending = {}
        nxt = 0
        for i, s in enumerate(starts):
            while len(pending) < in_flight and nxt < len(starts):
                st = starts[nxt]
                pending[nxt] = client.submit(attribute_shard, model_path, xs[st:st + shard_size], *args,
                                             custom_objects=custom_objects, pure=False,
                                             key=f"interpret-shard-{st}-{id(writer)}")
                nxt += 1
            res = pending.pop(i).result()  # written in order, so the file is identical to a local run
            _write(writer, s, res)
            bar.update(len(xs[s:s + shard_size]))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
