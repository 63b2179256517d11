"""The HTML report: built from a fake-but-valid output directory (exact files of CONTRACTS.md).

``write_fake_output`` is also used by ``tests/browser_check.py`` and ``benchmarks/logo_speed.py``.
"""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from interpret import io
from interpret.report.render import MAX_FILTERS_PER_MOTIF

JASPAR = [("MA0035.5", "GATA1"), ("MA0466.4", "CEBPB"), ("MA0139.2", "CTCF"), ("MA0047.4", "FOXA2")]
SECTION_IDS = ["summary", "motifs", "filters", "heatmap", "examples", "instances", "grammar", "screen", "howto"]


# --------------------------------------------------------------------------------------
# Fake output directory
# --------------------------------------------------------------------------------------
def write_fake_output(out, n_filters: int = 8, n_motifs: int = 3, n_seqs: int = 20, length: int = 101,
                      width: int = 19, methods=("gradxinput", "deepshap"), n_never: int = 1, seed: int = 0,
                      with_summary: bool = True, wide_motif: int | None = None) -> dict:
    """Write a small valid output directory (random PPMs); return the summary dict.

    Filters ``filter_{F-n_never}`` .. ``filter_{F-1}`` never fire (n_sites 0, NaN-free zero PPM).
    ``wide_motif``: width (bp) of the first motif instead of a random 8-15 (e.g. an untrimmed 50-bp
    pattern). :func:`add_findings` adds what later stages write (effects, composition, families, screen).
    """
    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)

    # ---- filters
    ppm = rng.dirichlet(np.full(4, 0.4), size=(n_filters, width))
    weights = rng.normal(size=(n_filters, width, 4)).astype(np.float32)
    n_sites = rng.integers(5, 500, size=n_filters)
    never = list(range(n_filters - n_never, n_filters))
    n_sites[never] = 0
    ppm[never] = 0.25
    p = np.clip(ppm, 1e-9, 1)
    ic = (2 + (p * np.log2(p)).sum(-1)).sum(-1)
    influence = np.abs(rng.normal(size=n_filters))
    influence[never] = 0.0
    order = np.argsort(-influence, kind="stable")
    rank = np.empty(n_filters, int)
    rank[order] = np.arange(1, n_filters + 1)
    ids = [f"filter_{i}" for i in range(n_filters)]
    rows = []
    for i in order:
        jid, jname = JASPAR[i % len(JASPAR)] if i % 2 == 0 else ("", "")
        rows.append({"filter": ids[i], "n_sites": int(n_sites[i]), "ic": float(ic[i]),
                     "max_activation": float(rng.uniform(1, 5)) if n_sites[i] else 0.0,
                     "influence": float(influence[i]), "influence_rank": int(rank[i]), "jaspar_id": jid,
                     "jaspar_name": jname, "jaspar_q": float(rng.uniform(1e-5, 0.05)) if jid else None,
                     "group": f"g{i % 3}"})
    io.write_tsv(out / "filters.tsv", rows, ["filter", "n_sites", "ic", "max_activation", "influence",
                                             "influence_rank", "jaspar_id", "jaspar_name", "jaspar_q", "group"])
    io.write_meme(out / "filters.meme", [io.Motif(f, ppm[i], f"sites={int(n_sites[i])}", max(int(n_sites[i]), 1))
                                         for i, f in enumerate(ids)])
    io.write_h5(out / "filters.h5", {"": {"ppm": ppm, "weights": weights, "n_sites": n_sites, "ic": ic,
                                          "max_activation": np.ones(n_filters), "influence": influence}},
                attrs={"layer": "conv1d", "width": width, "threshold": 0.5})

    # ---- attributions
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n_seqs, length))]
    index = np.sort(rng.choice(n_seqs * 3, size=n_seqs, replace=False)).astype(np.int64)
    store = io.AttributionStore.open(out / "attributions.h5", index, length, list(methods),
                                     {"explained": "logit (pre-sigmoid) of output 0", "target": 0, "params": "{}"},
                                     shard_size=n_seqs)
    shard = {}
    for k, m in enumerate(methods):
        hyp = rng.normal(scale=0.05, size=(n_seqs, length, 4)).astype(np.float32)
        score = rng.normal(size=n_seqs).astype(np.float32) + k
        shard[m] = {"contrib": hyp * x, "hypothetical": hyp, "score": score,
                    "delta": np.full(n_seqs, 1e-6, np.float32) if m == "deepshap" else None}
    store.commit(0, x, shard)
    store.close()

    # ---- motifs
    mrows, mids = [], []
    groups = {}
    for k in range(n_motifs):
        sign = "+" if k % 3 != 2 else "-"
        method = methods[-1]
        mid = f"{method}_{'pos' if sign == '+' else 'neg'}_{k}"
        mw = wide_motif if (k == 0 and wide_motif) else int(rng.integers(8, 16))
        mppm = rng.dirichlet(np.full(4, 0.3), size=mw)
        cwm = mppm * rng.uniform(0.1, 1.0, size=(mw, 1)) * (1 if sign == "+" else -1)
        mids.append(mid)
        groups[mid] = {"ppm": mppm, "cwm": cwm, "hcwm": cwm}
        jid, jname = JASPAR[k % len(JASPAR)] if k % 2 == 0 else ("", "")
        mrows.append({"motif": mid, "method": method, "sign": sign, "n_seqlets": int(rng.integers(20, 400)),
                      "width": mw, "trim_start": 2, "trim_end": 2 + mw, "jaspar_id": jid, "jaspar_name": jname,
                      "jaspar_q": float(rng.uniform(1e-6, 0.05)) if jid else None})
    comp = []
    for f in ids:
        for mid in mids:
            q = float(rng.uniform(1e-6, 1.0) ** 3)
            comp.append({"filter": f, "motif": mid, "tomtom_p": q / 10, "tomtom_q": q,
                         "offset": int(rng.integers(-3, 3)), "strand": "+-"[int(rng.integers(0, 2))],
                         "pearson_r": float(rng.uniform(-0.2, 0.9))})
    io.write_tsv(out / "comparison.tsv", comp, ["filter", "motif", "tomtom_p", "tomtom_q", "offset", "strand",
                                                "pearson_r"])
    for r in mrows:
        hits = sorted((c for c in comp if c["motif"] == r["motif"] and c["tomtom_q"] < 0.05),
                      key=lambda c: c["tomtom_q"])
        r.update({"filters": ",".join(h["filter"] for h in hits), "best_filter": hits[0]["filter"] if hits else "",
                  "best_filter_q": hits[0]["tomtom_q"] if hits else None})
    if n_motifs:
        io.write_tsv(out / "motifs.tsv", mrows, ["motif", "method", "sign", "n_seqlets", "width", "trim_start",
                                                 "trim_end", "jaspar_id", "jaspar_name", "jaspar_q", "filters",
                                                 "best_filter", "best_filter_q"])
        io.write_meme(out / "motifs.meme", [io.Motif(m, groups[m]["ppm"], m, 20) for m in mids])
        io.write_h5(out / "motifs.h5", groups, attrs={"explained": "see summary.json"})
    else:
        io.write_tsv(out / "motifs.tsv", [], ["motif", "method", "sign", "n_seqlets", "width", "trim_start",
                                              "trim_end", "jaspar_id", "jaspar_name", "jaspar_q", "filters",
                                              "best_filter", "best_filter_q"])
    seqlets = []
    for n in range(n_seqs):
        for _ in range(int(rng.integers(0, 3)) if mids else 0):
            mid = mids[int(rng.integers(0, len(mids)))]
            s = int(rng.integers(0, length - 12))
            seqlets.append({"seq_index": int(index[n]), "start": s, "end": s + 12, "strand": "+-"[n % 2],
                            "motif": mid, "method": methods[-1], "contribution": float(rng.uniform(0.1, 2))})
    io.write_tsv(out / "seqlets.tsv", seqlets, ["seq_index", "start", "end", "strand", "motif", "method",
                                                "contribution"])

    usage = _write_fake_usage(out, rng, ids, mrows, comp, rows, methods[-1])

    summary = {
        "version": "0.1.0", "command": f"interpret run model.h5 data.npz --out {out.name}",
        "created": "2026-01-01T00:00:00+00:00",
        "model": {"path": "model.h5", "layout": "1L4", "seq_len": length, "n_outputs": 1,
                  "output_activation": "sigmoid",
                  "architecture": [{"name": "conv2d", "type": "Conv2D", "output_shape": f"(1, {length - width + 1}, {n_filters})",
                                    "activation": "relu", "params": n_filters * (4 * width + 1)},
                                   {"name": "flatten", "type": "Flatten", "output_shape": "(1000,)", "activation": "",
                                    "params": 0},
                                   {"name": "dense", "type": "Dense", "output_shape": "(1,)", "activation": "sigmoid",
                                    "params": 1001}]},
        "data": {"path": "data.npz", "n_total": n_seqs * 3, "n_explained": n_seqs, "length": length,
                 "n_positive": n_seqs, "source_layout": "(N, L, 4)", "keys": {"x": "x", "y": "y"}},
        "explained": "logit (pre-sigmoid) of output 0", "target": 0, "methods": list(methods),
        "motifs_from": [methods[-1]],
        "attribution": {m: {"max_abs_delta": 1e-6 if m == "deepshap" else None,
                            "max_rel_delta": 1e-5 if m == "deepshap" else None,
                            "n_above_1e-3": 0 if m == "deepshap" else None, "seconds": 1.5} for m in methods},
        "motifs": {methods[-1]: {"n_patterns": n_motifs, "modisco_h5": "modisco.h5"}},
        "comparison": {"q_threshold": 0.05, "n_filters": n_filters, "n_motifs": n_motifs,
                       "motifs_without_filter": [r["motif"] for r in mrows if not r["filters"]],
                       "motif_jaspar": {r["motif"]: r["jaspar_id"] for r in mrows if r["jaspar_id"]}},
        "filter_usage": usage,
        "timings": {"filters": 1.2, "attributions": 3.0, "motifs": 10.0, "compare": 0.4, "usage": 0.8},
        "parameters": {"target": 0, "methods": list(methods), "seed": seed, "motif_db": None},
        "versions": {"python": "3.11", "numpy": np.__version__},
    }
    if with_summary:
        io.write_json(out / "summary.json", summary)
    return summary


