"""numba kernels compiled ahead of a run, in a background process, into numba's on-disk cache.

Three groups of kernels, in the order a run first calls them: ``attribution``, the package's own
(the dinucleotide shuffle, :mod:`interpret.attribution.shuffle`, and DeepSHAP's max-pool, scatter and
first-layer kernels, :mod:`interpret.attribution.deeplift`: about 4.5 s of compile on first use),
``modisco``, TF-MoDISco's (modiscolite: modisco-lite's kernels cost about 11 CPU seconds,
``benchmarks/RESULTS.md``), and ``hits``, the hit caller's coordinate descent
(:mod:`interpret.motifs.hits`).
With an empty cache a process compiles each kernel on its first call and waits for it; every
later run loads them from the cache in about a second. :func:`start`, called as a run begins
(by the command line before it imports TensorFlow), spawns ``python -m interpret.jit`` (a new
interpreter, never a fork of this process, whose TensorFlow threads a forked child would inherit
half-started), which compiles each group for the argument types a run passes and reports the
group on its stdout as soon as it is in the cache. :func:`wait` blocks until a group is reported
(or the child has gone), so the run's first call loads the kernels instead of compiling them a
second time alongside the child. (TOMTOM, :mod:`interpret.motifs.tomtom`, is NumPy and needs no compile.)

Nothing depends on the child: if it cannot start, fails, or numba has nowhere to write its cache
(read-only site-packages and no writable ``NUMBA_CACHE_DIR`` or home directory), the first call
compiles in this process as it would have without it. Nothing is spawned when the cache already
holds the kernels.

What this module does *not* do: make the compile itself cheaper. On 2 cores the child competes
with the run for CPU; it only moves the compile off the critical path while the model stages run.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

logger = logging.getLogger(__name__)

#: Kernel groups, in the order a run first calls them.
GROUPS = ("attribution", "modisco", "hits")
#: Seconds :func:`wait` gives the child before it compiles in this process instead.
TIMEOUT = 600.0

_child: subprocess.Popen | None = None
_todo: list[str] = []
_reported: set[str] = set()


def _attribution_kernels() -> list:
    """The package's own numba dispatchers a run calls (all ``cache=True``)."""
    from .attribution import deeplift, shuffle

    return [shuffle._shuffle_rows, deeplift._window_max_kernel, deeplift._scatter_kernels,
            deeplift._window_hyp_kernel]


def _cached(group: str) -> bool:
    """Whether there is nothing to compile ahead: numba's cache has the group's kernels (for
    ``modisco``, its main kernel), or the installed package gives no list of kernels to compile
    (modisco 2.5)."""
    import importlib

    try:
        if group == "attribution":
            return all(os.path.exists(d._cache._cache_file._index_path) for d in _attribution_kernels())
        if group == "hits":
            from .motifs import hits

            return os.path.exists(hits._coordinate_descent._cache._cache_file._index_path)
        if importlib.util.find_spec("modiscolite.precompile") is None:
            return True
        from .motifs import modisco

        modisco._cache_numba()
        disp = importlib.import_module("modiscolite.affinitymat")._pairwise_jaccard_rows
        return os.path.exists(disp._cache._cache_file._index_path)
    except Exception as exc:  # no cache possible, or a layout we do not know: the child decides
        logger.debug("cannot tell whether %s is cached: %s", group, exc)
        return False


def start(groups=GROUPS) -> bool:
    """Spawn the background compile of ``groups`` unless they are cached; at most one child per process.

    Returns whether a child is running.
    """
    global _child, _todo
    if _child is not None:
        return True
    from .motifs import modisco

    modisco.use_forksafe_layer()  # before the shuffle or TF-MoDISco start numba's threads
    # A group found cached (or reported) once stays so for this process: the command line starts
    # the compile, then the pipeline asks again, and the check imports TF-MoDISco (about 0.5 s).
    todo = [g for g in groups if g not in _reported and not _cached(g)]
    _reported.update(g for g in groups if g not in todo)
    if not todo:
        return False
    _todo = todo
    try:
        _child = subprocess.Popen([sys.executable, "-m", "interpret.jit", *todo], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
    except OSError as exc:
        logger.debug("no background compile: %s", exc)
        return False
    logger.debug("compiling %s in the background (pid %d)", ", ".join(todo), _child.pid)
    return True


def wait(group: str, timeout: float = TIMEOUT) -> float:
    """Block until the child reports ``group`` in the cache or exits; returns the seconds waited.

    Returns at once when no child runs or the group was reported already. After ``timeout``
    seconds the child is killed and the caller compiles in this process as usual.
    """
    global _child
    if _child is None or group in _reported:
        return 0.0
    t = time.perf_counter()
    deadline = t + timeout
    import selectors

    with selectors.DefaultSelector() as sel:
        sel.register(_child.stdout, selectors.EVENT_READ)
        while group not in _reported:
            left = deadline - time.perf_counter()
            if left <= 0 or not sel.select(left):
                logger.debug("background compile of %s timed out; compiling here", group)
                _child.kill()
                break
            line = _child.stdout.readline()
            if not line:  # the child has exited (done, or failed: the first call compiles here)
                break
            _reported.add(line.strip())
    # Reap the child once it is done (it exits right after its last report), or gone.
    if _child.poll() is not None or group not in _reported or _reported.issuperset(_todo):
        _child.wait()
        _child.stdout.close()
        _child = None
    waited = time.perf_counter() - t
    logger.debug("waited %.1f s for the background compile of %s", waited, group)
    return waited


def _compile(group: str) -> None:
    if group == "attribution":
        _compile_attribution()
    elif group == "hits":
        from .motifs import hits

        hits.warm_up()
    elif group == "modisco":
        from .motifs import modisco

        modisco.use_forksafe_layer()
        modisco.warm_up()


def _compile_attribution() -> None:
    """Call each kernel of the ``attribution`` group once on a few numbers, with the dtypes,
    layouts and scalar types a run passes (numba compiles, and caches, one version per such
    signature): int8/uint64/float32 C arrays for the shuffle; a float32 (B, L, C) array, Python
    ints and a bool for the window maximum; int32/float32 arrays and ints for the scatter and for the
    hypothetical contributions below windowed pooling."""
    import numpy as np

    from .attribution import deeplift, shuffle

    shuffle.dinucleotide_shuffle(np.eye(4, dtype=np.float32)[np.arange(8) % 4][None], n=2, seed=0)
    deeplift._window_max_kernel(np.zeros((3, 4, 2), np.float32), 2, 2, True, 1, 2)
    deeplift._scatter_kernels(np.zeros((2, 2, 2), np.int32), np.zeros((2, 2, 2), np.float32),
                              np.zeros((2, 12), np.float32), 10, 1, 3)
    i4, f4 = np.zeros((1, 2, 2, 2), np.int32), np.zeros((1, 2, 2, 2), np.float32)
    deeplift._window_hyp_kernel(i4[:, 0], f4, i4, f4, f4, np.zeros((1, 2, 4, 4), np.float32),
                                np.zeros((4, 6), np.float32), 4, 1, 2, 0, 1, np.zeros((1, 4, 4), np.float32))


def main(argv=None) -> int:
    """``python -m interpret.jit GROUP ...``: compile each group into the cache, print its name when done."""
    for group in (sys.argv[1:] if argv is None else argv):
        if group not in GROUPS:
            return 2
        _compile(group)
        print(group, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
