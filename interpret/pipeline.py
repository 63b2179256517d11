"""The whole run: load → (filters | attributions) → motifs → compare → report.

This module only wires the stages and decides what is written where; each stage lives in its
own module and returns plain results. :func:`run` is what ``interpret run`` calls.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import io
from .errors import InputError
from .model import Model

logger = logging.getLogger(__name__)

DEFAULT_METHODS = ("gradxinput", "deepshap")


@dataclass
class RunOptions:
    """Every parameter of a run; recorded in ``summary.json``.

    Attributes
    ----------
    target : int
        Output explained (its pre-activation logit by default).
    output : str
        ``"logit"`` (default) or ``"probability"``.
    methods : tuple of str
        Attribution methods computed (see :data:`interpret.attribution.METHODS`).
    motifs_from : tuple of str
        Methods whose attributions go through TF-MoDISco (subset of ``methods``).
    explain : str
        ``"auto"`` (positives of the target when labels exist, else all), ``"positives"`` or ``"all"``.
    max_seqs : int or None
        Seeded random subset of the explained sequences.
    chunk_size : int
        Rows per attribution shard: the unit committed to ``attributions.h5`` (and resumed).
    resume : bool
        Continue the unfinished run of ``out`` (its staging directory ``.<out>.partial``): stages
        that finished there with the same parameters are reused, attributions resume from their
        last committed shard.
    """

    target: int = 0
    output: str = "logit"
    methods: tuple = DEFAULT_METHODS
    motifs_from: tuple = ("deepshap",)
    explain: str = "auto"
    max_seqs: int | None = None
    seed: int = 0
    n_references: int = 20
    batch_size: int = 128
    chunk_size: int = 2048
    threshold: float = 0.5
    top_k: int | None = None
    motif_db: str | None = None
    q_threshold: float = 0.05
    modisco: dict = field(default_factory=dict)
    attributions: str | None = None
    force: bool = False
    resume: bool = False
    verbose: bool = False
    command: str = ""


@dataclass(frozen=True)
class RunResult:
    """Where the outputs went and what ``summary.json`` says."""

    out: Path
    summary: dict


def select_sequences(seqs: io.Sequences, target: int, explain: str = "auto", max_seqs: int | None = None,
                     seed: int = 0) -> np.ndarray:
    """Rows of ``seqs`` to explain, sorted: ``(n,)`` int64.

    ``"auto"``: positives of ``target`` when labels exist, else all; ``max_seqs`` draws a
    seeded random subset.
    """
    n = len(seqs)
    if explain not in ("auto", "positives", "all"):
        raise InputError(f"--explain must be auto, positives or all, not {explain!r}.")
    idx = np.arange(n)
    if explain in ("auto", "positives") and seqs.y is not None:
        y = seqs.y if seqs.y.ndim == 1 else seqs.y[:, target]
        if seqs.y.ndim > 1 and target >= seqs.y.shape[1]:
            raise InputError(f"--target {target} has no label column (labels have {seqs.y.shape[1]}); use a smaller --target.")
        idx = np.flatnonzero(y > 0.5)
        if len(idx) == 0:
            raise InputError(f"no positive labels for target {target}; pass --explain all to explain every sequence.")
    elif explain == "positives":
        raise InputError("--explain positives needs labels; give a file with labels or use --explain all.")
    if max_seqs is not None:
        if max_seqs < 1:
            raise InputError(f"--max-seqs must be at least 1, not {max_seqs}.")
        if max_seqs < len(idx):
            idx = np.sort(np.random.default_rng(seed).choice(idx, size=max_seqs, replace=False))
    return idx.astype(np.int64)


def run(model: Model, seqs: io.Sequences, out, **options) -> RunResult:
    """Run every stage and write the output directory ``out`` (see docs/CONTRACTS.md).

    Parameters
    ----------
    model : Model
        From :func:`interpret.load_model` (a plain ``keras.Model`` is wrapped).
    seqs : Sequences
        From :func:`interpret.load_sequences`; ``x`` is ``(N, L, 4)``.
    out : str or Path
        Output directory; written in a staging directory and renamed when complete.
    **options
        Fields of :class:`RunOptions`.
    """
    opts = RunOptions(**options)
    if not isinstance(model, Model):
        model = Model.from_keras(model)
    _check_options(model, seqs, opts)
    db = io.load_motif_db(opts.motif_db)
    index = select_sequences(seqs, opts.target, opts.explain, opts.max_seqs, opts.seed)
    x = seqs.take(index)
    summary = _summary_head(model, seqs, index, opts)

    with io.OutputDir(out, force=opts.force, resume=opts.resume, identity=_identity(model, x, index)) as od:
        # Each stage is resumable: it names the options its result depends on, and the stages whose
        # results it uses (default: every stage before it).
        filt = od.stage("filters", _params(opts, "target", "threshold", "top_k", "motif_db", "q_threshold"),
                        lambda: _filters_stage(model, x, db, od, opts), after=())
        summary["attribution"] = od.stage(
            "attributions", _params(opts, "target", "output", "methods", "seed", "n_references", "batch_size",
                                    "chunk_size", "attributions"),
            lambda: _attribution_stage(model, x, index, od, opts), after=())
        motif_rows, patterns, seqlet_rows, summary["motifs"] = od.stage(
            "motifs", _params(opts, "motifs_from", "modisco", "seed"), lambda: _motif_stage(od, opts),
            after=("attributions",))
        summary["comparison"] = od.stage(
            "compare", _params(opts, "q_threshold", "motif_db"),
            lambda: _compare_stage(filt, patterns, motif_rows, seqlet_rows, db, od, opts))
        from .report import render_report

        summary["resumed"] = list(od.resumed)
        summary["timings"] = {k: round(v, 3) for k, v in od.timings.items()}
        od.stage("report", {}, lambda: render_report(od.path, summary))
        summary["timings"] = {k: round(v, 3) for k, v in od.timings.items()}
        final = od.finish(summary)
    logger.info("outputs in %s", final)
    return RunResult(final, summary)


def _params(opts: RunOptions, *names) -> dict:
    """The options a stage's result depends on (recorded to tell whether a resumed stage can be reused)."""
    return {n: getattr(opts, n) for n in names}