def _write_fake_usage(out, rng, ids, mrows, comp, frows, method) -> dict:
    """motif_filters.tsv (random shares summing to 1 per motif), filters.tsv's usage columns and
    the summary's ``filter_usage``, as :func:`interpret.pipeline._usage_stage` writes them."""
    from interpret.pipeline import USAGE_COLUMNS
    from interpret.attribution.usage import COVER

    q = {(c["filter"], c["motif"]): c["tomtom_q"] for c in comp}
    rows, building, best = [], {}, {}
    for r in mrows:
        share = rng.dirichlet(np.full(len(ids), 0.3))
        order = np.argsort(-share, kind="stable")
        n = int(np.searchsorted(np.cumsum(share[order]), COVER)) + 1
        building[r["motif"]] = {"filters": [ids[f] for f in order[:n]], "shares": [float(share[f]) for f in order[:n]]}
        for rank, f in enumerate(order, 1):
            rows.append({"motif": r["motif"], "method": method, "filter": ids[f], "rank": rank, "share": share[f],
                         "share_mean": share[f], "mean_contribution": share[f] * 0.8, "n_top3": int(rank <= 3) * 10,
                         "n_seqlets": r["n_seqlets"], "strand": "+-"[f % 2], "tomtom_q": q[ids[f], r["motif"]]})
            if share[f] > best.get(ids[f], ("", 0.0))[1]:
                best[ids[f]] = (r["motif"], float(share[f]))
    io.write_tsv(out / "motif_filters.tsv", rows, USAGE_COLUMNS)
    for r in frows:
        mid, sh = best.get(r["filter"], ("", None))
        r.update({"main_motif": mid, "main_motif_share": sh, "seqlet_share": sh / len(mrows) if sh else None})
    io.write_tsv(out / "filters.tsv", frows, list(frows[0]) if frows else [])
    return {"cover": COVER, "methods": {method: {"explained": "logit (pre-sigmoid) of output 0", "layer": "conv2d",
                                                 "n_seqlets": 40, "n_references": 20, "max_abs_gap": 1e-7,
                                                 "seconds": 0.8}},
            "motifs": building, "not_decomposed": []}


