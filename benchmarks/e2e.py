"""End-to-end ``interpret run`` at the default flags a user types: wall time, stages, peak memory, cold and warm.

    .venv/bin/python benchmarks/e2e.py             # the plan below (about 30 min on 2 quiet cores)
    .venv/bin/python benchmarks/e2e.py --quick     # tiny sizes, to check the script

Every row is ``interpret run MODEL DATA --out OUT`` as a user types it (``-q`` and ``--force``
change no work: the progress bars are off and an interrupted earlier row cannot block the next),
on labelled data, so the default ``--explain auto`` explains the positives: default methods
(gradxinput, deepshap with 20 dinucleotide-shuffled references), TF-MoDISco on DeepSHAP with the
package's settings, the known-motif screen of all of JASPAR, effect sizes, instances, grammar
and the report. A row with any other flag says so in its *setting* column.

The plan: 1,000 positives of 101 bp (the seed question's size) cold and warm with modisco-lite,
and warm with modisco 2.5.2 (``.venv-modisco252``, ``make bench-modisco-env``; skipped and said so
when missing); 5,000 positives of 101 bp cold and warm; the same 5,000 with
``--modisco-max-seqlets 2000`` (the setting of earlier tables, labelled); 10,000 positives of
1,000 bp warm.

Models: the seed's architecture (``Conv2D(128, (1, 24))`` → global max pool → ``Dense(1)``) at
101 bp and at 1,000 bp, each trained for a few epochs on planted motifs (so attributions and
TF-MoDISco see real signal); data: the example's planted CREB1/CEBPB/CTCF with a FOXA2 decoy
(:func:`interpret.simulate.planted`), half positives, a different seed from the training data.

Cold vs warm: TF-MoDISco (modiscolite) and the package's own shuffle and DeepSHAP kernels are
compiled by numba. A *cold* run uses an empty ``NUMBA_CACHE_DIR`` (a user's first run after
installing); the *warm* run is the same command again with the cache the cold run left, as every
later run is. Wall time is measured around the child process; peak memory is the child's peak
RSS (``os.wait4`` ``ru_maxrss``, cross-checked by polling the process tree). Per-stage seconds
come from the run's ``summary.json``.
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


#: (positives explained, length, setting, extra flags, runs); "defaults" rows add no flag that changes work.
PLAN = [
    (1000, 101, "defaults", [], ("cold", "warm", "warm 2.5.2")),
    (5000, 101, "defaults", [], ("cold", "warm")),
    (5000, 101, "--modisco-max-seqlets 2000", ["--modisco-max-seqlets", "2000"], ("warm",)),
    (10000, 1000, "defaults", [], ("warm",)),
]
QUICK = [(200, 101, "defaults", [], ("cold", "warm", "warm 2.5.2")), (150, 1000, "defaults", [], ("warm",))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--timeout", type=float, default=3600, help="seconds per run before it is killed and reported")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    ap.add_argument("--keep", action="store_true", help="keep the output directories")
    ap.add_argument("--name", default="e2e", help="results/<name>.md")
    args = ap.parse_args()
    plan = QUICK if args.quick else PLAN
    if args.quick and args.name == "e2e":
        args.name = "e2e_quick"

    d = WORK / args.name
    d.mkdir(parents=True, exist_ok=True)
    packages = {k: v for k, v in PACKAGES.items() if (v / "interpret").exists()}
    skipped = [k for k in PACKAGES if k not in packages]

    sec = Section(args.name, "End-to-end `interpret run` at the default flags: wall time and peak memory")
    sec.data["versions"] = versions(["tensorflow-cpu", "keras", "modisco-lite", "numba", "numpy"])
    sec.data["args"] = vars(args)

    models, prep = {}, []
    for length in sorted({L for _, L, *_ in plan}):
        # A 1,000 bp motif is a small target: 2,000 sequences x 3 epochs left the model untrained
        # (validation AUROC 0.54); 6,000 x 8 reaches about 0.83 in 35 s.
        n_train, epochs = (4000, 5) if length <= 200 else (6000, 8)
        if args.quick:
            n_train, epochs = 400, 1
        models[length] = make_model(length, args.seed, n_train, epochs, d)
        prep.append(f"{length} bp model: trained on {n_train:,} sequences for {epochs} epochs in "
                    f"{models[length]['train_seconds']:.0f} s (validation AUROC {models[length]['val_auroc']:.3f})")
    rows, stages = [], {}
    for n_pos, length, setting, flags, runs in plan:
        for which in runs:
            pkg = "modisco 2.5.2" if which.endswith("2.5.2") else "modisco-lite 3.0.0"
            if pkg not in packages:
                continue
            run = which.split()[0]
            exe = packages[pkg] / "interpret"
            # One cache per package, size and setting: cold starts it empty, warm reuses it.
            numba_cache = d / f"numba_cache_{pkg.split()[-1]}_{n_pos}x{length}_{len(flags)}"
            if run == "cold":
                shutil.rmtree(numba_cache, ignore_errors=True)
            numba_cache.mkdir(exist_ok=True)
            data = d / f"data_{2 * n_pos}x{length}.npz"
            if not data.exists():
                t = time.perf_counter()
                make_data(2 * n_pos, length, args.seed + 1, d)
                prep.append(f"{2 * n_pos:,} x {length} bp data simulated in {time.perf_counter() - t:.0f} s")
            out = d / f"out_{n_pos}x{length}"
            cmd = [str(exe), "run", str(models[length]["path"]), str(data), "--out", str(out), *flags, "-q", "--force"]
            res = run_child(cmd, env={"NUMBA_CACHE_DIR": str(numba_cache), "PYTHONPATH": str(ROOT)},
                            log=d / f"log_{n_pos}x{length}_{len(flags)}_{pkg.split()[-1]}_{run}.txt",
                            timeout=args.timeout)
            row = {"size": f"{n_pos:,} of {2 * n_pos:,} x {length} bp", "setting": setting, "package": pkg,
                   "run": run, "seconds": res["seconds"], "cpu_seconds": res["cpu_seconds"],
                   "peak_gib": gib(res["peak_rss"]), "ru_maxrss_gib": gib(res["ru_maxrss"]),
                   "exit": res["returncode"], "command": "interpret " + " ".join(cmd[1:])}
            if res["returncode"] == 0 and (out / "summary.json").exists():
                from interpret import io

                summ = io.read_json(out / "summary.json")
                for s, v in summ.get("timings", {}).items():
                    stages.setdefault(s, None)
                    row[s] = v
                row["explained"] = summ.get("data", {}).get("n_explained")
                row["out_mib"] = dir_size(out) / 2 ** 20
                row["n_motifs"] = summ.get("comparison", {}).get("n_motifs")
                row["startup"] = res["seconds"] - sum(summ.get("timings", {}).values())
            else:
                row["error"] = res["tail"].strip().splitlines()[-1] if res["tail"].strip() else f"exit {res['returncode']}"
                if res["seconds"] >= args.timeout:
                    row["error"] = f"killed after {args.timeout:.0f} s timeout"
            rows.append(row)
            if not args.keep:
                shutil.rmtree(out, ignore_errors=True)
            print(f"{row['size']} {setting} {pkg} {run}: {row['seconds']:.0f} s, peak {row['peak_gib']:.2f} GiB",
                  flush=True)
    stages = list(stages)

    sec.add("Each row: `interpret run MODEL DATA --out OUT -q --force` on labelled data, so the default "
            "`--explain auto` explains the positives (DeepSHAP with 20 references and gradient x input, TF-MoDISco "
            "on DeepSHAP with the package's settings, TOMTOM against the bundled JASPAR, the known-motif screen of "
            "all of JASPAR, effect sizes of the run's motifs and filters, and every later stage), one child process "
            "per run; *setting* names any other flag. *peak RSS*: the largest of `ru_maxrss` and the polled "
            "process-tree RSS. Stage columns are seconds from `summary.json`; *start-up* is the wall time outside "
            "the stages (Python and TensorFlow imports, loading the model and the data, the summary). "
            + "; ".join(prep) + ".")
    sec.add(md_table(rows, ["size", "setting", "package", "run", "seconds", "cpu_seconds", "peak_gib", "startup",
                            *stages, "out_mib", "n_motifs"],
                     ["positives explained of data", "setting", "TF-MoDISco", "run", "wall s", "CPU s",
                      "peak RSS GiB", "start-up s", *[f"{s} s" for s in stages], "output MiB", "motifs"]))
    pairs = []
    for size, setting in dict.fromkeys((r["size"], r["setting"]) for r in rows):
        for pkg in packages:
            cold, warm = ([r for r in rows if (r["size"], r["setting"]) == (size, setting) and r["package"] == pkg
                           and r["run"] == w and r.get("exit") == 0] for w in ("cold", "warm"))
            if cold and warm:
                c, w = cold[0], warm[0]
                pairs.append({"size": size, "setting": setting, "package": pkg, "wall_cold": c["seconds"],
                              "wall_warm": w["seconds"], "ratio": c["seconds"] / w["seconds"],
                              **{f"{s}_{k}": r.get(s) for s in ["startup", *stages]
                                 for k, r in (("cold", c), ("warm", w))}})
    if pairs:
        sec.add("Cold and warm per stage (seconds; *cold/warm*: wall time of the cold run over the warm run, "
                "goal <= 1.3):")
        cols = ["size", "setting", "package", "wall_cold", "wall_warm", "ratio"] + [
            f"{s}_{k}" for s in ["startup", *stages] for k in ("cold", "warm")]
        sec.add(md_table(pairs, cols, ["positives explained of data", "setting", "TF-MoDISco", "wall cold",
                                       "wall warm", "cold/warm"]
                         + [f"{s} {k}" for s in ["start-up", *stages] for k in ("cold", "warm")]))
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
    errs = [r for r in rows if r.get("error")]
    if errs:
        sec.add("Failed:\n\n" + "\n".join(f"- {r['size']} ({r['package']}, {r['run']}): `{r['error']}`"
                                          for r in errs))
    sec.add("Commands (each with `NUMBA_CACHE_DIR` set to the run's cache):\n\n"
            + "\n".join(f"- {r['setting']}, {r['package']}: `{r['command']}`"
                        for r in dict(((r["package"], r["command"]), r) for r in rows).values()))
    sec.data["rows"] = rows
    path = sec.write()
    print(path.read_text())


if __name__ == "__main__":
    main()
