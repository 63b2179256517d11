"""End-to-end ``interpret run``: wall time and peak memory, cold and warm, with both TF-MoDISco packages.

    .venv/bin/python benchmarks/e2e.py             # 5k and 10k x 101 bp cold and warm with both packages;
                                                   # 100k x 101 bp and 10k x 1,000 bp warm (modisco-lite)
    .venv/bin/python benchmarks/e2e.py --quick     # tiny sizes, to check the script

Each run is ``interpret run MODEL DATA --explain all`` with the default methods
(gradxinput, deepshap with 20 dinucleotide-shuffled references), TF-MoDISco on DeepSHAP and the
default known-motif screen (all of JASPAR, 100 backgrounds), in a child process. Wall time is measured around the process; peak memory is the child's peak RSS
(``os.wait4`` ``ru_maxrss``, cross-checked by polling the process tree). Per-stage seconds come
from the run's ``summary.json``.

Models: the seed's architecture (``Conv2D(128, (1, 24))`` → global max pool → ``Dense(1)``) at
101 bp and at 1,000 bp, each trained for a few epochs on planted motifs (so attributions and
TF-MoDISco see real signal); data: the example's planted CREB1/CEBPB/CTCF with a FOXA2 decoy
(:func:`interpret.simulate.planted`), a different seed from the training data.

Cold vs warm: TF-MoDISco (modiscolite) is compiled by numba (TOMTOM is NumPy, :mod:`interpret.motifs.tomtom`). A *cold* run
uses an empty ``NUMBA_CACHE_DIR`` (a user's first run after installing); the *warm* run is the
same command again with the cache the cold run left, as every later run is. Both TF-MoDISco
packages are run: ``modisco-lite`` 3.0.0 from the package's ``.venv`` (the dependency) and
``modisco`` 2.5.2 from ``.venv-modisco252`` (``make bench-modisco-env``; skipped, and said so,
when that environment is missing).

Budget (two `make bench` runs on a quiet 2-core machine with modisco 2.5.2 only, 2026-11-25): 2k x
101 bp 116-134 s cold / 69-79 s warm, 10k x 101 bp 155-171 s, 100k x 101 bp 292-325 s, 10k x 1,000 bp
361-397 s (plus 35 s training the 1,000 bp model); 17-19 min in all. With the package's 50 Leiden runs 100k x 101 bp took 922 s in a development
run. TF-MoDISco's clustering is most of each run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _common import ROOT, WORK, Section, gib, md_table, run_child, versions  # noqa: E402

STAGES = ("filters", "attributions", "screen", "motifs", "compare", "usage", "effects", "report")
PACKAGES = {"modisco-lite 3.0.0": Path(sys.executable).parent, "modisco 2.5.2": ROOT / ".venv-modisco252" / "bin"}


def make_model(length: int, seed: int, n_train: int, epochs: int, d: Path) -> dict:
    from interpret import simulate

    path = d / f"model_{length}.h5"
    sim = simulate.planted(simulate.jaspar_ppms(simulate.EXAMPLE_MOTIFS), n=n_train, length=length,
                           decoys=simulate.jaspar_ppms([simulate.EXAMPLE_DECOY]), seed=seed)
    model = simulate.seed_model(length=length, filters=128, width=24, layout="1L4", seed=seed)
    t = time.perf_counter()
    hist = simulate.train(model, sim.x, sim.y, epochs=epochs, seed=seed)
    model.save(path)
    return {"path": path, "train_seconds": time.perf_counter() - t, "val_auroc": float(hist.history["val_auroc"][-1])}


def make_data(n: int, length: int, seed: int, d: Path) -> Path:
    from interpret import simulate

    path = d / f"data_{n}x{length}.npz"
    sim = simulate.planted(simulate.jaspar_ppms(simulate.EXAMPLE_MOTIFS), n=n, length=length,
                           decoys=simulate.jaspar_ppms([simulate.EXAMPLE_DECOY]), seed=seed)
    # The seed's users keep (N, 1, L, 4) uint8 arrays; the loader converts them.
    np.savez(path, x=sim.x[:, None].astype(np.uint8), y=sim.y.astype(np.uint8))
    return path


def dir_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="5000x101,10000x101,100000x101,10000x1000",
                    help="comma-separated NxL; the first --paired sizes run cold then warm with both packages, "
                         "the others once, warm, with modisco-lite")
    ap.add_argument("--paired", type=int, default=2, help="how many of the first sizes run cold and warm with "
                                                           "both packages")
    ap.add_argument("--max-seqs", default="", help="comma-separated per size (empty = all); only if a size "
                                                     "is infeasible; reported in the table")
    ap.add_argument("--methods", default="gradxinput,deepshap")
    ap.add_argument("--modisco-max-seqlets", type=int, default=2000,
                    help="passed to interpret run (TF-MoDISco seqlets per metacluster); 0 = the package's "
                         "default (20,000): TF-MoDISco's clustering then dominates and the section takes "
                         "hours on 2 cores")
    ap.add_argument("--modisco-leiden-runs", type=int, default=0,
                    help="passed to interpret run; 0 = the package's choice (4 while min(N, seqlet cap) x L <= 5e6 "
                         "bp, else 50, as for 10k x 1,000 bp)")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per run before it is killed and reported")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    ap.add_argument("--keep", action="store_true", help="keep the output directories")
    ap.add_argument("--name", default="e2e", help="results/<name>.md")
    args = ap.parse_args()
    if args.quick:
        args.sizes = "500x101,1000x101,300x1000"
        args.paired = 1
        args.name = args.name if args.name != "e2e" else "e2e_quick"
    sizes = [tuple(int(v) for v in s.lower().split("x")) for s in args.sizes.split(",") if s.strip()]
    caps = [int(c) if c.strip() else None for c in args.max_seqs.split(",")] if args.max_seqs else []
    caps += [None] * (len(sizes) - len(caps))

    d = WORK / args.name
    d.mkdir(parents=True, exist_ok=True)
    packages = {k: v for k, v in PACKAGES.items() if (v / "interpret").exists()}
    skipped = [k for k in PACKAGES if k not in packages]

    sec = Section(args.name, "End-to-end `interpret run`: wall time and peak memory")
    sec.data["versions"] = versions(["tensorflow-cpu", "keras", "modisco-lite", "numba", "numpy"])
    sec.data["args"] = vars(args)

    models, prep = {}, []
    for length in sorted({L for _, L in sizes}):
        # A 1,000 bp motif is a small target: 2,000 sequences x 3 epochs left the model untrained
        # (validation AUROC 0.54); 6,000 x 8 reaches about 0.83 in 35 s.
        n_train, epochs = (4000, 5) if length <= 200 else (6000, 8)
        if args.quick:
            n_train, epochs = 400, 1
        models[length] = make_model(length, args.seed, n_train, epochs, d)
        prep.append(f"{length} bp model: trained on {n_train:,} sequences for {epochs} epochs in "
                    f"{models[length]['train_seconds']:.0f} s (validation AUROC {models[length]['val_auroc']:.3f})")
    plan = []  # (n, length, cap, package, run)
    for i, ((n, L), cap) in enumerate(zip(sizes, caps)):
        if i < args.paired:
            plan += [(n, L, cap, pkg, which) for pkg in packages for which in ("cold", "warm")]
        else:
            plan.append((n, L, cap, "modisco-lite 3.0.0", "warm"))
    rows = []
    for n, length, cap, pkg, which in plan:
        exe = packages[pkg] / "interpret"
        # One cache per package and size: cold starts it empty, warm reuses it.
        numba_cache = d / f"numba_cache_{pkg.split()[-1]}_{n}x{length}"
        if which == "cold":
            shutil.rmtree(numba_cache, ignore_errors=True)
        numba_cache.mkdir(exist_ok=True)
        data = d / f"data_{n}x{length}.npz"
        if not data.exists():
            t = time.perf_counter()
            make_data(n, length, args.seed + 1, d)
            prep.append(f"{n:,} x {length} bp data simulated in {time.perf_counter() - t:.0f} s")
        out = d / f"out_{n}x{length}"
        shutil.rmtree(out, ignore_errors=True)
        # --force: an interrupted earlier run leaves its partial output, which a plain run refuses
        cmd = [str(exe), "run", str(models[length]["path"]), str(data), "--out", str(out), "--explain", "all",
               "--methods", args.methods, "--seed", str(args.seed), "-q", "--force"]
        if cap:
            cmd += ["--max-seqs", str(cap)]
        if args.modisco_max_seqlets:
            cmd += ["--modisco-max-seqlets", str(args.modisco_max_seqlets)]
        if args.modisco_leiden_runs:
            cmd += ["--modisco-leiden-runs", str(args.modisco_leiden_runs)]
        res = run_child(cmd, env={"NUMBA_CACHE_DIR": str(numba_cache), "PYTHONPATH": str(ROOT)},
                        log=d / f"log_{n}x{length}_{pkg.split()[-1]}_{which}.txt", timeout=args.timeout)
        row = {"size": f"{n:,} x {length} bp", "explained": cap or n, "cap": cap, "package": pkg, "run": which,
               "seconds": res["seconds"], "cpu_seconds": res["cpu_seconds"],
               "peak_gib": gib(res["peak_rss"]), "ru_maxrss_gib": gib(res["ru_maxrss"]),
               "exit": res["returncode"], "command": "interpret " + " ".join(cmd[1:])}
        if res["returncode"] == 0 and (out / "summary.json").exists():
            from interpret import io

            summ = io.read_json(out / "summary.json")
            for s in STAGES:
                row[s] = summ.get("timings", {}).get(s)
            row["explained"] = summ.get("data", {}).get("n_explained", row["explained"])
            row["out_mib"] = dir_size(out) / 2 ** 20
            row["n_motifs"] = summ.get("comparison", {}).get("n_motifs")
            row["seq_per_s"] = row["explained"] / res["seconds"]
        else:
            row["error"] = res["tail"].strip().splitlines()[-1] if res["tail"].strip() else f"exit {res['returncode']}"
            if res["seconds"] >= args.timeout:
                row["error"] = f"killed after {args.timeout:.0f} s timeout"
        rows.append(row)
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
        print(f"{row['size']} {pkg} {which}: {row['seconds']:.0f} s, peak {row['peak_gib']:.2f} GiB", flush=True)

    cap_text = (f" --modisco-max-seqlets {args.modisco_max_seqlets}" if args.modisco_max_seqlets else "") + \
        (f" --modisco-leiden-runs {args.modisco_leiden_runs}" if args.modisco_leiden_runs else "")
    capped_modisco = []
    if args.modisco_max_seqlets:
        capped_modisco.append(f"at most {args.modisco_max_seqlets:,} seqlets per sign (a seeded random sample of "
                              "them; package default 20,000)")
    if args.modisco_leiden_runs:
        capped_modisco.append(f"{args.modisco_leiden_runs} Leiden runs (the package's choice: 4 up to 5 million bp "
                              "of input; 50 above, i.e. at 100k x 101 bp and 10k x 1,000 bp)")
    sec.add(f"`interpret run MODEL DATA --explain all --methods {args.methods}{cap_text}` (DeepSHAP with 20 "
            "references, TF-MoDISco on DeepSHAP, TOMTOM against the bundled JASPAR, the known-motif screen of all "
            "1,019 JASPAR motifs into 100 backgrounds and the effect sizes of the run's motifs and filters, report), one child "
            "process per run. Every sequence is explained (attributions, kernel logos)"
            + ("; TF-MoDISco clusters " + " with ".join(capped_modisco) + ", so that the e2e section takes "
               "minutes, not hours, on 2 cores (`e2e.py --modisco-max-seqlets 0 --modisco-leiden-runs 0` runs "
               "the package's settings). " if capped_modisco else "; TF-MoDISco with the package's settings. ")
            + "*peak RSS*: the largest of `ru_maxrss` and the polled process-tree RSS. "
            "Stage columns are seconds from `summary.json`; the wall time also includes Python/TensorFlow "
            "start-up and loading. " + "; ".join(prep) + ".")
    sec.add(md_table(rows, ["size", "explained", "package", "run", "seconds", "cpu_seconds", "peak_gib", "seq_per_s",
                            "filters", "attributions", "screen", "motifs", "compare", "usage", "effects", "report",
                            "out_mib", "n_motifs"],
                     ["data", "explained", "TF-MoDISco", "run", "wall s", "CPU s", "peak RSS GiB", "seq/s", "filters s",
                      "attributions s", "screen s", "motifs s", "compare s", "filter usage s", "effects s", "report s",
                      "output MiB", "motifs"]))
    pairs = []
    for size in dict.fromkeys(r["size"] for r in rows):
        for pkg in packages:
            cold, warm = ([r for r in rows if r["size"] == size and r["package"] == pkg and r["run"] == w
                           and r.get("exit") == 0] for w in ("cold", "warm"))
            if cold and warm:
                c, w = cold[0], warm[0]
                pairs.append({"size": size, "package": pkg, "wall_cold": c["seconds"], "wall_warm": w["seconds"],
                              "ratio": c["seconds"] / w["seconds"],
                              **{f"{s}_{k}": r.get(s) for s in STAGES for k, r in (("cold", c), ("warm", w))}})
    if pairs:
        sec.add("Cold and warm per stage (seconds; *cold/warm*: wall time of the cold run over the warm run, "
                "goal <= 1.3):")
        cols = ["size", "package", "wall_cold", "wall_warm", "ratio"] + [f"{s}_{k}" for s in STAGES
                                                                          for k in ("cold", "warm")]
        sec.add(md_table(pairs, cols, ["data", "TF-MoDISco", "wall cold", "wall warm", "cold/warm"]
                         + [f"{s} {k}" for s in STAGES for k in ("cold", "warm")]))
        sec.data["pairs"] = pairs
    sec.add("Cores per stage (2 here): *filters* and *attributions* run TensorFlow, whose intra-op thread pool "
            "uses every core, and TOMTOM (`interpret.motifs.tomtom`, NumPy: its query batches run in one thread per core, "
            "outside the GIL for most of their time); *screen*, *filter usage* and *effects* are TensorFlow "
            "passes on every core; *motifs* with modisco-lite "
            "3.0 runs its Leiden seeds, subclustering and the negative sign in forked workers (only under a "
            "fork-safe numba threading layer, which `interpret run` selects: TBB, else workqueue), while its seqlet "
            "extraction and the positive sign's seqlet alignment stay single-threaded NumPy and numba; with "
            "modisco 2.5.2 the whole stage is single-threaded. *compare* is single-threaded Python around one "
            "TOMTOM call on a few motifs. *report* is single-threaded: matplotlib draws the SVG and PDF figures in "
            "Python under the GIL, and a second process would have to import matplotlib and re-read the outputs, "
            "about as long as the figures take. In a cold run the background compile (`interpret.jit`) is the "
            "second process on the second core; *CPU s* counts it only when the run reaped it.")
    if skipped:
        sec.add("Not run: " + ", ".join(skipped) + " (its environment is missing; `make bench-modisco-env`).")
    capped = [r for r in rows if r["cap"]]
    if capped:
        sec.add("Capped with `--max-seqs`: " + ", ".join(f"{r['size']} → {r['explained']:,}" for r in capped) + ".")
    errs = [r for r in rows if r.get("error")]
    if errs:
        sec.add("Failed:\n\n" + "\n".join(f"- {r['size']} ({r['package']}, {r['run']}): `{r['error']}`"
                                          for r in errs))
    sec.add("Commands (each with `NUMBA_CACHE_DIR` set to the run's cache):\n\n"
            + "\n".join(f"- {r['package']}: `{r['command']}`"
                        for r in dict(((r["package"], r["command"]), r) for r in rows).values()))
    sec.data["rows"] = rows
    path = sec.write()
    print(path.read_text())


if __name__ == "__main__":
    main()