def add_findings(out, summary: dict, seed: int = 0) -> dict:
    """Add to a :func:`write_fake_output` directory what the later stages write, every piece the
    report shows filled in: effect and composition columns (``motifs.tsv``, ``filters.tsv``), group
    names, ``families.tsv`` with pooled matrices (pairs of patterns, a tenth minor), ``screen.tsv``
    over the bundled JASPAR (the run's own GATA1 and FOXA2 matches ignored), and the summary's
    ``screen``, ``effects`` and ``families``. Rewrites ``summary.json`` when it exists; returns the summary.
    """
    from interpret import stats
    from interpret.evidence import effects, screen
    from interpret.motifs import composition
    from interpret.pipeline import FAMILY_COLUMNS

    out = Path(out)
    rng = np.random.default_rng(seed)
    floor = stats.min_effect("logit")

    def effect(responds: bool, ablation: bool) -> dict:
        ins = float(rng.uniform(0.5, 3.0)) if responds else float(rng.normal(0, 0.05))
        row = {"insertion_effect": ins, "insertion_se": 0.08, "insertion_q": 1e-6 if responds else 0.6,
               "insertion_raw": ins + (1.6 if not responds else 0.1), "effect_significant": responds}
        if ablation:
            row.update(ablation_effect=ins * 0.7, ablation_se=0.1, ablation_q=1e-5 if responds else 0.7,
                       ablation_n=int(rng.integers(20, 400)))
        return row

    def flags(k: int) -> dict:
        if k % 4 == 1:      # an unnamed G/C run
            return {"gc": 0.86, "cpg": 0.04, "complexity": 1.3, "composition": "GC-rich,low complexity"}
        if k % 9 == 5:
            return {"gc": 0.74, "cpg": 0.13, "complexity": 2.6, "composition": "GC-rich,CpG"}
        return {"gc": float(rng.uniform(0.35, 0.6)), "cpg": 0.02, "complexity": 3.2, "composition": ""}

    motifs = io.read_tsv(out / "motifs.tsv")
    ids = [r["motif"] for r in motifs]
    respond = {m: k % 4 != 1 for k, m in enumerate(ids)}          # the G/C runs do not move the score
    # families: every seventh pattern pooled with the next one; a family is minor without a response
    fams, k = [], 0
    while k < len(ids):
        members = ids[k:k + 2] if k % 7 == 0 and k + 1 < len(ids) and motifs[k]["sign"] == motifs[k + 1]["sign"] \
            else ids[k:k + 1]
        fams.append(members)
        k += len(members)
    family_of = {m: f"deepshap_{'pos' if motifs[ids.index(f[0])]['sign'] == '+' else 'neg'}_family_{j}"
                 for j, f in enumerate(fams) for m in f}
    io.add_tsv_columns(out / "motifs.tsv", "motif",
                       {m: {**flags(k), "family": family_of[m], **effect(respond[m], True)} for k, m in enumerate(ids)},
                       list(composition.COLUMNS) + ["family"] + effects.MOTIF_COLUMNS)
    by_id = {r["motif"]: r for r in motifs}
    arrays, _ = io.read_h5(out / "motifs.h5") if ids else ({}, {})
    rows, groups = [], {}
    for members in fams:
        fid, rep = family_of[members[0]], by_id[members[0]]
        n = sum(int(by_id[m]["n_seqlets"]) for m in members)
        minor = "" if any(respond[m] for m in members) else "no significant effect"
        rows.append({"family": fid, "method": rep["method"], "sign": rep["sign"], "n_patterns": len(members),
                     "members": ",".join(members), "n_seqlets": n, "width": rep["width"],
                     "jaspar_id": rep["jaspar_id"], "jaspar_name": rep["jaspar_name"], "jaspar_q": rep["jaspar_q"],
                     "minor": minor})
        groups[f"families/{fid}"] = {k: arrays[f"{members[0]}/{k}"] for k in ("ppm", "cwm", "hcwm")}
    if ids:
        io.write_tsv(out / "families.tsv", rows, FAMILY_COLUMNS)
        io.write_h5(out / "motifs.h5", groups, mode="a")

    filters = io.read_tsv(out / "filters.tsv")
    names = {"g0": "SOX-like", "g2": "CTCF-like"}
    values = {}
    for k, r in enumerate(filters):
        fires = int(r["n_sites"]) > 0
        values[r["filter"]] = {**flags(k), "group_name": names.get(r["group"], ""),
                               **(effect(k % 3 != 1, False) if fires else {})}
    io.add_tsv_columns(out / "filters.tsv", "filter", values,
                       ["group_name"] + list(composition.COLUMNS) + effects.FILTER_COLUMNS)

    own = {jid for r in motifs + filters for jid in [r["jaspar_id"]] if jid}
    ignored = {"MA0035.5", "MA0047.4"}                             # GATA1, FOXA2: resembled, not used
    srows = []
    for m in io.load_motif_db():
        if m.id in own:
            mean = 0.02 if m.id in ignored else float(rng.uniform(1.0, 2.5))
        else:
            mean = float(rng.choice([rng.normal(0, 0.1), rng.uniform(0.3, 3.5), -rng.uniform(0.3, 1.5)],
                                    p=[0.94, 0.04, 0.02]))
        se = 0.06
        sig = bool(abs(mean) >= floor and abs(mean) / se > 4)
        srows.append({"id": m.id, "name": m.name, "width": len(m.ppm), "mean_delta": mean, "se": se, "z": mean / se,
                      "p": 1e-6 if sig else 0.5, "q": 1e-5 if sig else 0.8, "effect_significant": sig,
                      "delta_forward": mean, "delta_reverse": mean, "consensus_delta": mean * 1.1,
                      "raw_delta": mean + 0.3})
    srows.sort(key=lambda r: -r["mean_delta"])
    io.write_tsv(out / "screen.tsv", srows, screen.COLUMNS)
    _add_names(out, srows, rows, ids, filters)
    explained = summary.get("explained", "")
    summary["screen"] = {"database": "bundled JASPAR 2026 CORE vertebrates", "n_motifs": len(srows),
                         "backgrounds": 100, "positions": 1, "explained": explained, "rule": stats.rule("logit"),
                         "min_effect": floor, "n_raise": sum(r["effect_significant"] and r["mean_delta"] > 0 for r in srows),
                         "n_lower": sum(r["effect_significant"] and r["mean_delta"] < 0 for r in srows)}
    summary["effects"] = {"explained": explained, "rule": stats.rule("logit"), "min_effect": floor,
                          "motifs_responding": [m for m in ids if respond[m]],
                          "motifs_not_responding": [m for m in ids if not respond[m]]}
    summary["families"] = {"n_families": len(fams), "n_minor_families": sum(bool(r["minor"]) for r in rows),
                           "n_minor_patterns": sum(r["n_patterns"] for r in rows if r["minor"]),
                           "minor_seqlets": 20, "minor_by_effect": True}
    summary.setdefault("timings", {}).update(screen=30.0, effects=12.0, families=0.5)
    if (out / "summary.json").exists():
        io.write_json(out / "summary.json", summary)
    return summary


