"""Motif recovery on simulated data with planted JASPAR motifs, seeded end to end.

    .venv/bin/python benchmarks/recovery.py            # both data sets, about 6.5 min on 2 cores
    .venv/bin/python benchmarks/recovery.py --quick    # tiny sizes, to check the script

Two data sets, each with a trained model, run through ``interpret run`` exactly as a user would
(model.h5 + data.npz on disk, the command line in a child process):

(a) ``seed101``: the seed's architecture (``Conv2D(128, (1, 24))`` on ``(1, 101, 4)`` → global max
    pool → ``Dense(1, sigmoid)``), binary, the package's example data
    (:func:`interpret.simulate.example`: CREB1, CEBPB and CTCF, 8, 10 and 15 bp, make a sequence
    positive; FOXA2 is a decoy planted at the same rate in both classes).
(b) ``pooled200``: a deeper CNN with intermediate max pooling (Koo & Eddy 2019 style:
    ``Conv1D(32, 19, relu) → MaxPool(4) → Conv1D(64, 7, relu) → global max pool → Dense(64, relu)
    → Dense(T, sigmoid)``) on 200 bp, multi-task (one output per planted motif, 6 to 20 bp), FOXA2
    decoy again; run with ``--target all`` (one complete run per output).

Metrics
-------
* **Recovered** (kernel logos; attribution motifs): some filter / TF-MoDISco pattern whose
  informative core (columns >= 0.5 bit, core >= 6 bits, as in :mod:`interpret.motifs.compare`) matches
  the planted JASPAR id with TOMTOM q < 0.05, the q-value taken over the whole bundled database
  (1,019 motifs, Benjamini–Hochberg per query). Also shown: how many the run itself *reports*
  with that id as best guarded match (``filters.tsv`` / ``motifs.tsv``).
* **Decoy hits**: the same counts for the decoy's id (should be 0 for a model that ignores it).
* **Attribution AUROC / AUPRC** (Koo & Ploenzke 2021): for each explained sequence, the score of a
  position is ``sum_bases |contrib|`` (for saliency ``sum_bases |hypothetical|``, the gradient map,
  since its ``contrib`` equals gradient x input's); positives are the positions of planted *predictive* motif
  instances (of the explained output) whose JASPAR column holds > 0.01 bit; positions inside an
  instance with less information are left out; everything else (background and decoy
  instances) is negative. AUROC and average precision per sequence, averaged over sequences.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from interpret.simulate import pooled_model  # noqa: E402
from _common import WORK, Section, md_table, run_child, versions  # noqa: E402

METHODS = ("deepshap", "gradxinput", "saliency", "ig", "ism")
DECOY = "MA0047.4"  # FOXA2
POOLED_MOTIFS = ["MA0058.4", "MA0095.4", "MA0466.4", "MA0080.7", "MA0138.3"]  # MAX 6, YY1 8, CEBPB 10, SPI1 13, REST 20
Q = 0.05
LABELS = {"seed101": "a", "pooled200": "b"}


# --------------------------------------------------------------------------------------------
# Data sets and models
# --------------------------------------------------------------------------------------------
def make_dataset(name: str, args) -> dict:
    """Simulate, train, save ``model.h5`` and ``data.npz`` under ``work/recovery/<name>``."""
    from interpret import simulate

    d = WORK / args.name / name
    d.mkdir(parents=True, exist_ok=True)
    if name == "seed101":
        sim = simulate.example(n=args.n_seed, length=101, seed=args.seed)
        model = simulate.seed_model(length=101, filters=128, width=24, layout="1L4", seed=args.seed)
        epochs = args.epochs_seed
        arch = "`Conv2D(128, (1, 24), same, relu)` on (1, 101, 4) → `GlobalMaxPooling2D` → `Dense(1, sigmoid)`"
    elif name == "pooled200":
        sim = simulate.planted(simulate.jaspar_ppms(POOLED_MOTIFS), n=args.n_pooled, length=200,
                               decoys=simulate.jaspar_ppms([DECOY]), multitask=True, seed=args.seed)
        model = pooled_model(200, len(POOLED_MOTIFS), args.seed)
        epochs = args.epochs_pooled
        arch = ("`Conv1D(32, 19, relu)` → `MaxPooling1D(4)` → `Conv1D(64, 7, relu)` → `GlobalMaxPooling1D` → "
                f"`Dense(64, relu)` → `Dense({len(POOLED_MOTIFS)}, sigmoid)` on (200, 4)")
    else:
        raise ValueError(name)
    t = time.perf_counter()
    hist = simulate.train(model, sim.x, sim.y, epochs=epochs, seed=args.seed)
    train_s = time.perf_counter() - t
    model.save(d / "model.h5")
    np.savez_compressed(d / "data.npz", x=sim.x.astype(np.uint8), y=sim.y.astype(np.uint8))
    (d / "truth.json").write_text(json.dumps({"predictive": sim.motif_ids, "decoy": sim.decoy_ids,
                                              "sites": [[list(s) for s in row] for row in sim.sites]}))
    return {"name": name, "dir": d, "sim": sim, "arch": arch, "epochs": epochs, "train_seconds": train_s,
            "val_auroc": float(hist.history["val_auroc"][-1]), "n": len(sim.x), "length": sim.x.shape[1],
            "multitask": sim.y.ndim == 2}


def run_interpret(ds: dict, args) -> dict:
    """``interpret run`` on the saved model and data, in a child process, timed."""
    exe = Path(sys.executable).parent / "interpret"
    out = ds["dir"] / "out"
    cmd = [str(exe), "run", str(ds["dir"] / "model.h5"), str(ds["dir"] / "data.npz"), "--out", str(out),
           "--force", "--methods", ",".join(args.methods), "--motifs-from", ",".join(args.motifs_from),
           "--seed", str(args.seed), "-q"]
    if ds["multitask"]:
        cmd += ["--target", "all"]
    cap = args.max_seqs_pooled if ds["multitask"] else args.max_seqs
    if cap:
        cmd += ["--max-seqs", str(cap)]
    res = run_child(cmd, log=ds["dir"] / "interpret.log")
    if res["returncode"] != 0:
        raise SystemExit(f"interpret run failed on {ds['name']} (exit {res['returncode']}):\n{res['tail']}")
    res["command"] = "interpret " + " ".join(cmd[1:])
    return res


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------
def db_q_values(ppms: list, db) -> np.ndarray:
    """TOMTOM q-values ``(n_queries, n_db)``: BH over the whole database per query, on each query's
    informative core; rows of queries too weak to be matched (core < 6 bits or under half its
    columns informative, the guard of :mod:`interpret.motifs.compare`) are 1."""
    from memelite import tomtom

    from interpret import stats
    from interpret.motifs import compare

    q = np.ones((len(ppms), len(db)))
    cores, rows = [], []
    for i, p in enumerate(ppms):
        p = np.asarray(p, dtype=np.float64)
        p = p / np.maximum(p.sum(1, keepdims=True), 1e-12)
        s, e = compare.trim_ppm(p, compare.MIN_IC)
        if e <= s:
            continue
        core = p[s:e]
        ic = compare.column_ic(core)
        if ic.sum() < compare.MIN_TOTAL_IC or np.mean(ic >= compare.MIN_IC) < compare.MIN_DENSITY:
            continue
        cores.append(np.ascontiguousarray(core.T))
        rows.append(i)
    if cores:
        import warnings

        targets = [np.ascontiguousarray(np.asarray(m.ppm, dtype=np.float64).T) for m in db]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            p = tomtom(cores, targets)[0]
        for r, i in enumerate(rows):
            q[i] = stats.bh(p[r])
    return q


def read_run(out: Path) -> dict:
    """Filters and motifs of one finished run directory."""
    from interpret import io

    fh5, _ = io.read_h5(out / "filters.h5")
    ftsv = {r["filter"]: r for r in io.read_tsv(out / "filters.tsv")}
    f_ppm = list(fh5["ppm"])
    f_rank = [int(ftsv.get(f"filter_{i}", {}).get("influence_rank", 0) or 0) for i in range(len(f_ppm))]
    f_reported = [ftsv.get(f"filter_{i}", {}).get("jaspar_id", "") for i in range(len(f_ppm))]
    mrows = io.read_tsv(out / "motifs.tsv") if (out / "motifs.tsv").exists() else []
    mh5 = io.read_h5(out / "motifs.h5")[0] if mrows else {}
    motifs = [{"id": r["motif"], "method": r["method"], "sign": r["sign"], "n_seqlets": int(r["n_seqlets"]),
               "reported": r.get("jaspar_id", ""), "ppm": mh5[f"{r['motif']}/ppm"]} for r in mrows]
    summary = io.read_json(out / "summary.json")
    return {"f_ppm": f_ppm, "f_rank": f_rank, "f_reported": f_reported, "motifs": motifs, "summary": summary}


def recovery_rows(run: dict, db, ids: list[str], roles: dict) -> list[dict]:
    """One row per motif id: filters and attribution motifs that match it."""
    index = {m.id: j for j, m in enumerate(db)}
    fq = db_q_values(run["f_ppm"], db)
    pos = [m for m in run["motifs"] if m["sign"] == "+"]
    mq = db_q_values([m["ppm"] for m in pos], db) if pos else np.ones((0, len(db)))
    rows = []
    for mid in ids:
        j = index[mid]
        fhit = np.flatnonzero(fq[:, j] < Q)
        mhit = np.flatnonzero(mq[:, j] < Q) if len(pos) else np.array([], int)
        ranks = [run["f_rank"][i] for i in fhit if run["f_rank"][i] > 0]
        best_m = max((pos[i] for i in mhit), key=lambda m: m["n_seqlets"], default=None)
        rows.append({
            "motif": f"{db[j].name} ({mid})", "width": len(db[j].ppm), "role": roles[mid],
            "filters_q": int(len(fhit)), "filters_reported": int(sum(r == mid for r in run["f_reported"])),
            "best_rank": min(ranks) if ranks else None,
            "motifs_q": int(len(mhit)), "motifs_reported": int(sum(m["reported"] == mid for m in pos)),
            "best_motif": f"{best_m['id']} ({best_m['n_seqlets']} seqlets)" if best_m else "",
            "kernel_recovered": bool(len(fhit)), "motif_recovered": bool(len(mhit)),
        })
    return rows


def usage(model, sim, mid: str, target: int, seed: int, max_seqs: int = 500) -> float | None:
    """How much the model uses ``mid``: mean drop of output ``target``'s logit when every planted
    instance of ``mid`` is replaced by random bases, over (up to ``max_seqs``) sequences carrying it."""
    rows = [i for i, sites in enumerate(sim.sites) if any(m == mid for m, _, _ in sites)][:max_seqs]
    if not rows:
        return None
    from interpret import simulate

    w = len(simulate.jaspar_ppms([mid])[mid])  # once: each call parses the bundled database
    rng = np.random.default_rng(seed)
    x = sim.x[rows]
    xm = x.copy()
    for r, i in enumerate(rows):
        for m, start, _ in sim.sites[i]:
            if m == mid:
                xm[r, start:start + w] = np.eye(4, dtype=np.float32)[rng.integers(0, 4, w)]
    return float(np.mean(model.predict(x, target=target) - model.predict(xm, target=target)))


def auc_rows(out: Path, sim, target_ids: list[str], methods, label: str) -> list[dict]:
    """Per-method mean per-sequence AUROC and AUPRC of sum_bases |contrib| for planted positions."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    from interpret import io, simulate
    from interpret.motifs import compare

    saved = io.read_attributions(out / "attributions.h5")
    index = saved["index"]
    length = saved["x"].shape[1]
    ppms = simulate.jaspar_ppms(target_ids)
    label_m = np.zeros((len(index), length), bool)
    keep = np.ones((len(index), length), bool)
    for r, row in enumerate(index):
        for mid, start, strand in sim.sites[int(row)]:
            if mid not in ppms:
                continue
            ic = compare.column_ic(ppms[mid])
            ic = ic[::-1] if strand == "-" else ic
            informative = ic > 0.01
            label_m[r, start:start + len(ic)] = informative
            keep[r, start:start + len(ic)] = informative
    usable = np.flatnonzero(label_m.any(1))
    rows = []
    summary = io.read_json(out / "summary.json")
    for m in methods:
        if m not in saved:
            continue
        # saliency: the magnitude of the gradient map itself (its contrib equals gradxinput's)
        score = np.abs(saved[m]["hypothetical" if m == "saliency" else "contrib"]).sum(-1)
        aurocs, auprcs = [], []
        for r in usable:
            k = keep[r]
            y, s = label_m[r, k], score[r, k]
            if y.all():
                continue
            aurocs.append(roc_auc_score(y, s))
            auprcs.append(average_precision_score(y, s))
        rows.append({"data": label, "method": m, "n_seqs": len(aurocs),
                     "pos_frac": float(np.mean([label_m[r, keep[r]].mean() for r in usable])) if len(usable) else None,
                     "auroc": float(np.mean(aurocs)) if aurocs else None,
                     "auprc": float(np.mean(auprcs)) if auprcs else None,
                     "seconds": summary.get("attribution", {}).get(m, {}).get("seconds")})
    return rows


