"""Filter usage (which first-layer filters build each motif): its cost against the DeepSHAP stage,
and what it finds on the deeper models.

    .venv/bin/python benchmarks/usage.py            # 47 min under load 12-19 on 2 cores (2026-12-02)
    .venv/bin/python benchmarks/usage.py --quick    # tiny sizes, to check the script

Three data sets, each run through ``interpret run`` in a child process as a user would
(default methods: gradient x input and DeepSHAP with 20 references, TF-MoDISco on DeepSHAP):

(a) ``demo``: the package's demo (``examples/make_example.py``: :func:`interpret.simulate.example`,
    4,000 x 101 bp, the seed's ``Conv2D(128, (1, 24))`` model trained 20 epochs), every positive
    explained;
(b) ``pooled200``: the deeper multi-task model of ``recovery.py`` (b) (same data, seed and
    training), outputs 0 (MAX, 6 bp) and 1 (Yy1, 8 bp), whose JASPAR entries no kernel logo matches;
(c) ``peaks``: :func:`interpret.simulate.peaks_like` (4,000 x 200 bp, GC-biased background, weak and
    half MAFK sites, a TP53 co-factor) and ``simulate.pooled_model`` trained 30 epochs (the tests'
    ``peaks_model``).

Cost: the run's own stage times (``summary.json``, wall clock) and, in this process after a
warm-up call, the same two computations timed alone in wall and CPU time (best of 2): DeepSHAP on
the explained sequences (``DeepShap.attribute``, batch 128 pairs as in the pipeline) and the
split of the run's seqlets (``usage.FilterSplit.contributions``, same batch). *ratio* = split / DeepSHAP.

Findings: for each motif of the run, the filters that build it (the fewest carrying 80% of its
seqlet attribution, ``summary.json`` ``filter_usage``) and how many of those TOMTOM also ties to
it (q < 0.05), beside the number of filters that resemble it at all.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from argparse import Namespace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _common import WORK, Section, md_table, run_child, versions  # noqa: E402

Q = 0.05


def make_demo(d: Path, quick: bool) -> tuple[Path, Path, str]:
    from interpret import simulate

    sim = simulate.example(n=600 if quick else 4000, seed=0)
    model = simulate.seed_model(filters=128, width=24, layout="1L4", seed=0)
    simulate.train(model, sim.x, sim.y, epochs=2 if quick else 20, seed=0)
    arch = "`Conv2D(128, (1, 24), same, relu)` on (1, 101, 4) → `GlobalMaxPooling2D` → `Dense(1)`"
    return _save(d, model, sim), arch


def make_pooled(d: Path, quick: bool) -> tuple[Path, Path, str]:
    import recovery

    args = Namespace(name=d.parent.name, n_pooled=800 if quick else 8000, epochs_pooled=2 if quick else 25, seed=0)
    ds = recovery.make_dataset("pooled200", args)
    return (ds["dir"] / "model.h5", ds["dir"] / "data.npz"), ds["arch"]


def make_peaks(d: Path, quick: bool) -> tuple[Path, Path, str]:
    from interpret import simulate

    sim = simulate.peaks_like(n=600 if quick else 4000, length=200, seed=1)
    model = simulate.pooled_model(200, 1, seed=0)
    simulate.train(model, sim.x, sim.y, epochs=2 if quick else 30, seed=0)
    return _save(d, model, sim), ("`Conv1D(32, 19, relu)` → `MaxPooling1D(4)` → `Conv1D(64, 7, relu)` → "
                                  "`GlobalMaxPooling1D` → `Dense(64, relu)` → `Dense(1)` on (200, 4)")


def _save(d: Path, model, sim) -> tuple[Path, Path]:
    d.mkdir(parents=True, exist_ok=True)
    model.save(d / "model.h5")
    np.savez_compressed(d / "data.npz", x=sim.x.astype(np.uint8), y=sim.y.astype(np.uint8))
    return d / "model.h5", d / "data.npz"


def run(model: Path, data: Path, out: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "interpret.cli", "run", str(model), str(data), "--out", str(out), "--force",
           "--seed", "0", "-q", *extra]
    res = run_child(cmd, log=out.parent / f"{out.name}.log")
    if res["returncode"] != 0:
        raise SystemExit(f"interpret run failed (exit {res['returncode']}):\n{res['tail']}")
    res["command"] = "interpret " + " ".join(cmd[3:])
    return res


def best(fn, repeats: int = 2) -> tuple[float, float]:
    fn()  # warm-up: tracing and XLA compilation
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return min(wall), min(cpu)


def cost_row(label: str, model_path: Path, out: Path, target: int) -> dict:
    """DeepSHAP on the run's explained sequences and the split of its seqlets, timed alone."""
    from interpret import io
    from interpret.attribution.methods import DeepShap
    from interpret.attribution.usage import FilterSplit

    s = io.read_json(out / "summary.json")
    model = io.load_model(model_path)
    saved = io.read_attributions(out / "attributions.h5", "deepshap")
    x, index = saved["x"].astype(np.float32), saved["index"]
    seqlets = [r for r in io.read_tsv(out / "seqlets.tsv") if r["method"] == "deepshap"]
    win = np.array([(np.searchsorted(index, int(r["seq_index"])), int(r["start"]), int(r["end"])) for r in seqlets],
                   dtype=np.int64).reshape(-1, 3)
    bs = s["parameters"]["batch_size"]
    ds = DeepShap(model, target=target, batch_size=bs)
    d_wall, d_cpu = best(lambda: ds.attribute(x, n_references=20, seed=0))
    split = FilterSplit(model, "deepshap", target=target, batch_size=bs)
    u_wall, u_cpu = best(lambda: split.contributions(x, win, n_references=20, seed=0))
    return {"data": label, "explained": len(x), "seqlets": len(win),
            "rows_with_seqlets": len(np.unique(win[:, 0])),
            "run_deepshap_s": s["attribution"]["deepshap"]["seconds"], "run_usage_s": s["timings"]["usage"],
            "run_ratio": s["timings"]["usage"] / s["attribution"]["deepshap"]["seconds"],
            "deepshap_wall": d_wall, "deepshap_cpu": d_cpu, "usage_wall": u_wall, "usage_cpu": u_cpu,
            "ratio_wall": u_wall / d_wall, "ratio_cpu": u_cpu / d_cpu,
            "max_abs_gap": s["filter_usage"]["methods"].get("deepshap", {}).get("max_abs_gap")}


