"""Are JASPAR names right both ways? The naming guard of interpret.motifs.compare on planted and null PPMs.

    .venv/bin/python benchmarks/naming.py [--quick]

Writes ``benchmarks/results/naming.md`` (``naming_quick.md`` with ``--quick``: 40 motifs, no
peaks model). What it measures, in one run:

1. **Planted PPMs** (true names): the 12 motifs named in the issues (TP53, TP73, TP63, SOX2,
   CTCF, MAFK, CEBPB, CREB1, FOXA2, SP1, Pou5f1::Sox2, GATA1) and 150 random JASPAR motifs of
   5-20 bp, each as four PPMs a model gives: *filter-like* (100 sites sampled from the motif at a
   fixed offset in a 24-bp window of random bases), *seqlets* (20, 50 or 200 sampled instances
   with 0-3 random flanking bases), *diluted* (50 or 200 instances sampled from 0.5 x motif +
   0.5 x uniform, the weak sites of real data: the p53 case) and *untrimmed* (20 or 50 instances
   in a 30-bp window, the TF-MoDISco pattern that trimming left whole). A name is right when it
   is the planted id or a paralogue of it (:func:`interpret.motifs.compare.same_family`).
2. **Nulls** (every name is false): column-shuffled copies of every planted PPM (the
   shuffled-PPM null of the issue), 30-bp windows of 10-20 seqlets of GC-biased, CpG-depleted
   background (``simulate.genomic_background``, 40-75% GC: the untrimmed pattern named CTCF or
   ASCL1), and the 96 filters of an untrained seed model.
3. For each set: plain TOMTOM (the untrimmed PPM, best match at per-query q < 0.05), the guard
   before this change (absolute 0.5-bit trimming, 6-bit floor, half the core informative,
   E = p x 1,019 <= 0.005, overlap) and the guard now (:func:`interpret.motifs.compare.match_to_db`).
   *True names kept*: of the planted PPMs plain TOMTOM names right, the share the guard names
   right. CPU time of the guard against plain TOMTOM on the same queries.
4. **Cases** from the issues: the p53-family palindrome ACATGTCTGGACATGCC as a PPM at two
   strengths, diluted JASPAR TP53 and TP73, the SOX core CATTGT; and on ``simulate.peaks_like``
   (4,000 x 200 bp, the test fixture's data) the trained ``pooled_model``'s TF-MoDISco patterns
   and first-layer filters with their names, plain TOMTOM's names and composition flags
   (model, attributions and patterns cached in ``benchmarks/work/naming/``).
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import WORK, Section, md_table  # noqa: E402

from interpret import simulate  # noqa: E402
from interpret.motifs import compare, composition
from interpret.io import load_motif_db  # noqa: E402
from interpret.stats import bh  # noqa: E402

NAMED = ["MA0106.3", "MA0861.2", "MA0525.2", "MA0143.5", "MA0139.2", "MA0496.4", "MA0466.4", "MA0018.5",
         "MA0047.4", "MA0079.5", "MA0142.1", "MA0035.5"]
KINDS = ["filter-like", "seqlets", "diluted", "untrimmed"]
CALIBRATION = [(19, 0.6), (29, 0.6), (29, 0.7), (39, 0.7), (29, 0.8)]   # (n_shuffles, min_r) of the guard
ALPHA = 0.05


# --------------------------------------------------------------------------------------------
# Query sets
# --------------------------------------------------------------------------------------------
def sampled_ppm(ppm, rng, n, dilute=0.0, flank=(0, 3), window=None):
    """PPM ``(W', 4)`` of ``n`` instances of ``ppm`` (one strand), with random flanks or inside a
    ``window``-bp span at one offset; instances sampled from ``(1 - dilute) ppm + dilute / 4``."""
    w = len(ppm)
    p = (1 - dilute) * ppm + dilute * 0.25
    if window is None:
        left, right = rng.integers(flank[0], flank[1] + 1, 2)
        width, start = w + left + right, left
    else:
        width, start = window, int(rng.integers(0, window - w + 1))
    x = np.eye(4)[rng.integers(0, 4, (n, width))]
    for i in range(n):
        x[i, start:start + w] = simulate.sample_instance(p, rng, "+")
    out = (x.sum(axis=0) + 0.1) / (n + 0.4)
    return out[::-1, ::-1] if rng.random() < 0.5 else out


def planted_set(db, n_random, seed=0):
    """``[(planted id, kind, ppm)]`` for the named motifs and ``n_random`` random 5-20 bp ones."""
    rng = np.random.default_rng(seed)
    by_id = {m.id: m.ppm for m in db}
    pool = [m.id for m in db if 5 <= len(m.ppm) <= 20 and m.id not in NAMED]
    ids = NAMED + list(rng.choice(pool, n_random, replace=False))
    out = []
    for mid in ids:
        ppm = by_id[mid]
        out.append((mid, "filter-like", sampled_ppm(ppm, rng, 100, window=24)))
        out.append((mid, "seqlets", sampled_ppm(ppm, rng, int(rng.choice([20, 50, 200])))))
        out.append((mid, "diluted", sampled_ppm(ppm, rng, int(rng.choice([50, 200])), dilute=0.5)))
        out.append((mid, "untrimmed", sampled_ppm(ppm, rng, int(rng.choice([20, 50])), window=30)))
    return out


def background_windows(n, seed=1):
    """``n`` PPMs of 10-20 seqlets of 30-bp CpG-depleted background at 40-75% GC: nothing to name."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.choice([10, 15, 20]))
        x = simulate.genomic_background(k, 30, np.full(k, rng.uniform(0.4, 0.75)), rng)
        out.append((x.sum(axis=0) + 0.1) / (k + 0.4))
    return out


def untrained_filters():
    from interpret.filters import kernel_logos
    from interpret.model import Model

    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (300, 101))]
    model = Model.from_keras(simulate.seed_model(filters=96, width=24, layout="1L4", seed=3))
    return list(kernel_logos(model, x, influence=False).ppm)


