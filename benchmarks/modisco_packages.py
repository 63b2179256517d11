"""TF-MoDISco package by measurement: ``modisco`` 2.5.2 against ``modisco-lite`` 3.0.0 on the same attributions.

    .venv/bin/python benchmarks/modisco_packages.py            # demo, pooled 200 bp, 10,000 x 101 bp
    .venv/bin/python benchmarks/modisco_packages.py --quick    # tiny sizes, to check the script

Both distributions install the import ``modiscolite``, so each runs from its own environment:
modisco-lite 3.0.0 from the package's ``.venv`` (the dependency), modisco 2.5.2 from
``.venv-modisco252`` (``make bench-modisco-env``: the package with modisco 2.5.2 in place of
modisco-lite); ``interpret`` comes from the source tree on ``PYTHONPATH`` in both. This script,
in the package's ``.venv``, makes the models and saves DeepSHAP
attributions once per data set (``interpret attribute``), then runs ``interpret.motifs.discover``
-- the motif stage of ``interpret run``, with the package's settings -- on those same files in a
child process per package: first with an empty ``NUMBA_CACHE_DIR`` (cold), then again with the
cache it left (warm).

Data sets: (1) the demo (``examples/make_example.py``: CREB1, CEBPB, CTCF planted, FOXA2 decoy,
its positives explained); (2) the deeper 200-bp model of ``benchmarks/recovery.py``
(Conv-MaxPool-Conv, five planted motifs, one output each), the positives of output 0 (MAX);
(3) 10,000 x 101 bp through the seed-architecture model of ``benchmarks/e2e.py``, all explained;
(4) real-peak-like data (``simulate.peaks_like``: GC-biased background, weak and half MAFK sites,
a TP53 co-factor, Pou5f1::Sox2 in both classes) through the tests' ``peaks_model``, positives.

Reported per run: wall and CPU seconds (the child's user + system time, forked workers included),
peak RSS, seqlets extracted, patterns; per data set, how the two packages' patterns correspond
(TOMTOM between the two sets, q over the whole table, bundled JASPAR as background; seqlet
counts side by side; whether the seqlets are identical) and which planted motifs each recovers
(best JASPAR match with the guard of ``compare.match_to_db``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from _common import ROOT, WORK, Section, gib, md_table, run_child  # noqa: E402

PACKAGES = {"modisco 2.5.2": ROOT / ".venv-modisco252", "modisco-lite 3.0.0": Path(sys.prefix)}
Q = 0.05


# --------------------------------------------------------------------------------------------
# Child: one discover() run in the interpreter of one package's environment
# --------------------------------------------------------------------------------------------
def child(attributions: str, out: str) -> None:
    import importlib.metadata as md

    from interpret import io
    from interpret.motifs import modisco

    saved = io.read_attributions(attributions, "deepshap")
    t, c = time.perf_counter(), time.process_time()
    res = modisco.discover(saved["x"], saved["deepshap"]["hypothetical"], saved["index"], method="deepshap")
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    io.write_modisco_h5(Path(out).with_suffix(".h5"), res.pos_patterns, res.neg_patterns,
                        res.settings.sliding_window_size)
    pkg = next(p for p in ("modisco-lite", "modisco") if _installed(md, p))
    arrays = {f"ppm_{p.id}": p.ppm for p in res.patterns}
    np.savez(out, **arrays)
    Path(out).with_suffix(".json").write_text(json.dumps({
        "package": pkg, "version": md.version(pkg), "discover_seconds": wall, "discover_cpu_seconds": cpu,
        "n_seqlets": res.n_seqlets, "n": int(len(saved["index"])), "length": int(saved["x"].shape[1]),
        "patterns": [{"id": p.id, "n_seqlets": p.n_seqlets,
                      "seqlets": sorted((s.seq_index, s.start, s.end, s.strand) for s in p.seqlets)}
                     for p in res.patterns]}))


def _installed(md, name: str) -> bool:
    try:
        md.version(name)
        return True
    except md.PackageNotFoundError:
        return False


# --------------------------------------------------------------------------------------------
# Data sets: model, data and DeepSHAP attributions, made once in the package's .venv
# --------------------------------------------------------------------------------------------
def _interpret(*args) -> None:
    subprocess.run([sys.executable, "-m", "interpret.cli", *map(str, args), "-q"], check=True)


def make_demo(d: Path, quick: bool) -> dict:
    if not (d / "model.h5").exists():
        extra = ["--n", "600", "--epochs", "2"] if quick else []
        subprocess.run([sys.executable, str(ROOT / "examples" / "make_example.py"), "--out", str(d), *extra],
                       check=True)
    truth = json.loads((d / "truth.json").read_text())
    return {"model": d / "model.h5", "data": d / "data.npz", "target": 0, "explain": "positives",
            "planted": truth["predictive"], "decoy": truth["decoy"],
            "what": "demo (`examples/make_example.py`, seed model), positives"}


def make_pooled(d: Path, quick: bool) -> dict:
    from interpret import simulate
    from recovery import DECOY, POOLED_MOTIFS

    if not (d / "model.h5").exists():
        n, epochs = (800, 2) if quick else (8000, 25)
        sim = simulate.planted(simulate.jaspar_ppms(POOLED_MOTIFS), n=n, length=200,
                               decoys=simulate.jaspar_ppms([DECOY]), multitask=True, seed=0)
        model = simulate.pooled_model(200, len(POOLED_MOTIFS), 0)
        simulate.train(model, sim.x, sim.y, epochs=epochs, seed=0)
        model.save(d / "model.h5")
        np.savez_compressed(d / "data.npz", x=sim.x.astype(np.uint8), y=sim.y.astype(np.uint8))
    return {"model": d / "model.h5", "data": d / "data.npz", "target": 0, "explain": "positives",
            "planted": [POOLED_MOTIFS[0]], "decoy": [DECOY],
            "what": "pooled 200 bp (`recovery.py` (b)), positives of output 0 (MAX)"}


def make_large(d: Path, quick: bool) -> dict:
    from e2e import make_data, make_model
    from interpret import simulate

    n = 1000 if quick else 10000
    if not (d / "model_101.h5").exists():
        make_model(101, 0, 400 if quick else 4000, 1 if quick else 5, d)
    data = d / f"data_{n}x101.npz"
    if not data.exists():
        make_data(n, 101, 1, d)
    return {"model": d / "model_101.h5", "data": data, "target": 0, "explain": "all",
            "planted": list(simulate.EXAMPLE_MOTIFS), "decoy": [simulate.EXAMPLE_DECOY],
            "what": f"{n:,} x 101 bp (`e2e.py` model and data), all explained"}


def make_peaks(d: Path, quick: bool) -> dict:
    from interpret import simulate

    if not (d / "model.h5").exists():
        n, epochs = (800, 2) if quick else (4000, 30)
        sim = simulate.peaks_like(n=n, length=200, seed=1)
        model = simulate.pooled_model(200, 1, seed=0)
        simulate.train(model, sim.x, sim.y, epochs=epochs, seed=0)
        model.save(d / "model.h5")
        np.savez_compressed(d / "data.npz", x=sim.x.astype(np.uint8), y=sim.y.astype(np.uint8))
    return {"model": d / "model.h5", "data": d / "data.npz", "target": 0, "explain": "positives",
            "planted": [simulate.PEAKS_MOTIF, simulate.PEAKS_COFACTOR], "decoy": [simulate.PEAKS_IGNORED],
            "what": "peaks-like 200 bp (`simulate.peaks_like`, the tests' `peaks_model`), positives"}


def attributions(ds: dict, d: Path) -> Path:
    path = d / "attributions.h5"
    if not path.exists():
        _interpret("attribute", ds["model"], ds["data"], "--out", path, "--methods", "deepshap",
                   "--target", ds["target"], "--explain", ds["explain"], "--seed", 0)
    return path


# --------------------------------------------------------------------------------------------
# Comparison of the two packages' patterns
# --------------------------------------------------------------------------------------------
def load_result(out: Path) -> dict:
    meta = json.loads(out.with_suffix(".json").read_text())
    arrays = np.load(out)
    for p in meta["patterns"]:
        p["ppm"] = arrays[f"ppm_{p['id']}"]
    return meta


def planted_found(res: dict, planted: list, db) -> dict:
    """{planted JASPAR id: pattern id} for patterns whose guarded best match is that id."""
    from interpret.motifs import compare

    pos = [p for p in res["patterns"] if "_pos_" in p["id"]]
    found = {}
    for p, m in zip(pos, compare.match_to_db([p["ppm"] for p in pos], db, alpha=Q) if pos else []):
        if m.significant and m.id in planted:
            found.setdefault(m.id, p["id"])
    return found


def correspondence(a: dict, b: dict) -> list[dict]:
    """Each pattern of ``a`` with its best TOMTOM partner in ``b`` (same sign), and the pattern of
    ``b`` that holds exactly its seqlets, if any."""
    from interpret.motifs import compare

    rows = []
    for sign in ("pos", "neg"):
        pa = [p for p in a["patterns"] if f"_{sign}_" in p["id"]]
        pb = [p for p in b["patterns"] if f"_{sign}_" in p["id"]]
        pairs = compare.compare_sets([p["ppm"] for p in pa], [p["ppm"] for p in pb]) if pa and pb else []
        for i, p in enumerate(pa):
            mine = [r for r in pairs if r["query"] == i]
            best = min(mine, key=lambda r: r["tomtom_q"]) if mine else None
            hit = best is not None and best["tomtom_q"] < Q
            same = [o["id"] for o in pb if o["seqlets"] == p["seqlets"]]
            rows.append({"pattern_a": p["id"], "seqlets_a": p["n_seqlets"],
                         "pattern_b": pb[best["target"]]["id"] if hit else "–",
                         "seqlets_b": pb[best["target"]]["n_seqlets"] if hit else None,
                         "tomtom_q": best["tomtom_q"] if best else None, "identical": same[0] if same else "–"})
    return rows


# --------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--child", nargs=2, metavar=("ATTRIBUTIONS", "OUT"), help=argparse.SUPPRESS)
    ap.add_argument("--datasets", default="demo,pooled200,large,peaks")
    ap.add_argument("--quick", action="store_true", help="tiny sizes, to check the script")
    ap.add_argument("--timeout", type=float, default=1200, help="seconds per run before it is killed and reported")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse runs whose results are already in benchmarks/work (after an interrupted run)")
    ap.add_argument("--name", default="modisco_packages", help="results/<name>.md")
    ap.add_argument("--env-252", type=Path, default=PACKAGES["modisco 2.5.2"],
                    help="environment with modisco 2.5.2 (make bench-modisco-env)")
    ap.add_argument("--env-3", type=Path, default=PACKAGES["modisco-lite 3.0.0"],
                    help="environment with modisco-lite 3.0.0 (default: this one, the package's own)")
    args = ap.parse_args()
    PACKAGES.update({"modisco 2.5.2": args.env_252.resolve(), "modisco-lite 3.0.0": args.env_3.resolve()})
    if args.child:
        return child(*args.child)
    if args.quick and args.name == "modisco_packages":
        args.name = "modisco_packages_quick"
    missing = [str(p) for p in PACKAGES.values() if not (p / "bin" / "python").exists()]
    if missing:
        raise SystemExit(f"missing environment(s) {', '.join(missing)}: run `make bench-modisco-env` first")

    from interpret import io

    db = io.load_motif_db()
    sec = Section(args.name, "TF-MoDISco package: modisco 2.5.2 against modisco-lite 3.0.0")
    sec.data["versions"] = {name: _child_versions(env) for name, env in PACKAGES.items()}
    makers = {"demo": make_demo, "pooled200": make_pooled, "large": make_large, "peaks": make_peaks}
    runs, corr, found_rows = [], [], []
    for name in args.datasets.split(","):
        d = WORK / args.name / name
        d.mkdir(parents=True, exist_ok=True)
        ds = makers[name](d, args.quick)
        attr = attributions(ds, d)
        results = {}
        for pkg, env in PACKAGES.items():
            tag = pkg.split()[-1]
            cache = d / f"numba_cache_{tag}"
            for which in ("cold", "warm"):
                out = d / f"result_{tag}_{which}.npz"
                saved = d / f"row_{tag}_{which}.json"
                if args.reuse and saved.exists():
                    row = {**json.loads(saved.read_text()), "reused": True}
                    if row["exit"] == 0:
                        results[pkg] = load_result(out)
                    runs.append(row)
                    continue
                if which == "warm" and runs[-1].get("timed_out"):
                    # warm is the cold run less the compile: it would run into the same timeout
                    row = {"data": name, "package": pkg, "run": which, "exit": None,
                           "error": "not run: the cold run reached the timeout"}
                    saved.write_text(json.dumps(row))
                    runs.append(row)
                    continue
                if which == "cold":
                    shutil.rmtree(cache, ignore_errors=True)
                    cache.mkdir()
                cmd = [str(env / "bin" / "python"), str(Path(__file__).resolve()), "--child", str(attr), str(out)]
                res = run_child(cmd, env={"NUMBA_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)},
                                log=d / f"log_{tag}_{which}.txt", timeout=args.timeout)
                row = {"data": name, "package": pkg, "run": which, "seconds": res["seconds"],
                       "cpu_seconds": res["cpu_seconds"], "peak_gib": gib(res["peak_rss"]), "exit": res["returncode"]}
                if res["returncode"] == 0:
                    r = load_result(out)
                    results[pkg] = r
                    row.update({"explained": r["n"], "discover_seconds": r["discover_seconds"],
                                "seqlets": f"{r['n_seqlets']['pos']:,} / {r['n_seqlets']['neg']:,}",
                                "patterns": f"{sum('_pos_' in p['id'] for p in r['patterns'])} / "
                                            f"{sum('_neg_' in p['id'] for p in r['patterns'])}"})
                elif res["seconds"] >= args.timeout:
                    row.update(error=f"killed after the {args.timeout:.0f} s timeout", timed_out=True)
                else:
                    row["error"] = res["tail"].strip().splitlines()[-1] if res["tail"].strip() else "failed"
                saved.write_text(json.dumps(row))
                runs.append(row)
                print(f"{name} {pkg} {which}: {res['seconds']:.1f} s wall, {res['cpu_seconds']:.1f} s CPU",
                      flush=True)
        a, b = (results.get(p) for p in PACKAGES)
        if a and b:
            corr += [{"data": name, **r} for r in correspondence(a, b)]
            fa, fb = planted_found(a, ds["planted"], db), planted_found(b, ds["planted"], db)
            decoy_a, decoy_b = planted_found(a, ds["decoy"], db), planted_found(b, ds["decoy"], db)
            found_rows.append({"data": ds["what"], "planted": ", ".join(ds["planted"]),
                               "found_a": ", ".join(f"{k} ({v})" for k, v in fa.items()) or "none",
                               "found_b": ", ".join(f"{k} ({v})" for k, v in fb.items()) or "none",
                               "decoy": f"{len(decoy_a)} / {len(decoy_b)}"})
        path = write_section(sec, runs, corr, found_rows)  # after every data set: an interrupted run leaves a table
    print(path.read_text())


def write_section(sec: Section, runs: list, corr: list, found_rows: list) -> Path:
    sec.parts = []
    sec.add("Both packages run `interpret.motifs.discover` (the motif stage of `interpret run`, the package's "
            "own settings from `auto_settings`) on the same saved DeepSHAP attributions (20 references), each in "
            "a child process from its own environment. *cold*: empty `NUMBA_CACHE_DIR`; *warm*: the same command "
            "again with the cache the cold run left. *wall s* and *CPU s* are the whole child (Python start-up, "
            "imports, reading the attributions, numba compilation, forked workers); *discover s* is the call "
            "alone. *seqlets* and *patterns*: positive / negative.")
    sec.add(md_table(runs, ["data", "explained", "package", "run", "seconds", "cpu_seconds", "discover_seconds",
                            "peak_gib", "seqlets", "patterns"],
                     ["data", "explained", "package", "run", "wall s", "CPU s", "discover s", "peak RSS GiB",
                      "seqlets", "patterns"]))
    speed = []
    for name in dict.fromkeys(r["data"] for r in runs):
        t = {(r["package"], r["run"]): r for r in runs if r["data"] == name and r["exit"] == 0}
        a, b = list(PACKAGES)
        for which in ("cold", "warm"):
            if (a, which) in t and (b, which) in t:
                ra, rb = t[(a, which)], t[(b, which)]
                speed.append(f"{name} {which} {ra['seconds'] / rb['seconds']:.1f}x wall, "
                             f"{ra['cpu_seconds'] / rb['cpu_seconds']:.1f}x CPU")
    if speed:
        sec.add("modisco 2.5.2 / modisco-lite 3.0.0: " + "; ".join(speed) + ".")
    sec.add("Planted motifs recovered (a positive pattern whose guarded best JASPAR match, TOMTOM q < 0.05, is "
            "the planted id; *decoy*: patterns matching the decoy, 2.5.2 / 3.0.0):")
    sec.add(md_table(found_rows, ["data", "planted", "found_a", "found_b", "decoy"],
                     ["data", "planted", "modisco 2.5.2", "modisco-lite 3.0.0", "decoy"]))
    sec.add("Correspondence: each modisco 2.5.2 pattern and its best modisco-lite 3.0.0 partner of the same sign "
            "(TOMTOM q over the whole table < 0.05, bundled JASPAR as background); *identical*: the 3.0.0 "
            "pattern that holds exactly the same seqlets (row, start, end, strand), if any.")
    sec.add(md_table(corr, ["data", "pattern_a", "seqlets_a", "pattern_b", "seqlets_b", "tomtom_q", "identical"],
                     ["data", "2.5.2 pattern", "seqlets", "best 3.0.0 match", "seqlets", "TOMTOM q",
                      "identical 3.0.0 pattern"]))
    n_same = sum(r["identical"] != "–" for r in corr)
    if corr:
        sec.add(f"{n_same} of {len(corr)} modisco 2.5.2 patterns have an identical modisco-lite 3.0.0 pattern.")
    reused = [r for r in runs if r.get("reused")]
    if reused:
        sec.add(f"{len(reused)} of the {len(runs)} rows were measured by an earlier invocation and read back "
                "(`--reuse`, after an interruption); the time in *Reproduce* is this invocation's only.")
    errs = [r for r in runs if r.get("error")]
    if errs:
        sec.add("Failed:\n\n" + "\n".join(f"- {r['data']} {r['package']} {r['run']}: `{r['error']}`" for r in errs))
    sec.data.update({"runs": runs, "correspondence": corr, "found": found_rows})
    return sec.write()


def _child_versions(env: Path) -> dict:
    code = ("import importlib.metadata as md, json; out = {}\n"
            "for p in ('modisco', 'modisco-lite', 'numba', 'leidenalg', 'igraph', 'numpy', 'scikit-learn'):\n"
            "    try: out[p] = md.version(p)\n"
            "    except md.PackageNotFoundError: pass\n"
            "print(json.dumps(out))")
    return json.loads(subprocess.run([str(env / "bin" / "python"), "-c", code], capture_output=True, text=True,
                                     check=True).stdout)


if __name__ == "__main__":
    main()