def finding_rows(label: str, out: Path) -> list[dict]:
    """Per motif: JASPAR match, building filters with shares, how many TOMTOM ties to it."""
    from interpret import io

    s = io.read_json(out / "summary.json")
    build = s["filter_usage"]["motifs"]
    usage = {(r["motif"], r["filter"]): r for r in io.read_tsv(out / "motif_filters.tsv")}
    rows = []
    for m in io.read_tsv(out / "motifs.tsv"):
        mid = m["motif"]
        fids = build.get(mid, {}).get("filters", [])
        shown = ", ".join(f"{f} {100 * float(usage[mid, f]['share']):.0f}%" for f in fids[:5])
        resemble = [f for f in (m["filters"] or "").split(",") if f]
        rows.append({"data": label, "motif": mid, "jaspar": m["jaspar_name"] or "–", "n_seqlets": int(m["n_seqlets"]),
                     "n_build": len(fids), "build": shown + (f" (+{len(fids) - 5})" if len(fids) > 5 else ""),
                     "build_resembling": sum(1 for f in fids if usage[mid, f]["tomtom_q"]
                                             and float(usage[mid, f]["tomtom_q"]) < Q),
                     "n_resemble": len(resemble),
                     "top_share": float(usage[mid, fids[0]]["share"]) if fids else None})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check the script (numbers meaningless)")
    ap.add_argument("--name", default="usage", help="results/<name>.md")
    args = ap.parse_args()
    if args.quick and args.name == "usage":
        args.name = "usage_quick"

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    work = WORK / args.name
    sec = Section(args.name, "Filter usage: which first-layer filters build each motif")
    sec.data["versions"] = versions(["tensorflow-cpu", "keras", "modisco", "memelite", "numpy"])
    cases = [("demo", make_demo, [], [0]), ("pooled200", make_pooled, ["--max-seqs", "600"], [0, 1]),
             ("peaks", make_peaks, [], [0])]
    costs, finds, runs = [], [], []
    for label, make, extra, targets in cases:
        (model, data), arch = make(work / label, args.quick)
        for t in targets:
            tag = label if len(targets) == 1 else f"{label} output {t}"
            out = work / label / f"out_{t}"
            res = run(model, data, out, extra + ["--target", str(t)])
            runs.append({"data": tag, "arch": arch, "command": res["command"], "seconds": res["seconds"]})
            costs.append(cost_row(tag, model, out, t))
            finds += finding_rows(tag, out)
            print(f"{tag}: {res['seconds']:.0f} s; {costs[-1]}", flush=True)
    sec.add("Each data set through `interpret run` in a child process (default methods, TF-MoDISco on DeepSHAP, "
            "seed 0): (a) the package's demo, every positive explained; (b) the deeper multi-task model of "
            "`recovery.py` (b), outputs 0 (MAX, 6 bp) and 1 (Yy1, 8 bp), whose JASPAR entries no kernel logo "
            "matches there; "
            "(c) `simulate.peaks_like` (GC-biased background, weak and half MAFK sites, a TP53 co-factor) with "
            "`simulate.pooled_model` trained 30 epochs (the tests' `peaks_model`).\n")
    sec.add("\n".join(f"- {r['data']}: {r['arch']}; `{r['command']}` took {r['seconds']:.0f} s" for r in runs) + "\n")
    sec.add("### Cost against the DeepSHAP stage\n\n"
            "*in the run*: the stage times of `summary.json` (wall). *alone*: timed in this process after a "
            "warm-up, best of 2; CPU time is steadier than wall time when other jobs share the cores (see the "
            "load average above). *gap*: largest |Σ over filters − the seqlet's contribution in attributions.h5|.\n")
    sec.add(md_table(costs, ["data", "explained", "seqlets", "rows_with_seqlets", "run_deepshap_s", "run_usage_s",
                             "run_ratio", "deepshap_wall", "usage_wall", "ratio_wall", "deepshap_cpu", "usage_cpu",
                             "ratio_cpu", "max_abs_gap"],
                     ["data", "explained", "seqlets", "rows with seqlets", "DeepSHAP s (run)", "split s (run)",
                      "ratio (run)", "DeepSHAP s", "split s", "ratio", "DeepSHAP CPU s", "split CPU s",
                      "ratio (CPU)", "gap"]))
    sec.add("\n### Which filters build each motif\n\n"
            "*build*: the fewest filters that carry 80% of the motif's seqlet attribution, largest share first "
            "(at most 5 shown); *of them resembling*: how many of these TOMTOM also ties to the motif (q < 0.05); "
            "*resembling*: all filters TOMTOM ties to it (`motifs.tsv` `filters`).\n")
    sec.add(md_table(finds, ["data", "motif", "jaspar", "n_seqlets", "top_share", "n_build", "build",
                             "build_resembling", "n_resemble"],
                     ["data", "motif", "JASPAR match", "seqlets", "top share", "building filters", "build (share)",
                      "of them resembling", "resembling"]))
    sec.data.update({"runs": runs, "costs": costs, "findings": finds})
    path = sec.write()
    print(path.read_text())


if __name__ == "__main__":
    main()