def _identity(model: Model, x: np.ndarray, index: np.ndarray) -> dict:
    """What every stage depends on: the model's weights, the explained rows and sequences, the version."""
    from . import __version__

    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(index, dtype=np.int64).tobytes())
    h.update(memoryview(np.ascontiguousarray(x, dtype=np.float32)).cast("B"))
    return {"model": model.fingerprint(), "sequences": h.hexdigest(), "interpret": __version__}


def _check_options(model: Model, seqs: io.Sequences, opts: RunOptions) -> None:
    from .attribution import METHODS

    model.check_target(opts.target)
    if seqs.length != model.seq_len:
        raise InputError(f"sequences are {seqs.length} bp but the model takes {model.seq_len} bp; "
                         "give sequences of the model's length.")
    unknown = [m for m in opts.methods if m not in METHODS]
    if unknown:
        raise InputError(f"unknown method {unknown[0]!r}; choose from {', '.join(METHODS)}.")
    missing = [m for m in opts.motifs_from if m not in opts.methods]
    if missing:
        raise InputError(f"--motifs-from {missing[0]} is not among --methods ({', '.join(opts.methods)}); add it there.")
    if opts.output not in ("logit", "probability"):
        raise InputError(f"--output must be logit or probability, not {opts.output!r}.")
    if "deepshap" in opts.methods and not opts.attributions:
        # Fail before any work is done, naming the layer DeepSHAP has no rule for.
        from .attribution import check_deepshap_support

        check_deepshap_support(model, opts.output)


