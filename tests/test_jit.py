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
    from interpret import jit
    from interpret.motifs import modisco
    started = jit.start(("modisco",))
    jit.wait("modisco")
    from modiscolite import precompile
    modisco._cache_numba()
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


# The package's own kernels: after the child's report, real DeepSHAP on a Conv1D -> ReLU -> global
# max pool model (the shuffle, the window maximum, and the sparse scatter: 24 filters >= 5 x 4 taps)
# and on one with a max pool of 4 after that first layer (the hypothetical contributions from the
# pool's sparse gradient) must load every one of them from the cache; a signature the child missed
# would show as a miss.
ATTRIBUTION_PROBE = textwrap.dedent("""
    import numpy as np, keras
    from interpret import jit
    started = jit.start(("attribution",))
    jit.wait("attribution")
    from interpret.attribution import methods
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((30, 4)), keras.layers.Conv1D(24, 5, activation="relu"),
                              keras.layers.GlobalMaxPooling1D(), keras.layers.Dense(1)])
    pooled = keras.Sequential([keras.Input((32, 4)), keras.layers.Conv1D(24, 5, activation="relu"),
                               keras.layers.MaxPooling1D(4), keras.layers.Conv1D(6, 3, activation="relu"),
                               keras.layers.GlobalMaxPooling1D(), keras.layers.Dense(1)])
    for m, length in ((model, 30), (pooled, 32)):
        x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (8, length))]
        res = methods.get_method("deepshap", m).attribute(x, n_references=4)
        assert np.abs(res.delta).max() < 1e-3  # completeness: the kernels ran, and ran right
    kernels = jit._attribution_kernels()
    hits = [sum(d._cache_hits.values()) for d in kernels]
    misses = [sum(d._cache_misses.values()) for d in kernels]
    print(started, min(hits), sum(misses))
""")


def test_child_compiles_attribution_kernels_that_deepshap_loads_from_the_cache(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", ATTRIBUTION_PROBE], env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    started, least_hits, misses = out.stdout.split()[-3:]
    assert started == "True"
    assert int(least_hits) >= 1 and int(misses) == 0


HITS_PROBE = textwrap.dedent("""
    import numpy as np
    from interpret import jit
    started = jit.start(("hits",))
    jit.wait("hits")
    from interpret.motifs import hits
    c = np.eye(4)[["ACGT".index(b) for b in "AAGCCTGA"]]
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (3, 40))]
    x[:, 10:18] = c
    contrib = np.zeros_like(x)
    contrib[:, 10:18] = 2.0 * c
    h = hits.fit_batch(x, contrib, hits.prepare([c]))
    assert (h["start"] == 10).all() and len(h["start"]) == 3  # the kernel ran, and ran right
    d = hits._coordinate_descent
    print(started, sum(d._cache_hits.values()), sum(d._cache_misses.values()))
""")


def test_child_compiles_the_hit_callers_kernel_that_a_run_loads_from_the_cache(tmp_path):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", HITS_PROBE], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    started, hits, misses = out.stdout.split()[-3:]
    assert started == "True" and int(hits) >= 1 and int(misses) == 0


def test_unknown_kernel_group_is_refused():
    assert jit.main(["no-such-kernels"]) == 2