# --------------------------------------------------------------------------------------------
# Namers
# --------------------------------------------------------------------------------------------
def plain_tomtom(ppms, db):
    """Plain TOMTOM on the PPMs as given: best id, or "" when its per-query q >= ALPHA."""
    p = compare._tomtom(compare._as_ppms(ppms, "query"), [m.ppm for m in db])[0]
    return [db[int(np.argmin(row))].id if bh(row).min() < ALPHA else "" for row in p]


def guard_before(ppms, db):
    """The guard before this change: 0.5-bit trimming, a 6-bit core with half its columns
    informative, per-query q < ALPHA, E = p x n_db <= 0.005, overlap >= half the shorter."""
    queries = compare._as_ppms(ppms, "query")
    out = [""] * len(queries)
    keep, cores = [], []
    for i, q in enumerate(queries):
        ok = np.flatnonzero(compare.column_ic(q) >= 0.5)
        if not len(ok):
            continue
        core = q[ok[0]:ok[-1] + 1]
        ic = compare.column_ic(core)
        if ic.sum() >= 6.0 and np.mean(ic >= 0.5) >= 0.5:
            keep.append(i)
            cores.append(core)
    if cores:
        p, score, _, overlap, _ = compare._tomtom(cores, [m.ppm for m in db])
        for row, i in enumerate(keep):
            j = int(np.lexsort((-score[row], p[row]))[0])
            if (bh(p[row])[j] < ALPHA and p[row, j] * len(db) <= 0.005
                    and overlap[row, j] >= 0.5 * min(len(cores[row]), len(db[j].ppm))):
                out[i] = db[j].id
    return out


def guard_now(ppms, db, **settings):
    return [m.id if m.significant else "" for m in compare.match_to_db(ppms, db, alpha=ALPHA, **settings)]