def _add_names(out, srows, families, motif_ids, filters) -> None:
    """What the names stage writes: group and link columns (every third unnamed pattern and filter
    resembles the strongest responding group) and screen_groups.tsv, the strongest raising group
    carried by the first family, the next by filters only, the rest by nothing."""
    from interpret.evidence import names

    groups = io.load_motif_groups()
    sg = names.screen_groups(srows, groups)
    top = sg[0].group if sg else ""
    by_id = {r["id"]: r for r in srows}

    def cols(rows, key, sign):
        return {r[key]: {**names.annotate(r["jaspar_id"], groups),
                         "resembles_groups": top if not r["jaspar_id"] and k % 3 == 0 else "",
                         "screen_check": names.check_name(r["jaspar_id"], sign(r), by_id, groups)}
                for k, r in enumerate(rows)}

    motifs = io.read_tsv(out / "motifs.tsv")
    for table, key, rows, sign in (("motifs.tsv", "motif", motifs, lambda r: 1 if r["sign"] == "+" else -1),
                                   ("families.tsv", "family", families, lambda r: 1 if r["sign"] == "+" else -1),
                                   ("filters.tsv", "filter", filters, lambda r: 0)):
        if rows:
            io.add_tsv_columns(out / table, key, cols(rows, key, sign), names.GROUP_COLUMNS + names.LINK_COLUMNS)
    io.add_tsv_columns(out / "screen.tsv", "id", {r["id"]: names.annotate(r["id"], groups) for r in srows},
                       names.GROUP_COLUMNS)
    carried = {0: ("pattern", families[0]["family"] if families else "", ""),
               1: ("filter", "", ",".join(r["filter"] for r in filters[:5]))}
    io.write_tsv(out / "screen_groups.tsv", [
        {"motif_group": g.group, "tf_family": g.tf_family, "tf_class": g.tf_class, "sign": "+" if g.sign > 0 else "-",
         "n_members": g.n_members, "n_responding": len(g.members), **{k: g.best[k] for k in ("id", "name", "mean_delta",
                                                                                              "se", "q")},
         **dict(zip(("carried", "families", "filters"), carried.get(k, ("none", "", ""))))} for k, g in enumerate(sg)],
        names.SCREEN_GROUP_COLUMNS)


def write_layout_output(out) -> dict:
    """The layout stress case of ``make browser-test``: 512 filters (24 bp, 40 never fire), 60
    motifs of which the first is 50 bp wide, hundreds of filters per motif, 1,000-bp sequences,
    every later stage's columns and sections filled in (:func:`add_findings`)."""
    summary = write_fake_output(out, n_filters=512, n_motifs=60, n_seqs=200, length=1000, width=24, n_never=40,
                                seed=3, wide_motif=50)
    return add_grammar(out, add_findings(out, summary, seed=3))


def add_grammar(out, summary: dict) -> dict:
    """grammar.tsv and the summary's grammar block: a composite's parts, pairs of families with long
    names at short, far and upstream spacings on either strand, each with its far control."""
    from interpret import stats
    from interpret.evidence import grammar

    rows = []
    for k, (a, b, orient, spacing, kind, x) in enumerate([
            ("GATA1", "TAL1::TCF3", "same", 21.5, "composite", 7.7),
            ("Pou5f1::Sox2", "Pou5f1::Sox2", "opposite", -15.0, "enriched", 2.1),
            ("NR2F1(var.2)::RXRA-like long name", "CTCF", "same", 150.5, "enriched", -0.6),
            ("TP53", "TP53", "same", 10.0, "enriched", 0.05)]):
        fa = f"deepshap_pos_family_{k}"
        fb = fa if a == b or kind == "composite" else f"deepshap_pos_family_{k + 10}"
        for row_kind, s, v in ((kind, spacing, x), ("control", 480.5 if spacing > 0 else -480.5, -0.3)):
            rows.append({"motif_a": fa, "motif_b": fb, "name_a": a, "name_b": b, "orientation": orient,
                         "spacing": s, "n_observed": 0 if row_kind != "enriched" else 120 + k,
                         "enrichment": None if kind == "composite" else 14.2, "enrichment_q": 1e-8,
                         "interaction": v, "interaction_se": 0.2, "interaction_q": 1e-6 if abs(v) > 0.2 else 0.6,
                         "kind": row_kind, "n_expected": 8.4, "interaction_significant": abs(v) >= 0.2})
    io.write_tsv(Path(out) / "grammar.tsv", rows, grammar.COLUMNS)
    summary["grammar"] = {"explained": summary.get("explained", ""), "null": grammar.NULL,
                          "rule": stats.rule("logit"), "min_effect": 0.2, "backgrounds": 100, "hits": 5321,
                          "sequences": 180, "min_pairs": grammar.MIN_PAIRS, "family_pairs_tested": 12,
                          "arrangements": 4120, "enriched": 3, "tested_in_silico": len(rows), "interacting": []}
    if (Path(out) / "summary.json").exists():
        io.write_json(Path(out) / "summary.json", summary)
    return summary


# --------------------------------------------------------------------------------------
# HTML parsing
# --------------------------------------------------------------------------------------
class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []          # (tag, attrs dict)
        self.text = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def find(self, tag=None, **attrs):
        out = []
        for t, a in self.tags:
            if tag and t != tag:
                continue
            if all((a.get(k.replace("_", "-")) == v) if v is not True else k.replace("_", "-") in a
                   for k, v in attrs.items()):
                out.append(a)
        return out

    def with_class(self, cls, tag=None):
        return [a for t, a in self.tags if (tag is None or t == tag) and cls in (a.get("class") or "").split()]


def parse(path) -> _Page:
    p = _Page()
    p.feed(Path(path).read_text(encoding="utf-8").replace("<wbr>", ""))     # a line-break hint inside ids
    return p


@pytest.fixture(scope="module")
def fake_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("out")
    write_fake_output(d)
    return d


@pytest.fixture(scope="module")
def rendered(fake_dir):
    from interpret.report.render import render_report

    path = render_report(fake_dir)
    return path, parse(path)


# --------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------
def test_every_section_present(rendered):
    _, page = rendered
    ids = [a["id"] for t, a in page.tags if t == "section" and "id" in a]
    assert ids == SECTION_IDS


