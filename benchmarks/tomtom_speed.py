"""interpret.motifs.tomtom (NumPy) against memelite 0.5's TOMTOM (numba): same answers? how fast, cold and warm?

    .venv/bin/python benchmarks/tomtom_speed.py [--quick]

Writes ``benchmarks/results/tomtom_speed.md``. memelite must be installed (it is the reference,
not a dependency of the package). On the query sets a run meets, all against the bundled JASPAR
(1,019 motifs, both strands):

1. **Agreement** per set: share of (query, target) pairs with the same integer score, offset,
   overlap and strand; share of queries with the same best target (smallest p, then highest
   score, as ``compare.match_to_db`` picks it); the |log10 p| difference (median, max).
2. **Warm speed**: CPU seconds of each call in this process after a first call (memelite's
   kernels loaded from numba's cache), the best of two, and the ratio.
3. **Cold speed**: the first call in a fresh process: memelite with an empty ``NUMBA_CACHE_DIR``
   (what a first run pays), interpret.motifs.tomtom likewise; CPU and wall seconds of the whole child
   (interpreter start, imports, JASPAR, one 128-query call).
4. **The issue's measure**: ``interpret run`` on the demo (``examples/make_example.py``, built
   when missing) with an empty ``NUMBA_CACHE_DIR``, then warm; wall and CPU seconds, per stage.

``--quick``: fewer queries per set, no cold measurement, no demo runs.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import Section, md_table, run_child, versions  # noqa: E402


def sampled(ppm, rng, n, width):
    """PPM of ``n`` instances of ``ppm`` at one offset in ``width`` bp of random bases (a filter or
    a pattern as a model gives it)."""
    from interpret import simulate

    w = len(ppm)
    left = int(rng.integers(0, max(width - w, 0) + 1))
    x = np.eye(4)[rng.integers(0, 4, (n, max(width, w)))]
    for i in range(n):
        x[i, left:left + w] = simulate.sample_instance(ppm, rng, "+")
    return (x.sum(axis=0) + 0.25) / (n + 1)


def query_sets(db, n, rng):
    """The query sets of a run, each a list of (W, 4) PPMs."""
    from interpret.motifs import compare

    ppms = [m.ppm for m in db if len(m.ppm) <= 20]
    pick = lambda k: [ppms[i] for i in rng.choice(len(ppms), k, replace=False)]  # noqa: E731
    cores = lambda qs: [compare.sharpen(q[slice(*compare.trim_ppm(q))]) for q in qs  # noqa: E731
                        if compare.trim_ppm(q)[1] > compare.trim_ppm(q)[0]]
    trained = [sampled(p, rng, 100, 24) for p in pick(n)]
    motifs = [sampled(p, rng, int(rng.choice([20, 50, 200])), len(p) + 6) for p in pick(n // 2)]
    shuffled = [c for q in cores(trained[:max(2, n // 12)])
                for c in compare._shuffled_cores(q, q, 29, 0, compare.MIN_IC, compare.REL_IC)]
    gc = []
    for _ in range(n // 4):
        w = int(rng.integers(6, 16))
        gc.append(rng.dirichlet([1, 6, 6, 1], w))                     # GC-rich
        gc.append(np.tile([[0.85, 0.05, 0.05, 0.05]], (w, 1)))                 # poly-A
        gc.append(np.tile([[0.05, 0.85, 0.05, 0.05], [0.85, 0.05, 0.05, 0.05]], (w // 2, 1)))  # (CA)n
    return {
        "trained filter PPMs, trimmed cores": cores(trained),
        "untrained filter PPMs (24 bp, near uniform)": [rng.dirichlet(np.full(4, 20.0), 24) for _ in range(n)],
        "attribution-motif PPMs, untrimmed": motifs,
        "column-shuffled copies of cores (order test)": shuffled,
        "GC-rich and low-complexity cores": gc,
        "JASPAR against itself": [m.ppm for m in db][: (len(db) if n >= 128 else n)],
    }


def memelite_tomtom(qs, ts):
    from memelite import tomtom

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="tomtom was given")
        r = tomtom([np.ascontiguousarray(q.T) for q in qs], [np.ascontiguousarray(t.T) for t in ts])
    return r[0], r[1].astype(np.int64), r[2].astype(np.int64), r[3].astype(np.int64), r[4].astype(np.int64)


def numpy_tomtom(qs, ts):
    from interpret.motifs.tomtom import tomtom

    return tomtom(qs, ts)


def cpu(fn, repeat=2):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t)
    return best, out


def agreement(a, b) -> dict:
    pa, pb = a[0], b[0]
    same = np.ones(pa.shape, bool)
    for x, y in zip(a[1:], b[1:]):
        same &= x == y
    best = lambda r: np.array([np.lexsort((-r[1][i], r[0][i]))[0] for i in range(len(r[0]))])  # noqa: E731
    d = np.abs(np.log10(np.maximum(pa, 1e-300)) - np.log10(np.maximum(pb, 1e-300)))
    return {"same_alignment": float(same.mean()), "same_best": float((best(a) == best(b)).mean()),
            "dlog10p_median": float(np.median(d)), "dlog10p_max": float(d.max()),
            "p_min": float(min(pa.min(), pb.min()))}


CHILD = """
import sys, time, resource
t0 = time.perf_counter()
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
import numpy as np
from interpret.io import load_motif_db
import tomtom_speed as ts
db = load_motif_db()
qs = ts.query_sets(db, 128, np.random.default_rng(0))["trained filter PPMs, trimmed cores"]
t1 = time.perf_counter(); c1 = time.process_time()
getattr(ts, {fn!r})(qs, [m.ppm for m in db])
print("first call", time.perf_counter() - t1, time.process_time() - c1, "total", time.perf_counter() - t0)
"""


def cold(fn: str) -> dict:
    with tempfile.TemporaryDirectory() as cache:
        code = CHILD.format(root=str(ROOT), bench=str(Path(__file__).resolve().parent), fn=fn)
        fd, log = tempfile.mkstemp(suffix=".log")
        os.close(fd)
        r = run_child([sys.executable, "-c", code], env={"NUMBA_CACHE_DIR": cache}, log=log)
        line = [x for x in Path(log).read_text().splitlines() if x.startswith("first call")]
        if r["returncode"] != 0 or not line:
            raise RuntimeError(Path(log).read_text()[-2000:])
        _, _, wall, cpu_s, _, total = line[0].split()
        return {"child_wall": r["seconds"], "child_cpu": r["cpu_seconds"],
                "first_call_wall": float(wall), "first_call_cpu": float(cpu_s)}


def demo_runs() -> list[dict]:
    """``interpret run`` on the demo with an empty ``NUMBA_CACHE_DIR`` (cold), then again (warm)."""
    from interpret import io

    demo = ROOT / "examples" / "demo"
    if not (demo / "model.h5").exists():
        subprocess.run([sys.executable, str(ROOT / "examples" / "make_example.py"), "--out", str(demo)], check=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "numba"
        for which in ("cold", "warm"):
            out = Path(tmp) / which
            cmd = [sys.executable, "-m", "interpret.cli", "run", str(demo / "model.h5"), str(demo / "data.npz"),
                   "--out", str(out), "--force"]
            r = run_child(cmd, env={"NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)})
            if r["returncode"] != 0:
                raise RuntimeError(r["tail"])
            t = io.read_json(out / "summary.json")["timings"]
            rows.append({"run": which, "wall": r["seconds"], "cpu": r["cpu_seconds"], **t})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from interpret.io import load_motif_db

    db = load_motif_db()
    targets = [m.ppm for m in db]
    n = 32 if args.quick else 128
    sets = query_sets(db, n, np.random.default_rng(0))
    sec = Section("tomtom_speed_quick" if args.quick else "tomtom_speed",
                  "TOMTOM: interpret.motifs.tomtom (NumPy) against memelite (numba)")
    sec.data["versions"] = versions(["memelite", "numba", "numpy"])
    memelite_tomtom(sets["trained filter PPMs, trimmed cores"][:2], targets)   # load/compile memelite
    numpy_tomtom(sets["trained filter PPMs, trimmed cores"][:2], targets)
    rows = []
    for name, qs in sets.items():
        tm, a = cpu(lambda: memelite_tomtom(qs, targets))
        tn, b = cpu(lambda: numpy_tomtom(qs, targets))
        rows.append({"set": name, "n": len(qs), "width": float(np.mean([len(q) for q in qs])),
                     "memelite_cpu": tm, "numpy_cpu": tn, "ratio": tn / tm, **agreement(a, b)})
        print(rows[-1], flush=True)
    sec.data["sets"] = rows
    sec.add(f"{len(targets)} JASPAR targets, both strands; versions {sec.data['versions']}. CPU seconds of one call "
            "in a warm process (memelite's kernels from numba's cache), best of two; *same alignment*: share of "
            "(query, target) pairs with equal integer score, offset, overlap and strand; *same best*: share of "
            "queries whose best target (smallest p, then highest score) is the same; *dlog10p*: |log10 p| "
            "difference over all pairs.\n")
    sec.add(md_table(rows, ["set", "n", "width", "memelite_cpu", "numpy_cpu", "ratio", "same_alignment",
                            "same_best", "dlog10p_median", "dlog10p_max", "p_min"],
                     ["query set", "queries", "mean width", "memelite CPU s", "NumPy CPU s", "ratio",
                      "same alignment", "same best", "median dlog10 p", "max dlog10 p", "smallest p"]))
    if not args.quick:
        c = [{"implementation": k, **cold(fn)} for k, fn in (("memelite 0.5 (empty NUMBA_CACHE_DIR)", "memelite_tomtom"),
                                                            ("interpret.motifs.tomtom", "numpy_tomtom"))]
        sec.data["cold"] = c
        sec.add("\n**Cold**: a fresh process (empty `NUMBA_CACHE_DIR`) imports, loads JASPAR and makes one call with "
                f"the {len(sets['trained filter PPMs, trimmed cores'])} trained-filter cores; *first call*: that call "
                "alone; *child*: the whole process.\n")
        sec.add(md_table(c, ["implementation", "first_call_cpu", "first_call_wall", "child_cpu", "child_wall"],
                         ["implementation", "first call CPU s", "first call wall s", "child CPU s", "child wall s"]))
        d = demo_runs()
        sec.data["demo"] = d
        stages = [k for k in d[0] if k not in ("run", "wall", "cpu")]
        sec.add(f"\n**First run as fast as later ones** (issue #14): `interpret run examples/demo/model.h5 "
                f"examples/demo/data.npz` with an empty `NUMBA_CACHE_DIR` (cold), then the same command with the "
                f"cache it left (warm): cold/warm wall {d[0]['wall'] / d[1]['wall']:.2f}, CPU "
                f"{d[0]['cpu'] / d[1]['cpu']:.2f}. Stage columns are seconds from `summary.json`.\n")
        sec.add(md_table(d, ["run", "wall", "cpu"] + stages, ["run", "wall s", "CPU s"] + stages))
    print(sec.write())


if __name__ == "__main__":
    main()