def _summary_head(model: Model, seqs: io.Sequences, index: np.ndarray, opts: RunOptions) -> dict:
    from . import __version__

    y = seqs.y
    n_pos = None
    if y is not None:
        n_pos = int((np.asarray(y if y.ndim == 1 else y[:, opts.target]) > 0.5).sum())
    params = {k: v for k, v in asdict(opts).items() if k != "command"}  # the command is recorded once, above
    return {
        "version": __version__,
        "command": opts.command or " ".join(sys.argv),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {"path": model.path, "layout": model.layout, "seq_len": model.seq_len,
                  "n_outputs": model.n_outputs, "output_activation": model.output_activation,
                  "architecture": model.describe()},
        "data": {"path": seqs.path, "n_total": len(seqs), "n_explained": int(len(index)),
                 "length": seqs.length, "n_positive": n_pos, "source_layout": seqs.source_layout,
                 "keys": seqs.keys},
        "explained": model.explained(opts.target, opts.output),
        "target": opts.target,
        "methods": list(opts.methods),
        "motifs_from": list(opts.motifs_from),
        "parameters": params,
        "versions": _versions(),
    }


def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "h5py", "modisco", "memelite", "logomaker", "shap"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


# --------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------
def _filters_stage(model, x, db, od, opts):
    from . import compare, filters

    res = filters.kernel_logos(model, x, target=opts.target, threshold=opts.threshold, top_k=opts.top_k,
                               verbose=opts.verbose)
    matches = compare.match_to_db(list(res.ppm), db, alpha=opts.q_threshold)
    groups = compare.group_redundant(list(res.ppm), matches, alpha=opts.q_threshold, db=db)
    ids = [f"filter_{i}" for i in range(len(res.ppm))]
    order = np.argsort(-res.influence, kind="stable")
    rank = np.empty(len(order), int)
    rank[order] = np.arange(1, len(order) + 1)
    rows = []
    for i, fid in enumerate(ids):
        m = matches[i]
        rows.append({"filter": fid, "n_sites": int(res.n_sites[i]), "ic": float(res.ic[i]),
                     "max_activation": float(res.max_activation[i]), "influence": float(res.influence[i]),
                     "influence_rank": int(rank[i]), **m.as_row(), "group": groups[i]})
    rows = [rows[i] for i in order]
    io.write_tsv(od / "filters.tsv", rows, ["filter", "n_sites", "ic", "max_activation", "influence",
                                           "influence_rank", "jaspar_id", "jaspar_name", "jaspar_q", "group"])
    io.write_meme(od / "filters.meme", [io.Motif(fid, res.ppm[i], f"sites={int(res.n_sites[i])}",
                                                 max(int(res.n_sites[i]), 1)) for i, fid in enumerate(ids)])
    io.write_h5(od / "filters.h5", {"": {"ppm": res.ppm, "weights": res.weights, "n_sites": res.n_sites,
                                         "ic": res.ic, "max_activation": res.max_activation,
                                         "influence": res.influence}},
                attrs={"layer": res.layer, "width": res.width, "threshold": res.threshold})
    return {"result": res, "ids": ids, "matches": matches, "rows": rows}


def _attribution_stage(model, x, index, od, opts) -> dict:
    from . import distributed

    if opts.attributions:
        return _reuse_attributions(opts.attributions, index, od, opts)
    path = od / "attributions.h5"
    attrs = distributed.store_attrs(model, opts.methods, opts.target, opts.output, opts.n_references, opts.seed,
                                    opts.batch_size)
    args = (index, x.shape[1], list(opts.methods), attrs, opts.chunk_size)
    try:  # shards committed before an interruption are kept
        store = io.AttributionStore.open(path, *args, resume=path.exists())
    except io.NotResumable as exc:
        logger.info("%s; computing the attributions afresh", exc)
        store = io.AttributionStore.open(path, *args)
    try:
        seconds = distributed.attribute_into(store, model, x, None, opts.methods, opts.target, opts.output,
                                             opts.n_references, opts.seed, opts.batch_size, verbose=opts.verbose)
    finally:
        store.close()
    return {m: {"seconds": round(seconds[m], 3), **_attribution_stats(path, m, index)} for m in opts.methods}


