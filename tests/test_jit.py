"""Kernels compiled ahead: the background child fills numba's cache with exactly the kernels a run
loads, so the run's first call is a cache hit, not a second compile."""

import os
import subprocess
import sys
import textwrap

from interpret import jit

# In a fresh process with an empty cache: start the child, wait for its report, then load every
# kernel modisco-lite 3 lists for a run, counting numba's cache hits and misses.
PROBE = textwrap.dedent("""
    from interpret import jit, motifs
    started = jit.start(("modisco",))
    jit.wait("modisco")
    from modiscolite import precompile
    motifs._cache_numba()
    n = hits = misses = 0
    for group in precompile._kernels():
        for disp, sig in group:
            disp.compile(sig or precompile._signatures[disp])
            n += 1
            hits += sum(disp._cache_hits.values())
            misses += sum(disp._cache_misses.values())
    print(started, n, hits, misses)
""")


def test_child_compiles_modisco_kernels_that_a_new_process_loads_from_the_cache(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    started, n, hits, misses = out.stdout.split()
    assert started == "True"
    assert int(n) >= 10 and int(hits) == int(n) and int(misses) == 0


def test_unknown_kernel_group_is_refused():
    assert jit.main(["no-such-kernels"]) == 2