def test_no_external_urls_and_every_image_inline(rendered):
    path, page = rendered
    html = path.read_text()
    assert not page.find("link"), "no <link> elements"
    assert not [a for a in page.find("script") if "src" in a], "no external scripts"
    for tag, a in page.tags:
        for k in ("src", "href", "xlink:href", "data", "poster", "srcset", "action"):
            v = a.get(k)
            if v is None:
                continue
            assert v.startswith(("#", "data:")) or (tag == "svg" and k == "xmlns"), f"<{tag} {k}={v!r}>"
    for a in page.find("img"):
        assert a["src"].startswith("data:image/")
    # no URL anywhere except the SVG namespace declaration
    urls = set(re.findall(r"https?://[^\s\"'<>)]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls
    assert "url(" not in html and "@import" not in html


def test_filter_logo_counts_match_filters_tsv(rendered, fake_dir):
    _, page = rendered
    rows = io.read_tsv(fake_dir / "filters.tsv")
    n_never = sum(int(r["n_sites"]) == 0 for r in rows)
    assert len(page.with_class("filter-row", "tr")) == len(rows) == 8
    assert len(page.find("svg", data_kind="weight")) == len(rows)
    assert len(page.find("svg", data_kind="activation")) == len(rows) - n_never == 7
    assert len(page.find("span", data_kind="never")) == n_never == 1
    # sorted by influence rank
    order = [a["data-filter"] for a in page.with_class("filter-row", "tr")]
    by_rank = [r["filter"] for r in sorted(rows, key=lambda r: int(r["influence_rank"]))]
    assert order == by_rank


def test_motif_rows_match_motifs_tsv(rendered, fake_dir):
    _, page = rendered
    rows = io.read_tsv(fake_dir / "motifs.tsv")
    assert [a["data-motif"] for a in page.with_class("motif-row", "tr")] == [r["motif"] for r in rows]
    assert len(page.find("svg", data_kind="cwm")) == len(page.find("svg", data_kind="ppm")) == 3
    n_jaspar_motifs = sum(bool(r["jaspar_id"]) for r in rows)
    n_jaspar_filters = sum(bool(r["jaspar_id"]) for r in io.read_tsv(fake_dir / "filters.tsv"))
    assert len(page.find("svg", data_kind="jaspar")) == n_jaspar_motifs + n_jaspar_filters
    # resemblers: the MAX_FILTERS_PER_MOTIF most similar (lowest q), filter_7 never fires (no logo)
    q = {(r["filter"], r["motif"]): float(r["tomtom_q"]) for r in io.read_tsv(fake_dir / "comparison.tsv")}
    expected = [f for r in rows for f in sorted((f for f in r["filters"].split(",") if f),
                                                key=lambda f: q[f, r["motif"]])[:MAX_FILTERS_PER_MOTIF]
                if f != "filter_7"]
    assert [a["data-filter"] for a in page.find("svg", data_kind="motif-filter")] == expected and expected


def test_motif_rows_show_the_filters_that_build_them_capped_with_a_count(rendered, fake_dir):
    _, page = rendered
    summary = io.read_json(fake_dir / "summary.json")["filter_usage"]["motifs"]
    share = {(r["motif"], r["filter"]): r for r in io.read_tsv(fake_dir / "motif_filters.tsv")}
    never = {r["filter"] for r in io.read_tsv(fake_dir / "filters.tsv") if int(r["n_sites"]) == 0}
    shown = [a["data-filter"] for a in page.find("svg", data_kind="motif-builder")]
    expected = [f for m in (r["motif"] for r in io.read_tsv(fake_dir / "motifs.tsv"))
                for f in summary[m]["filters"][:MAX_FILTERS_PER_MOTIF] if f not in never]
    assert shown == expected and shown
    text = " ".join(page.text)
    capped = [(m, e) for m, e in summary.items() if len(e["filters"]) > MAX_FILTERS_PER_MOTIF]
    assert capped
    for m, entry in capped:
        assert f"+{len(entry['filters']) - MAX_FILTERS_PER_MOTIF} more; all {len(entry['filters'])} carry" in text
    top_motif, top = next(iter(summary.items()))
    assert f"{100 * float(share[top_motif, top['filters'][0]]['share']):.0f}%" in text


def test_usage_heatmap_beside_similarity_and_main_motif_per_filter(rendered, fake_dir):
    path, page = rendered
    html = path.read_text().replace("<wbr>", "")
    assert html.count('class="heatmap"') == 2 and "share of the motif" in html
    cells = [a for a in page.find("td", data_kind="main-motif")]
    assert len(cells) == 8
    build = io.read_json(fake_dir / "summary.json")["filter_usage"]["motifs"]
    shown = {r["filter"]: r["main_motif"] for r in io.read_tsv(fake_dir / "filters.tsv")
             if r["main_motif"] and r["filter"] in build[r["main_motif"]]["filters"]}
    rows = page.with_class("filter-row", "tr")
    assert 0 < len(shown) < 8
    html_rows = re.findall(r'<tr class="filter-row[^"]*" data-filter="([^"]+)"[^>]*>(.*?)</tr>', html, re.S)
    for fid, body in html_rows:
        cell = re.search(r'data-kind="main-motif">(.*?)</td>', body, re.S).group(1)
        assert (f"<b>{shown[fid]}</b>" in cell) if fid in shown else ("—" in cell and "<b>" not in cell)
    assert len(html_rows) == len(rows) == 8


def test_examples_one_track_per_method(rendered):
    _, page = rendered
    tracks = page.find("svg", data_kind="attribution")
    assert len(tracks) == 5 * 2
    assert {a["data-method"] for a in tracks} == {"gradxinput", "deepshap"}


def test_examples_are_the_top_scoring_sequences(rendered, fake_dir):
    _, page = rendered
    a = io.read_attributions(fake_dir / "attributions.h5")
    top = a["index"][np.argsort(-a["gradxinput"]["score"])[:5]]
    shown = [int(x["data-seq"]) for x in page.find("div") if "data-seq" in x]
    assert shown == top.tolist()


def test_glyphs_defined_once_and_referenced(rendered):
    path, page = rendered
    html = path.read_text()
    assert html.count('id="lgA"') == 1
    uses = page.find("use")
    assert uses and all(u["href"] in ("#lgA", "#lgC", "#lgG", "#lgT") for u in uses)


def test_figures_written(rendered, fake_dir):
    for name in ("motifs", "filters"):
        for ext in ("svg", "pdf"):
            f = fake_dir / "figures" / f"{name}.{ext}"
            assert f.exists() and f.stat().st_size > 1000, f


def test_rerender_reads_summary_json_and_is_identical(rendered, fake_dir):
    from interpret.report.render import render_report

    first = rendered[0].read_text()
    render_report(fake_dir, figures=False)
    assert (fake_dir / "report.html").read_text() == first


def test_summary_passed_before_summary_json_exists(tmp_path):
    from interpret.report.render import render_report

    summary = write_fake_output(tmp_path / "o", with_summary=False)
    page = parse(render_report(tmp_path / "o", summary, figures=False))
    text = " ".join(page.text)
    assert "logit (pre-sigmoid) of output 0" in text
    assert "summary.json is missing" not in text


def test_no_motifs_says_so(tmp_path):
    from interpret.report.render import render_report

    write_fake_output(tmp_path / "o", n_motifs=0)
    page = parse(render_report(tmp_path / "o"))
    text = " ".join(page.text)
    assert "TF-MoDISco found no motifs" in text
    assert not page.with_class("motif-row")
    assert [a["id"] for t, a in page.tags if t == "section"] == SECTION_IDS
    assert (tmp_path / "o" / "figures" / "filters.pdf").exists()


def test_missing_pieces_do_not_crash(tmp_path):
    from interpret.report.render import render_report

    d = tmp_path / "o"
    write_fake_output(d)
    for name in ("attributions.h5", "comparison.tsv", "motifs.h5", "motifs.tsv", "filters.h5", "summary.json",
                 "seqlets.tsv"):
        (d / name).unlink()
    page = parse(render_report(d))
    text = " ".join(page.text)
    assert "attributions.h5 is missing" in text
    assert "summary.json is missing" in text
    assert "motifs.tsv is missing" in text
    # filters still drawn from filters.meme; no weights without filters.h5
    assert len(page.with_class("filter-row", "tr")) == 8
    assert len(page.find("svg", data_kind="activation")) == 7
    assert not page.find("svg", data_kind="weight")


def test_method_without_attributions_says_so(tmp_path):
    import h5py

    from interpret.report.render import render_report

    d = tmp_path / "o"
    write_fake_output(d)
    with h5py.File(d / "attributions.h5", "a") as f:
        del f["gradxinput"]
    page = parse(render_report(d, figures=False))
    assert "No attributions for: gradxinput" in " ".join(page.text)
    assert {a["data-method"] for a in page.find("svg", data_kind="attribution")} == {"deepshap"}


def test_multi_target_index_page(tmp_path):
    from interpret.report.render import render_report

    io.write_json(tmp_path / "summary.json", {"version": "0.1.0", "targets": {
        "0": {"dir": "target_0", "explained": "logit of output 0"},
        "1": {"dir": "target_1", "explained": "logit of output 1"}}})
    page = parse(render_report(tmp_path))
    assert [a["href"] for a in page.find("a")] == ["target_0/report.html", "target_1/report.html"]


def test_512_filters_50_motifs_under_20_mb(tmp_path):
    from interpret.report.render import render_report

    d = tmp_path / "big"
    write_fake_output(d, n_filters=512, n_motifs=50, n_seqs=200, length=1000, width=24, n_never=40, seed=3)
    t = time.perf_counter()
    path = render_report(d, figures=False)
    seconds = time.perf_counter() - t
    size = path.stat().st_size
    assert size < 20e6, f"{size / 1e6:.1f} MB"
    page = parse(path)
    assert len(page.with_class("filter-row", "tr")) == 512
    assert len(page.with_class("motif-row", "tr")) == 50
    assert seconds < 60, seconds


def test_layout_sizes_logo_widths_caps_and_effect_precision():
    from interpret.report.render import _fmt_pm, capped, logo_px

    assert logo_px(50, 210) == 210.0            # a 50-bp pattern takes the column, 4.2 px a position
    assert logo_px(8, 210) == 8 * 14            # a short one stops at 14 px a position
    assert logo_px(15, 210) == 210.0 and logo_px(0, 210) == 14.0
    assert logo_px(24, 56, max_bp_px=4) == 56.0
    assert capped(list(range(57)), 4) == ([0, 1, 2, 3], 53)
    assert capped(["a"], 4) == (["a"], 0)
    # the SE's first digit sets the decimals
    assert _fmt_pm(0.0684, 0.08) == "0.07 ± 0.08" and _fmt_pm(1.96, 0.08) == "1.96 ± 0.08"
    assert _fmt_pm(0.764, 0.1) == "0.8 ± 0.1" and _fmt_pm(12.3, 1.5) == "12 ± 2"


def test_a_50_bp_motif_is_drawn_at_the_column_width_with_its_bp_count(tmp_path):
    from interpret.report import logo
    from interpret.report.render import LOGO_MAX_BP_PX, MOTIF_LOGO_PX, render_report

    write_fake_output(tmp_path, n_motifs=3, wide_motif=50)
    page = parse(render_report(tmp_path, figures=False))
    axis = float(re.search(r'width="([\d.]+)"', logo.logo_svg(np.full((1, 4), 0.25), "bits", width=10)).group(1)) - 10
    widths = {}
    for a in page.find("svg", data_kind="cwm"):
        widths[a["data-motif"]] = float(a["width"]) - axis
    motifs = io.read_tsv(tmp_path / "motifs.tsv")
    assert int(motifs[0]["width"]) == 50 and widths[motifs[0]["motif"]] == MOTIF_LOGO_PX
    for r in motifs[1:]:                        # 8-15 bp
        assert widths[r["motif"]] == min(MOTIF_LOGO_PX, int(r["width"]) * LOGO_MAX_BP_PX)
    text = " ".join(page.text)
    assert "50 bp" in text and all(f"{r['width']} bp" in text for r in motifs)


def test_group_names_and_composition_badges_shown(tmp_path):
    from interpret.report.render import render_report

    write_fake_output(tmp_path)
    extra = ["group_name", "gc", "cpg", "complexity", "composition"]
    for name, flagged in (("filters.tsv", "GC-rich,CpG"), ("motifs.tsv", "GC-rich,low complexity")):
        rows = io.read_tsv(tmp_path / name)
        cols = list(rows[0]) + [c for c in extra if c not in rows[0] and (name == "filters.tsv" or c != "group_name")]
        for k, r in enumerate(rows):
            r.update(gc=0.8 if k == 0 else 0.45, cpg=0.12 if k == 0 else 0.03, complexity=2.1,
                     composition=flagged if k == 0 else "")
            if name == "filters.tsv":
                r.update(group="2", group_name="SOX-like") if k == 0 else r.update(group_name="")
        io.write_tsv(tmp_path / name, rows, cols)
    page = parse(render_report(tmp_path))
    badges = [a.get("data-flag") for a in page.with_class("badge", "span")]
    assert badges == ["GC-rich", "low complexity", "GC-rich", "CpG"]     # the motif row, then the filter row
    assert "group 2: SOX-like" in "".join(page.text)


def test_screen_section_and_effect_columns(tmp_path):
    """Known-motif screen by motif group, strongest group of each sign first, with logos and bars
    (grouped from screen.tsv for a run without screen_groups.tsv, and said to be unlinked), the run's
    own JASPAR matches the model ignores named, and patterns without a response said to be so."""
    from interpret.evidence import effects, names, screen
    from interpret.report.render import MAX_MEMBERS, NO_RESPONSE, render_report

    summary = write_fake_output(tmp_path, n_filters=6, n_motifs=3, with_summary=False)
    own = {r["jaspar_id"]: r["jaspar_name"] for r in io.read_tsv(tmp_path / "filters.tsv") + io.read_tsv(tmp_path / "motifs.tsv")
           if r["jaspar_id"]}
    db = [m for m in io.load_motif_db() if m.id not in own]
    rows = []
    for k, m in enumerate(db[:40]):
        mean = 3.0 - 0.15 * k                                     # 20 raise the score, 19 lower it, one at 0
        rows.append({"id": m.id, "name": m.name, "width": len(m.ppm), "mean_delta": mean, "se": 0.1, "z": mean / 0.1,
                     "p": 1e-3, "q": 0.01, "effect_significant": abs(mean) >= 0.2, "delta_forward": mean,
                     "delta_reverse": mean, "consensus_delta": mean, "raw_delta": mean})
    rows += [{"id": i, "name": n, "width": 8, "mean_delta": 0.01, "se": 0.05, "z": 0.2, "p": 0.8, "q": 0.9,
              "effect_significant": False, "delta_forward": 0, "delta_reverse": 0, "consensus_delta": 0,
              "raw_delta": 0.5} for i, n in own.items()]            # the fake run's own matches: ignored
    io.write_tsv(tmp_path / "screen.tsv", rows, screen.COLUMNS)
    motif_ids = [r["motif"] for r in io.read_tsv(tmp_path / "motifs.tsv")]
    io.add_tsv_columns(tmp_path / "motifs.tsv", "motif", {
        motif_ids[0]: {"insertion_effect": 2.5, "insertion_se": 0.1, "insertion_q": 1e-9, "insertion_raw": 2.6,
                       "ablation_effect": 1.8, "ablation_se": 0.2, "ablation_q": 1e-6, "ablation_n": 40,
                       "effect_significant": True},
        motif_ids[1]: {"insertion_effect": 0.02, "insertion_se": 0.05, "insertion_q": 0.8, "insertion_raw": 1.1,
                       "ablation_effect": 0.01, "ablation_se": 0.04, "ablation_q": 0.9, "ablation_n": 30,
                       "effect_significant": False}}, effects.MOTIF_COLUMNS)
    io.add_tsv_columns(tmp_path / "filters.tsv", "filter", {"filter_0": {
        "insertion_effect": 0.05, "insertion_se": 0.05, "insertion_q": 0.5, "insertion_raw": 0.05,
        "effect_significant": False}}, effects.FILTER_COLUMNS)
    summary["screen"] = {"database": "bundled JASPAR", "backgrounds": 100, "positions": 1, "rule": "the rule"}
    summary["effects"] = {"min_effect": 0.2}
    page = parse(render_report(tmp_path, summary, figures=False))
    shown = page.with_class("screen-group", "tr")
    parsed = [{**r, "effect_significant": bool(r["effect_significant"])} for r in rows]
    expected = names.screen_groups(parsed, io.load_motif_groups())
    assert [(a["data-group"], a["data-motif"]) for a in shown] == [(g.group, g.best["id"]) for g in expected]
    assert shown[0]["data-motif"] == db[0].id and next(g for g in expected if g.sign < 0).best["id"] == db[39].id
    assert sum(g.sign > 0 for g in expected) < 19 and sum(len(g.members) for g in expected) == 19 + 18
    assert len(page.with_class("effect-bar", "svg")) == len(page.find("svg", data_kind="screen")) == len(shown)
    text = " ".join(page.text)
    assert "no screen_groups.tsv" in text and all(a["data-carried"] == "" for a in shown)
    assert "carried by no pattern" not in [t.strip() for t in page.text]    # unlinked: nothing claimed
    assert f"{len(expected[0].members)} of {expected[0].n_members}" in text
    assert "Expected but ignored" in text and own and all(n in text for n in own.values())
    # each ignored motif counts its resemblers, naming at most MAX_MEMBERS of each kind
    for jid in own:
        n_f = sum(r["jaspar_id"] == jid for r in io.read_tsv(tmp_path / "filters.tsv"))
        n_m = sum(r["jaspar_id"] == jid for r in io.read_tsv(tmp_path / "motifs.tsv"))
        said = re.search(rf"\({re.escape(jid)}, effect [^)]*\), resembled by([^;.]*)", text).group(1)
        assert (f"{n_m} motif" in said) == (n_m > 0) and (f"{n_f} filter" in said) == (n_f > 0)
        assert said.count("filter_") == min(n_f, MAX_MEMBERS) and (f"+{n_f - MAX_MEMBERS})" in said) == (n_f > MAX_MEMBERS)
    nulls = page.with_class("null", "span")                     # motif 1 and filter_0; motif 0 responds
    assert len(nulls) == 2 and NO_RESPONSE in text
    assert "its GC content alone: 1.1" in text                 # motif 1: raw 1.1 against 0.02 arranged
    assert text.count("its GC content alone") == 1             # motif 0: raw 2.6 against 2.5, below the floor


def test_findings_at_the_top_name_what_the_model_responds_to(tmp_path):
    """The first lines of the page: named motifs that raise the score, an unnamed GC-rich one said
    to act by its GC content, a negative one, one the model ignores; and that GC note in its row."""
    from interpret.evidence import effects
    from interpret.report.render import render_report

    summary = write_fake_output(tmp_path, n_filters=6, n_motifs=4, with_summary=False)
    rows = io.read_tsv(tmp_path / "motifs.tsv")
    ids = [r["motif"] for r in rows]
    assert [r["sign"] for r in rows] == ["+", "+", "-", "+"]
    for k, r in enumerate(rows):
        r.update(jaspar_id="MA0139.2" if k == 0 else "", jaspar_name="CTCF" if k == 0 else "",
                 jaspar_q=1e-4 if k == 0 else "")
    io.write_tsv(tmp_path / "motifs.tsv", rows, list(rows[0]))

    def eff(ins, raw, sig):
        return {"insertion_effect": ins, "insertion_se": 0.1, "insertion_q": 1e-6 if sig else 0.7, "insertion_raw": raw,
                "effect_significant": sig}
    values = {ids[0]: {**eff(2.5, 2.6, True), "composition": ""},
              ids[1]: {**eff(0.1, 1.5, True), "composition": "GC-rich,CpG"},     # GC content 1.4 > base order 0.1
              ids[2]: {**eff(-0.8, -0.8, True), "composition": ""},
              ids[3]: {**eff(0.01, 0.0, False), "composition": ""}}
    io.add_tsv_columns(tmp_path / "motifs.tsv", "motif", values, ["composition"] + effects.MOTIF_COLUMNS)
    summary["effects"] = {"min_effect": 0.2}
    html = render_report(tmp_path, summary, figures=False).read_text().replace("<wbr>", "")

    def line(kind):
        m = re.search(rf'<li data-kind="finding-{kind}">(.*?)</li>', html, re.S)
        return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", m.group(1))) if m else None

    assert line("raise").startswith("Raise the score (2 of 4 motif families): CTCF")
    assert f"1 unnamed GC-rich pattern ({ids[1]}), 1 of them moving the score by their GC content" in line("raise")
    assert line("lower") == f"Lower the score (1): 1 unnamed pattern ({ids[2]})."
    assert ids[3] in line("ignored") and line("screen") is None
    assert html.count('data-kind="gc-driven"') == 1


def test_screen_section_says_when_the_screen_was_not_run(tmp_path):
    from interpret.report.render import render_report

    summary = write_fake_output(tmp_path, with_summary=False)
    text = " ".join(parse(render_report(tmp_path, summary, figures=False)).text)
    assert "The known-motif screen was not run (--no-screen)" in text


def _add_families(out) -> list:
    """families.tsv over the fake motifs (6: signs + + - + + -), and pooled matrices in motifs.h5.

    Two main families (one of two patterns) and two minor ones (three patterns).
    """
    motifs = io.read_tsv(out / "motifs.tsv")
    ids = [r["motif"] for r in motifs]
    fams = [("fam_a", [ids[0], ids[1]], 410, ""), ("fam_b", [ids[3]], 120, ""),
            ("fam_c", [ids[2], ids[5]], 15, "fewer than 20 seqlets"), ("fam_d", [ids[4]], 30, "no significant effect")]
    rows, groups = [], {}
    rng = np.random.default_rng(1)
    for fid, members, n, minor in fams:
        w = 12
        rows.append({"family": fid, "method": "deepshap", "sign": motifs[ids.index(members[0])]["sign"],
                     "n_patterns": len(members), "members": ",".join(members), "n_seqlets": n, "width": w,
                     "jaspar_id": "MA0139.2" if fid == "fam_a" else "", "jaspar_name": "CTCF" if fid == "fam_a" else "",
                     "jaspar_q": 1e-6 if fid == "fam_a" else None, "minor": minor})
        ppm = rng.dirichlet(np.full(4, 0.3), size=w)
        groups[f"families/{fid}"] = {"ppm": ppm, "cwm": ppm * 0.5, "hcwm": ppm * 0.5}
    io.write_tsv(out / "families.tsv", rows, ["family", "method", "sign", "n_patterns", "members", "n_seqlets",
                                              "width", "jaspar_id", "jaspar_name", "jaspar_q", "minor"])
    io.write_h5(out / "motifs.h5", groups, mode="a")
    return rows


def test_motif_table_has_one_row_per_family_and_folds_the_minor_ones(tmp_path):
    from interpret.report.render import render_report

    d = tmp_path / "o"
    write_fake_output(d, n_motifs=6)
    fams = _add_families(d)
    page = parse(render_report(d))
    rows = page.with_class("motif-row", "tr")
    assert [a["data-family"] for a in rows] == ["fam_a", "fam_b"]
    # the representative names the row; the pooled matrices are drawn, not the members' own
    assert [a["data-motif"] for a in rows] == [fams[0]["members"].split(",")[0], fams[1]["members"]]
    assert [a["data-family"] for a in page.find("svg", data_kind="cwm")] == ["fam_a", "fam_b"]
    assert [a["data-family"] for a in page.with_class("minor-row", "tr")] == ["fam_c", "fam_d"]
    text = " ".join(page.text)
    assert "3 minor patterns (2 families)" in text
    assert "6 TF-MoDISco patterns in 4 motif families" in text
    assert "2 patterns: " + fams[0]["members"].split(",")[0] in text and "fewer than 20 seqlets" in text
    # every pattern still has its row in the heatmap (the files keep them all)
    assert page.find("svg", **{"class": "heatmap"})
    figure = (d / "figures" / "motifs.svg").read_text()
    assert "fam_a (+, 410 seqlets)" in figure and "fam_c" not in figure


def test_report_states_the_tf_modisco_sample():
    from interpret.report.render import sample_notes

    s = {"motifs": {"deepshap": {"sample": {"seed": 7, "sequences": 100_000, "of_sequences": 1_000_000,
                                            "seqlets": {"pos": 20_000, "neg": 900},
                                            "of_seqlets": {"pos": 183_412, "neg": 900}}},
                    "gradxinput": {"sample": {"seed": 7, "sequences": 50, "of_sequences": 50,
                                              "seqlets": {"pos": 10, "neg": 0}, "of_seqlets": {"pos": 10, "neg": 3}}}}}
    notes = sample_notes(s)
    assert notes == ["TF-MoDISco on deepshap read a random sample of 100,000 of the 1,000,000 explained sequences "
                     "and clustered a random sample of 20,000 of the 183,412 positive seqlets (seed 7); its motifs "
                     "and seqlet counts describe that sample."]
    s["motifs"]["deepshap"]["sample"]["seqlets"]["neg"] = 800
    assert "20,000 of the 183,412 positive and 800 of the 900 negative seqlets (seed 7)" in sample_notes(s)[0]