def _attribution_stats(path, method: str, index: np.ndarray) -> dict:
    """Completeness of ``method`` in ``path``, read a bounded number of rows at a time."""
    deltas, gaps, rows = [], [], []
    for start, c in io.iter_attributions(path, method, ("contrib", "delta")):
        d = c["delta"].astype(np.float64)
        ok = ~np.isnan(d)
        if ok.any():
            deltas.append(d[ok])
            gaps.append(c["contrib"][ok].sum(axis=(1, 2), dtype=np.float64) - d[ok])
            rows.append(np.flatnonzero(ok) + start)
    return _delta_stats(deltas, gaps, index[np.concatenate(rows)] if rows else index[:0], method)


def _delta_stats(deltas, gaps, index, name) -> dict:
    if not deltas:
        return {"max_abs_delta": None, "max_rel_delta": None, "n_above_1e-3": None}
    d = np.concatenate(deltas)
    g = np.abs(np.concatenate(gaps))
    rel = np.abs(d) / np.maximum(g, 1e-6)
    bad = np.flatnonzero(np.abs(d) > 1e-3)
    if len(bad):
        logger.warning("%s: %d sequences break completeness by more than 1e-3 (rows %s)", name, len(bad),
                       ", ".join(str(int(index[i])) for i in bad[:10]))
    return {"max_abs_delta": float(np.abs(d).max()), "max_rel_delta": float(rel.max()),
            "n_above_1e-3": int(len(bad)), "rows_above_1e-3": [int(index[i]) for i in bad[:100]]}


def _reuse_attributions(path, index, od, opts) -> dict:
    info = io.attributions_info(path)
    if not np.array_equal(info["index"], index):
        raise InputError(f"{path} explains other sequences than this run selects; use the same data, "
                         "--target, --explain, --max-seqs and --seed as the run that made it.")
    missing = [m for m in opts.methods if m not in info["methods"]]
    if missing:
        raise InputError(f"{path} has no {missing[0]} attributions; pass --methods {','.join(m for m in opts.methods if m in info['methods'])}.")
    io.copy_file(path, od / "attributions.h5")
    return {m: {"seconds": 0.0, "reused_from": str(path), **_attribution_stats(path, m, index)} for m in opts.methods}


def _motif_stage(od, opts):
    from . import motifs

    path = od / "attributions.h5"
    info = io.attributions_info(path)
    patterns, seqlet_rows = [], []
    per_method = {}
    for k, name in enumerate(opts.motifs_from):
        # Only this method's arrays, and on large runs only a seeded sample of the rows.
        rows = motifs.sequence_sample(info["n"], info["length"], (opts.modisco or {}).get("max_sequences"), opts.seed)
        saved = io.read_attributions(path, name, rows=rows)
        res = motifs.discover(saved["x"], saved[name]["hypothetical"], saved["index"], method=name,
                              settings=opts.modisco or None, seed=opts.seed, verbose=opts.verbose)
        fname = "modisco.h5" if k == 0 else f"modisco_{name}.h5"
        io.write_modisco_h5(od / fname, res.pos_patterns, res.neg_patterns, res.settings.sliding_window_size)
        patterns.extend(res.patterns)
        seqlet_rows.extend(res.seqlet_rows)
        per_method[name] = {"n_patterns": len(res.patterns), "settings": asdict(res.settings), "modisco_h5": fname,
                            "sample": {"seed": opts.seed, "sequences": len(saved["index"]), "of_sequences": info["n"],
                                       "seqlets": res.n_clustered, "of_seqlets": res.n_seqlets}}
    rows = [{"motif": p.id, "method": p.method, "sign": "+" if p.sign > 0 else "-", "n_seqlets": p.n_seqlets,
             "width": len(p.ppm), "trim_start": p.trim_start, "trim_end": p.trim_end} for p in patterns]
    return rows, patterns, seqlet_rows, per_method