class Family:
    """``right(planted, named)``: the same id or paralogues (:func:`compare.same_family`), cached."""

    def __init__(self, db):
        self.db, self.cache = db, {}

    def right(self, planted: str, named: str) -> bool:
        if not named:
            return False
        if named == planted:
            return True
        key = tuple(sorted((planted, named)))
        if key not in self.cache:
            self.cache[key] = bool(compare.same_family(key, self.db, ALPHA))
        return self.cache[key]


def cpu(fn, *args):
    t = time.process_time()
    out = fn(*args)
    return out, time.process_time() - t


# --------------------------------------------------------------------------------------------
# The peaks-like case
# --------------------------------------------------------------------------------------------
def peaks_case(db):
    """pooled_model on peaks_like (the test fixtures' data and training), its TF-MoDISco patterns
    and filters; model, attributions and patterns cached in benchmarks/work/naming/."""
    cache = WORK / "naming" / "peaks.pkl"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    from interpret import filters
    from interpret.motifs import modisco
    from interpret.attribution.methods import DeepShap
    from interpret.model import Model

    sim = simulate.peaks_like(n=4000, length=200, seed=1)
    km = simulate.pooled_model(200, 1, seed=0)
    simulate.train(km, sim.x, sim.y, epochs=30, seed=0)
    model = Model.from_keras(km)
    pos = np.flatnonzero(sim.y > 0.5)
    x = sim.x[pos]
    fl = filters.kernel_logos(model, x)
    hyp = DeepShap(model, target=0).attribute(x, n_references=20, seed=0).hypothetical
    res = modisco.discover(x, hyp, pos, method="deepshap", seed=0)
    out = {"patterns": [(p.id, p.n_seqlets, p.ppm) for p in res.patterns],
           "filters": list(fl.ppm), "influence": fl.influence}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps(out))
    return out


def consensus(ppm) -> str:
    ic = compare.column_ic(ppm)
    return "".join("ACGT"[k] if ic[i] >= 0.3 else "n" for i, k in enumerate(np.argmax(ppm, axis=1)))


def onehot_ppm(seq: str, p_top: float) -> np.ndarray:
    out = np.full((len(seq), 4), (1 - p_top) / 3)
    out[np.arange(len(seq)), ["ACGT".index(c) for c in seq]] = p_top
    return out