# --------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default="seed101,pooled200")
    ap.add_argument("--n-seed", type=int, default=4000, help="sequences in (a)")
    ap.add_argument("--n-pooled", type=int, default=8000, help="sequences in (b)")
    ap.add_argument("--epochs-seed", type=int, default=10)
    ap.add_argument("--epochs-pooled", type=int, default=25)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--motifs-from", default="deepshap", help="methods whose attributions go through TF-MoDISco")
    ap.add_argument("--max-seqs", type=int, help="--max-seqs for (a) (default: every positive)")
    ap.add_argument("--max-seqs-pooled", type=int, default=600,
                    help="--max-seqs per target for (b): five TF-MoDISco runs must fit the time budget")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check the script (numbers meaningless)")
    ap.add_argument("--name", default="recovery", help="results/<name>.md")
    args = ap.parse_args()
    if args.quick:
        args.n_seed, args.n_pooled, args.epochs_seed, args.epochs_pooled = 600, 800, 2, 2
        args.max_seqs_pooled = 150
        args.name = args.name if args.name != "recovery" else "recovery_quick"
    args.methods = tuple(m.strip() for m in args.methods.split(",") if m.strip())
    args.motifs_from = tuple(m.strip() for m in args.motifs_from.split(",") if m.strip())

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    from interpret import io

    db = io.load_motif_db()
    names = {m.id: m.name for m in db}
    sec = Section(args.name, "Motif recovery on planted JASPAR motifs")
    sec.data["versions"] = versions(["tensorflow-cpu", "keras", "modisco", "memelite", "numpy", "scikit-learn"])
    sec.data["args"] = {k: v for k, v in vars(args).items()}
    sec.add(
        "Simulated sequences with JASPAR 2026 motifs planted on either strand, a model trained on them "
        "(seeded), then `interpret run` with every attribution method and TF-MoDISco on "
        f"{', '.join(args.motifs_from)}. *Recovered*: a kernel logo or a positive attribution motif whose "
        "informative core matches the planted JASPAR id at TOMTOM q < 0.05 over the whole bundled database "
        "(1,019 motifs); *reported*: the run's own `filters.tsv`/`motifs.tsv` name that id as the guarded best "
        "match. *logit drop*: how much the model uses the motif, the mean drop of the explained logit when "
        "its planted instances are replaced by random bases (up to 500 sequences carrying it). "
        "*best rank*: best influence rank among the matching filters. AUROC/AUPRC (Koo & Ploenzke "
        "2021): per explained sequence, positions ranked by `sum_bases |contrib|` (saliency: "
        "`sum_bases |gradient|`), positives = informative "
        "positions (> 0.01 bit) of planted predictive instances, decoy and background negative; mean over "
        "sequences (*pos. frac.*: AUPRC of a random score).")
    all_auc, datasets = [], []
    for name in [s.strip() for s in args.datasets.split(",") if s.strip()]:
        ds = make_dataset(name, args)
        run = run_interpret(ds, args)
        sim = ds["sim"]
        roles = {**{m: "predictive" for m in sim.motif_ids}, **{m: "decoy" for m in sim.decoy_ids}}
        info = {"name": name, "arch": ds["arch"], "n": ds["n"], "length": ds["length"], "epochs": ds["epochs"],
                "train_seconds": ds["train_seconds"], "val_auroc": ds["val_auroc"], "command": run["command"],
                "run_seconds": run["seconds"], "peak_rss": run["peak_rss"]}
        from interpret import io as iio

        model = iio.load_model(ds["dir"] / "model.h5")
        rows, aucs = [], []
        if ds["multitask"]:
            for t, mid in enumerate(sim.motif_ids):
                out = ds["dir"] / "out" / f"target_{t}"
                r = read_run(out)
                for row, m in zip(recovery_rows(r, db, [mid] + sim.decoy_ids, roles), [mid] + sim.decoy_ids):
                    row["target"] = t
                    row["usage"] = usage(model, sim, m, t, args.seed)
                    rows.append(row)
                aucs += auc_rows(out, sim, [mid], args.methods, f"{name} target {t} ({names[mid]})")
        else:
            out = ds["dir"] / "out"
            r = read_run(out)
            rows = recovery_rows(r, db, sim.motif_ids + sim.decoy_ids, roles)
            for row, m in zip(rows, sim.motif_ids + sim.decoy_ids):
                row["target"] = 0
                row["usage"] = usage(model, sim, m, 0, args.seed)
            aucs = auc_rows(out, sim, sim.motif_ids, args.methods, name)
        pred = [r for r in rows if r["role"] == "predictive"]
        dec = [r for r in rows if r["role"] == "decoy"]
        info.update({
            "kernel_recovered": sum(r["kernel_recovered"] for r in pred), "motif_recovered":
            sum(r["motif_recovered"] for r in pred), "n_predictive": len(pred),
            "decoy_filter_hits": sum(r["filters_q"] for r in dec), "decoy_motif_hits": sum(r["motifs_q"] for r in dec),
            "rows": rows, "auc": aucs})
        datasets.append(info)
        all_auc += aucs
        sec.add(f"### ({LABELS.get(name, name)}) `{name}`: {ds['arch']}\n\n"
                f"{ds['n']:,} sequences of {ds['length']} bp"
                + (", one sigmoid output per motif (run with `--target all`)" if ds["multitask"] else ", binary")
                + f"; trained {ds['epochs']} epochs in {ds['train_seconds']:.0f} s, validation AUROC "
                f"{ds['val_auroc']:.3f}. `{run['command']}` took {run['seconds']:.0f} s "
                f"(peak RSS {run['peak_rss'] / 2**30:.2f} GiB).\n\n"
                f"**Predictive motifs recovered: {info['kernel_recovered']}/{len(pred)} by kernel logos, "
                f"{info['motif_recovered']}/{len(pred)} by attribution motifs. Decoy hits: "
                f"{info['decoy_filter_hits']} filters, {info['decoy_motif_hits']} attribution motifs.**")
        cols = ["motif", "width", "role", "usage", "filters_q", "filters_reported", "best_rank", "motifs_q", "motifs_reported",
                "best_motif"]
        heads = ["planted motif", "width", "role", "logit drop", "filters q<0.05", "filters reported", "best rank",
                 "motifs q<0.05", "motifs reported", "largest matching motif"]
        if ds["multitask"]:
            cols, heads = ["target"] + cols, ["run"] + heads
        sec.add(md_table(rows, cols, heads))
    sec.add("### Attribution AUROC / AUPRC of planted positions\n\n"
            + md_table(all_auc, ["data", "method", "n_seqs", "auroc", "auprc", "pos_frac", "seconds"],
                       ["data set (output)", "method", "sequences", "AUROC", "AUPRC", "pos. frac.",
                        "attribution seconds"]))
    sec.data["datasets"] = datasets
    path = sec.write()
    print(path.read_text())


if __name__ == "__main__":
    main()