def _compare_stage(filt, patterns, motif_rows, seqlet_rows, db, od, opts) -> dict:
    from . import compare

    q = opts.q_threshold
    fres = filt["result"]
    fids = filt["ids"]
    motif_matches = compare.match_to_db([p.ppm for p in patterns], db, alpha=q) if patterns else []
    pairs = compare.compare_sets(list(fres.ppm), [p.ppm for p in patterns]) if patterns else []
    comp_rows = []
    for r in pairs:
        comp_rows.append({"filter": fids[r["query"]], "motif": patterns[r["target"]].id,
                          **{k: r[k] for k in ("tomtom_p", "tomtom_q", "offset", "strand", "pearson_r")}})
    io.write_tsv(od / "comparison.tsv", comp_rows,
                 ["filter", "motif", "tomtom_p", "tomtom_q", "offset", "strand", "pearson_r"])

    for row, p, m in zip(motif_rows, patterns, motif_matches):
        hits = sorted((r for r in comp_rows if r["motif"] == p.id and r["tomtom_q"] is not None
                       and r["tomtom_q"] < q), key=lambda r: r["tomtom_q"])
        row.update({**m.as_row(), "filters": ",".join(h["filter"] for h in hits),
                    "best_filter": hits[0]["filter"] if hits else "",
                    "best_filter_q": hits[0]["tomtom_q"] if hits else None})
    io.write_tsv(od / "motifs.tsv", motif_rows,
                 ["motif", "method", "sign", "n_seqlets", "width", "trim_start", "trim_end", "jaspar_id",
                  "jaspar_name", "jaspar_q", "filters", "best_filter", "best_filter_q"])
    io.write_meme(od / "motifs.meme", [io.Motif(p.id, p.ppm, f"{p.method}_{'pos' if p.sign > 0 else 'neg'}",
                                                p.n_seqlets) for p in patterns])
    io.write_h5(od / "motifs.h5", {p.id: {"ppm": p.ppm, "cwm": p.cwm, "hcwm": p.hcwm} for p in patterns},
                attrs={"explained": "see summary.json"})
    io.write_tsv(od / "seqlets.tsv", seqlet_rows,
                 ["seq_index", "start", "end", "strand", "motif", "method", "contribution"])

    influential = [r["filter"] for r in filt["rows"] if r["influence"] > 0 and r["n_sites"] > 0][:max(1, len(fids) // 10)]
    matched_filters = {r["filter"] for r in comp_rows if r["tomtom_q"] is not None and r["tomtom_q"] < q}
    return {
        "q_threshold": q,
        "n_filters": len(fids),
        "n_motifs": len(patterns),
        "motifs_covered_by_filter": sorted({r["motif"] for r in motif_rows if r["filters"]}),
        "motifs_without_filter": sorted({r["motif"] for r in motif_rows if not r["filters"]}),
        "influential_filters": influential,
        "influential_filters_without_motif": [f for f in influential if f not in matched_filters],
        "motifs_with_jaspar_match": sorted({r["motif"] for r in motif_rows if r["jaspar_id"]}),
        "filters_with_jaspar_match": sorted({r["filter"] for r in filt["rows"] if r["jaspar_id"]}),
        "motif_jaspar": {r["motif"]: r["jaspar_id"] for r in motif_rows if r["jaspar_id"]},
    }


def run_targets(model: Model, seqs: io.Sequences, out, target=0, **options) -> RunResult:
    """:func:`run` for one ``target``, or for every output when ``target == "all"``.

    With ``"all"``, each output gets a complete run in ``out/target_<t>/`` (its own report,
    the kernel logos ranked by that output's influence) and ``out/summary.json`` lists them.
    """
    if target != "all":
        return run(model, seqs, out, target=target, **options)
    if not isinstance(model, Model):
        model = Model.from_keras(model)
    force = options.pop("force", False)
    resume = options.get("resume", False)
    with io.OutputDir(out, force=force, resume=resume) as od:
        runs = {}
        for t in range(model.n_outputs):
            sub = od / f"target_{t}"
            if resume and (sub / "summary.json").exists():  # finished before the interruption
                logger.info("target %d: finished in the interrupted run, reused", t)
                summary = io.read_json(sub / "summary.json")
            else:
                summary = run(model, seqs, sub, target=t, **options).summary
            runs[t] = {"dir": f"target_{t}", "explained": summary["explained"],
                       "comparison": summary.get("comparison", {})}
        from . import __version__
        from .report import render_report

        top = {"version": __version__, "targets": runs, "command": options.get("command", "")}
        render_report(od.path, top)  # an index page linking each target's report
        final = od.finish(top)
    return RunResult(final, {"targets": runs})