# --------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="40 motifs, no peaks model")
    args = ap.parse_args()
    sec = Section("naming_quick" if args.quick else "naming",
                  "JASPAR names: true names kept and false names on controls")
    db = load_motif_db()
    by_id = {m.id: m for m in db}
    fam = Family(db)
    n_random = 28 if args.quick else 150

    planted = planted_set(db, n_random)
    ppms = [q for _, _, q in planted]
    rng = np.random.default_rng(2)
    shuffled = [q[rng.permutation(len(q))] for q in ppms]
    nulls = {"column-shuffled planted PPMs": shuffled,
             "GC-biased background, 30-bp windows": background_windows(50 if args.quick else 200),
             "untrained seed-model filters": untrained_filters()}
    namers = {"plain TOMTOM": plain_tomtom, "guard before": guard_before, "guard now": guard_now}
    names, secs = {}, {}
    for label, fn in namers.items():
        names[label], secs[label] = cpu(fn, ppms, db)
    rows = []
    for kind in KINDS + ["all"]:
        idx = [i for i, (_, k, _) in enumerate(planted) if kind in (k, "all")]
        plain_right = [i for i in idx if fam.right(planted[i][0], names["plain TOMTOM"][i])]
        row = {"set": kind, "n": len(idx), "plain right": len(plain_right) / len(idx)}
        for label in ("guard before", "guard now"):
            right = [i for i in idx if fam.right(planted[i][0], names[label][i])]
            wrong = [i for i in idx if names[label][i] and i not in right]
            tag = "before" if label == "guard before" else "now"
            row[f"kept {tag}"] = len(set(right) & set(plain_right)) / max(len(plain_right), 1)
            row[f"right {tag}"] = len(right) / len(idx)
            row[f"wrong {tag}"] = len(wrong) / len(idx)
        rows.append(row)
    lost = [i for i in range(len(ppms)) if fam.right(planted[i][0], names["plain TOMTOM"][i])
            and not fam.right(planted[i][0], names["guard now"][i])]
    why = _why_not([ppms[i] for i in lost], db)
    lost_rows = [{"planted": f"{by_id[planted[i][0]].name} ({planted[i][1]})", "why not": w} for i, w in zip(lost, why)]
    null_rows = []
    for label, qs in nulls.items():
        row = {"set": label, "n": len(qs)}
        for namer, fn in namers.items():
            row[namer] = float(np.mean([bool(n) for n in fn(qs, db)]))
        null_rows.append(row)
    total = rows[-1]
    # Calibration: the two settings of the guard that trade true names for false ones.
    grid = []
    for n_shuffles, min_r in CALIBRATION:
        got = guard_now(ppms, db, n_shuffles=n_shuffles, min_r=min_r)
        plain_right = [i for i in range(len(ppms)) if fam.right(planted[i][0], names["plain TOMTOM"][i])]
        right = {i for i in range(len(ppms)) if fam.right(planted[i][0], got[i])}
        row = {"n_shuffles": n_shuffles, "min_r": min_r, "kept": len(right & set(plain_right)) / len(plain_right),
               "right": len(right) / len(ppms), "wrong": sum(bool(g) and i not in right for i, g in enumerate(got)) / len(ppms)}
        for label, qs in nulls.items():
            row[label] = float(np.mean([bool(n) for n in guard_now(qs, db, n_shuffles=n_shuffles, min_r=min_r)]))
        row["largest null"] = max(row[label] for label in nulls)
        row["default"] = (n_shuffles, min_r) == (compare.N_SHUFFLES, compare.MIN_R)
        grid.append(row)
    sec.data.update({"planted": rows, "nulls": null_rows, "cpu_seconds": secs, "n_planted": len(ppms),
                     "calibration": grid, "lost": lost_rows})

    sec.add(f"{len(planted) // 4} JASPAR motifs (the 12 of the issues and {n_random} random ones of 5-20 bp), "
            "each as four PPMs (see the script's docstring); a name is right when it is the planted id or a "
            "paralogue (both matrices match each other at TOMTOM q < 0.005). *kept*: of the PPMs plain TOMTOM "
            "names right, the share the guard names right; *right* / *wrong*: share of all PPMs named right / "
            "named wrong.\n")
    sec.add(md_table(rows, ["set", "n", "plain right", "kept before", "right before", "wrong before",
                            "kept now", "right now", "wrong now"]))
    sec.add(f"\nThe {len(lost)} names plain TOMTOM gets right and the guard now refuses:\n")
    sec.add(md_table(lost_rows, ["planted", "why not"]))
    sec.add("\nNull sets: share of queries given any name (every name is false).\n")
    sec.add(md_table(null_rows, ["set", "n", "plain TOMTOM", "guard before", "guard now"]))
    worst_null = max(r["guard now"] for r in null_rows)
    sec.add(f"\n**Calibration:** true names kept {total['kept now']:.1%} (target >= 95%; the guard before kept "
            f"{total['kept before']:.1%}), largest null rate {worst_null:.1%} (target <= 5%). "
            f"CPU time for the {len(ppms)} planted PPMs: plain TOMTOM {secs['plain TOMTOM']:.1f} s, guard now "
            f"{secs['guard now']:.1f} s ({secs['guard now'] / max(secs['plain TOMTOM'], 1e-9):.0f}x: the order test "
            f"runs {compare.N_SHUFFLES} shuffled copies of each query that passes the other conditions).\n")

    sec.add("\nCalibration of the order test (`n_shuffles`: a query that is a random arrangement of its columns "
            "passes with probability at most 1 / (n_shuffles + 1)) and of the likeness threshold (`min_r`), on the "
            "same planted PPMs and nulls:\n")
    sec.add(md_table(grid, ["n_shuffles", "min_r", "default", "kept", "right", "wrong", *nulls, "largest null"]))

    # The cases of the issues, built from JASPAR and from the consensus.
    cases = {"p53 palindrome ACATGTCTGGACATGCC, top base 0.85": onehot_ppm("ACATGTCTGGACATGCC", 0.85),
             "the same, top base 0.5 (3.5 bits)": onehot_ppm("ACATGTCTGGACATGCC", 0.5),
             "TP53 MA0106.3 diluted: 0.4 x PPM + 0.6 x uniform": 0.4 * by_id["MA0106.3"].ppm + 0.15,
             "TP73 MA0861.2 diluted: 0.4 x PPM + 0.6 x uniform": 0.4 * by_id["MA0861.2"].ppm + 0.15,
             "SOX core CATTGT (top base 0.9) in 18 uniform columns":
                 np.vstack([np.full((9, 4), 0.25), onehot_ppm("CATTGT", 0.9), np.full((9, 4), 0.25)])}
    case_rows = _case_rows(list(cases), list(cases.values()), db)
    sec.add("\n### Cases from the issues\n")
    sec.add(md_table(case_rows, ["query", "core bits", "plain TOMTOM", "before", "now", "why not"]))
    sec.data["cases"] = case_rows

    if not args.quick:
        peaks = peaks_case(db)
        labels = [f"{pid} ({n} seqlets) {consensus(p)}" for pid, n, p in peaks["patterns"]]
        prow = _case_rows(labels, [p for _, _, p in peaks["patterns"]], db)
        order = np.argsort(-peaks["influence"])[:12]
        frow = _case_rows([f"filter_{i} {consensus(peaks['filters'][i])}" for i in order],
                          [peaks["filters"][i] for i in order], db)
        sec.add("\n### `simulate.peaks_like` (4,000 x 200 bp) and the trained `pooled_model`\n")
        sec.add("The data hold MAFK (full, diluted and half sites), TP53 in a quarter of the positives, GC-rich "
                "stretches (75% GC) in 30% of them and Pou5f1::Sox2 in both classes; no CTCF. TF-MoDISco patterns "
                "(DeepSHAP on the 2,000 positives, default settings; consensus: bases of columns with >= 0.3 bits):\n")
        sec.add(md_table(prow, ["query", "core bits", "plain TOMTOM", "before", "now", "why not", "composition"]))
        sec.add("\nThe 12 most influential first-layer filters:\n")
        sec.add(md_table(frow, ["query", "core bits", "plain TOMTOM", "before", "now", "why not", "composition"]))
        sec.data.update({"peaks_patterns": prow, "peaks_filters": frow})
    path = sec.write()
    print(f"wrote {path}")


def _why_not(ppms, db):
    return [m.reason or f"named {m.name}" for m in compare.match_to_db(ppms, db, alpha=ALPHA)] if ppms else []


def _case_rows(labels, ppms, db):
    plain = plain_tomtom(ppms, db)
    before = guard_before(ppms, db)
    now = compare.match_to_db(ppms, db, alpha=ALPHA)
    name = {m.id: m.name for m in db}
    rows = []
    for label, p, a, b, m in zip(labels, ppms, plain, before, now):
        rows.append({"query": label, "core bits": m.ic, "plain TOMTOM": name.get(a, "–"),
                     "before": name.get(b, "–"), "now": m.name if m.significant else "–",
                     "why not": m.reason, "composition": ", ".join(composition.describe(p).flags) or "–"})
    return rows


if __name__ == "__main__":
    main()
