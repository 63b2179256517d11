"""numba kernels compiled ahead of a run, in a background process, into numba's on-disk cache.

TF-MoDISco (modiscolite) is numba code. With an empty cache a process compiles each kernel on
its first call and waits for it: modisco-lite's kernels cost about 11 CPU seconds
(``benchmarks/RESULTS.md``), every later run loads them from the cache in about a second.
:func:`start`, called as a run begins, spawns ``python -m interpret.jit`` (a new interpreter,
never a fork of this process, whose TensorFlow threads a forked child would inherit
half-started), which compiles modisco-lite's kernels for the argument types a run passes and
reports the group on its stdout as soon as it is in the cache. :func:`wait` blocks until a
group is reported (or the child has gone), so the run's first call loads the kernels instead of
compiling them a second time alongside the child. (TOMTOM, :mod:`interpret.tomtom`, is NumPy
and needs no compile.)

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
GROUPS = ("modisco",)
#: Seconds :func:`wait` gives the child before it compiles in this process instead.
TIMEOUT = 600.0

_child: subprocess.Popen | None = None
_todo: list[str] = []
_reported: set[str] = set()


def _cached(group: str) -> bool:
    """Whether there is nothing to compile ahead: numba's cache has the group's main kernel, or the
    installed package gives no list of kernels to compile (modisco 2.5)."""
    import importlib

    try:
        if importlib.util.find_spec("modiscolite.precompile") is None:
            return True
        from . import motifs

        motifs._cache_numba()
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
    from . import motifs

    motifs.use_forksafe_layer()  # before the shuffle or TF-MoDISco start numba's threads
    todo = [g for g in groups if not _cached(g)]
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
    if group == "modisco":
        from . import motifs

        motifs.use_forksafe_layer()
        motifs.warm_up()


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
