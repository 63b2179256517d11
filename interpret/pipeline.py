"""The whole run: load → (filters | attributions | screen) → motifs → (compare | usage) → effects → report.

This module only wires the stages and decides what is written where; each stage lives in its
own module and returns plain results. :func:`run` is what ``interpret run`` calls.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import io
from .errors import InputError
from .model import Model
from .motifs.modisco import MIN_FAMILY_SEQLETS
from .regions import GENOME_COLUMNS, Regions, to_genome

logger = logging.getLogger(__name__)

DEFAULT_METHODS = ("gradxinput", "deepshap")
#: What :func:`choose_methods` runs instead when DeepSHAP has no rule for a layer of the model.
FALLBACK_METHODS = ("gradxinput", "ig")
SEQLET_COLUMNS = ["seq_index", "start", "end", "strand", "motif", "method", "contribution"]


@dataclass
class RunOptions:
    """Every parameter of a run; recorded in ``summary.json``.

    Attributes
    ----------
    target : int
        Output explained (its pre-activation logit by default).
    output : str
        ``"logit"`` (default) or ``"probability"``.
    methods : tuple of str or None
        Attribution methods computed (see :data:`interpret.attribution.METHODS`); ``None``:
        chosen by :func:`choose_methods` (DeepSHAP, or integrated gradients where it has no rule).
    motifs_from : tuple of str or None
        Methods whose attributions go through TF-MoDISco (subset of ``methods``); ``None``:
        DeepSHAP if computed, else integrated gradients if computed, else the first method.
    explain : str
        ``"auto"`` (positives of the target when labels exist, else all), ``"positives"`` or ``"all"``.
    max_seqs : int or None
        Seeded random subset of the explained sequences.
    screen : bool
        Run the known-motif response screen (:mod:`interpret.evidence.screen`); effect sizes of the run's
        own motifs and filters (:mod:`interpret.evidence.effects`) are computed either way.
    screen_backgrounds : int
        ``B``: dinucleotide-shuffled backgrounds for the screen and the effect sizes (at least 2).
    screen_positions : int
        ``K``: insertion points, the centre (1) or ``K`` evenly spaced ones.
    minor_seqlets : int
        Motif families with fewer pooled seqlets are minor: in the files, folded out of the
        report's main table.
    chunk_size : int
        Rows per attribution shard: the unit committed to ``attributions.h5`` (and resumed).
    resume : bool
        Continue the unfinished run of ``out`` (its staging directory ``.<out>.partial``): stages
        that finished there with the same parameters are reused, attributions resume from their
        last committed shard.
    """

    target: int = 0
    output: str = "logit"
    methods: tuple | None = None
    motifs_from: tuple | None = None
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
    screen: bool = True
    screen_backgrounds: int = 100
    screen_positions: int = 1
    minor_seqlets: int = MIN_FAMILY_SEQLETS
    attributions: str | None = None
    force: bool = False
    resume: bool = False
    verbose: bool = False
    command: str = ""

    def __post_init__(self):
        # Checked when made, so that a run, the command line and the Python API all refuse a bad
        # option before anything is loaded, computed or written.
        for name, (flag, kind, least, most) in _OPTION_RANGES.items():
            _check_option(flag, getattr(self, name), kind, least, most)
        for name, (flag, choices) in _OPTION_CHOICES.items():
            if getattr(self, name) not in choices:
                raise InputError(f"{flag} must be {' or '.join(map(str, choices))}, not {getattr(self, name)!r}.")
        for name, flag in (("methods", "--methods"), ("motifs_from", "--motifs-from")):
            value = getattr(self, name)
            if value is not None and (isinstance(value, str) or not value
                                      or not all(isinstance(m, str) for m in value)):
                raise InputError(f"{flag} must name one or more methods (a tuple of names), not {value!r}.")
        from .motifs import modisco

        modisco.check_overrides(self.modisco)


#: Numeric options: field -> (flag, "int" or "fraction", least, most); ``None`` values are allowed
#: only for the optional ones (``max_seqs``, ``top_k``). A fraction lies in (least, most].
_OPTION_RANGES = {
    "target": ("--target", "int", 0, None),
    "max_seqs": ("--max-seqs", "int?", 1, None),
    "seed": ("--seed", "int", 0, None),
    "n_references": ("--n-references", "int", 1, None),
    "batch_size": ("--batch-size", "int", 1, None),
    "chunk_size": ("--shard-size", "int", 1, None),
    "threshold": ("--threshold", "fraction", 0, 1),
    "top_k": ("--top-k", "int?", 1, None),
    "q_threshold": ("--q", "fraction", 0, 1),
    "screen_backgrounds": ("--screen-backgrounds", "int", 2, None),
    "screen_positions": ("--screen-positions", "int", 1, None),
    "minor_seqlets": ("--minor-seqlets", "int", 0, None),
}
_OPTION_CHOICES = {
    "output": ("--output", ("logit", "probability")),
    "explain": ("--explain", ("auto", "positives", "all")),
}


def _check_option(flag: str, value, kind: str, least, most) -> None:
    """:class:`InputError` naming ``flag`` unless ``value`` is an integer of at least ``least``
    (``kind`` "int"; "int?" also takes None) or a number in ``(least, most]`` ("fraction")."""
    if kind == "int?" and value is None:
        return
    if kind == "fraction":
        ok = isinstance(value, (int, float, np.integer, np.floating)) and least < value <= most
    else:
        ok = isinstance(value, (int, np.integer)) and value >= least
    if ok and not isinstance(value, bool):
        return
    what = f"a number in ({least}, {most}]" if kind == "fraction" else f"an integer of at least {least}"
    raise InputError(f"{flag} must be {what}, not {value!r}.")


@dataclass(frozen=True)
class RunResult:
    """Where the outputs went and what ``summary.json`` says."""

    out: Path
    summary: dict


def select_sequences(seqs: io.Sequences, target: int, explain: str = "auto", max_seqs: int | None = None,
                     seed: int = 0) -> np.ndarray:
    """Rows of ``seqs`` to explain, sorted: ``(n,)`` int64.

    ``"auto"``: positives of ``target`` when labels exist, else all; ``max_seqs`` draws a
    seeded random subset. Rows that are N at every position carry nothing to explain: they are
    left out with one warning naming them, and :class:`InputError` says so when no other row is left.
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
    blank = idx[seqs.blank[idx]]
    if len(blank):
        where = seqs.path or "the sequences"
        if len(blank) == len(idx):
            which = ("every sequence is" if len(blank) == n else "the sequence to explain is" if len(idx) == 1
                     else f"all {len(idx)} sequences to explain are")
            raise InputError(f"{where}: {which} N at every position (no A, C, G or T), which carries no information "
                             "to explain; check the encoding (A C G T one-hot, N as all zeros) or the genome windows.")
        rows = ", ".join(str(int(i)) for i in blank[:10]) + (", ..." if len(blank) > 10 else "")
        logger.warning("%s: %d of the %d sequences to explain are N at every position (rows %s); they carry no "
                       "information to explain and are left out", where, len(blank), len(idx), rows)
        idx = idx[~seqs.blank[idx]]
    if max_seqs is not None:
        if max_seqs < 1:
            raise InputError(f"--max-seqs must be at least 1, not {max_seqs}.")
        if max_seqs < len(idx):
            idx = np.sort(np.random.default_rng(seed).choice(idx, size=max_seqs, replace=False))
    return idx.astype(np.int64)


def choose_methods(model: Model, methods=None, motifs_from=None, output: str = "logit"):
    """The attribution methods of a run, and those TF-MoDISco clusters.

    Given methods are kept as they are (an explicit ``deepshap`` on a model it cannot explain
    fails later, naming the layer). ``methods=None`` is :data:`DEFAULT_METHODS`, or
    :data:`FALLBACK_METHODS` when DeepSHAP has no rule for part of the model; that fallback
    is logged as one warning.

    Parameters
    ----------
    model : Model
    methods, motifs_from : sequence of str, or None
    output : {"logit", "probability"}

    Returns
    -------
    methods : tuple of str
    motifs_from : tuple of str
        As given, else ``("deepshap",)``, ``("ig",)`` or the first method, the first of these
        that is among ``methods``.
    fallback : dict or None
        ``{"from": "deepshap", "to": "ig", "reason": "DeepSHAP has no rule for layer ..."}``
        when the fallback was taken (recorded as ``method_fallback`` in ``summary.json``).
    """
    from .attribution.methods import unsupported_part

    fallback = None
    if methods is None:
        missing = unsupported_part(model, output)
        methods = DEFAULT_METHODS if missing is None else FALLBACK_METHODS
        if missing is not None:
            fallback = {"from": "deepshap", "to": "ig", "reason": f"DeepSHAP has no rule for {missing}"}
            logger.warning("DeepSHAP has no rule for %s; attributions and motifs use integrated gradients "
                           "instead (choose with --methods)", missing)
    methods = tuple(methods)
    if motifs_from is None:
        motifs_from = next(((m,) for m in ("deepshap", "ig") if m in methods), methods[:1])
    return methods, tuple(motifs_from), fallback


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
    done = _already_complete(out, opts)
    if done is not None:
        return done
    model, seqs, opts, db, index, fallback = _prepare(model, seqs, opts)
    _start_compiles()
    x = seqs.take(index)
    summary = _summary_head(model, seqs, index, opts)
    summary["method_fallback"] = fallback

    genome = seqs.regions is not None
    with io.OutputDir(out, force=opts.force, resume=opts.resume, identity=_identity(model, x, index),
                      inputs=_inputs(model, seqs, opts)) as od:
        # Each stage is resumable: it names the options its result depends on, and the stages whose
        # results it uses (default: every stage before it).
        filt = od.stage("filters", _params(opts, "target", "threshold", "top_k", "motif_db", "q_threshold"),
                        lambda: _filters_stage(model, x, db, od, opts), after=())
        summary["attribution"] = od.stage(
            "attributions", _params(opts, "target", "output", "methods", "seed", "n_references", "batch_size",
                                    "chunk_size", "attributions"),
            lambda: _attribution_stage(model, x, index, od, opts), after=())
        backgrounds = None
        if opts.screen:
            backgrounds, summary["screen"] = od.stage(
                "screen", _params(opts, "target", "output", "motif_db", "screen_backgrounds", "screen_positions",
                                  "seed", "batch_size"),
                lambda: _screen_stage(model, x, db, od, opts), after=())
        motif_rows, patterns, seqlet_rows, families, summary["motifs"] = od.stage(
            "motifs", _params(opts, "motifs_from", "modisco", "seed"), lambda: _motif_stage(od, opts, seqs.regions),
            after=("attributions",))
        summary["comparison"] = od.stage(
            "compare", _params(opts, "q_threshold", "motif_db"),
            lambda: _compare_stage(filt, patterns, motif_rows, seqlet_rows, db, od, opts, genome=genome))
        summary["filter_usage"] = od.stage(
            "usage", _params(opts, "target", "output", "motifs_from", "n_references", "seed", "batch_size"),
            lambda: _usage_stage(model, x, index, filt, patterns, od, opts))
        significant, summary["effects"] = od.stage(
            "effects", _params(opts, "target", "output", "screen_backgrounds", "screen_positions", "seed"),
            lambda: _effects_stage(model, x, index, filt, patterns, backgrounds, od, opts))
        summary["families"] = od.stage(
            "families", _params(opts, "minor_seqlets", "q_threshold", "motif_db"),
            lambda: _family_stage(families, significant, db, od, opts))
        from .report.render import render_report

        summary["resumed"] = list(od.resumed)
        summary["timings"] = {k: round(v, 3) for k, v in od.timings.items()}
        od.stage("report", {}, lambda: render_report(od.path, summary))
        summary["timings"] = {k: round(v, 3) for k, v in od.timings.items()}
        final = od.finish(summary)
    logger.info("outputs in %s", final)
    return RunResult(final, summary)


def _prepare(model, seqs: io.Sequences, opts: RunOptions):
    """The one validation pass over a run's options and inputs, before anything is computed or
    a staging directory exists: ``(model, seqs, opts, db, index, fallback)``, with the methods
    chosen, labels checked, the motif database read and the rows to explain selected."""
    if not isinstance(model, Model):
        model = Model.from_keras(model)
    seqs = io.labels_for_model(seqs, model)
    methods, motifs_from, fallback = choose_methods(model, opts.methods, opts.motifs_from, opts.output)
    opts = replace(opts, methods=methods, motifs_from=motifs_from)
    _check_options(model, seqs, opts)
    db = io.load_motif_db(opts.motif_db)
    index = select_sequences(seqs, opts.target, opts.explain, opts.max_seqs, opts.seed)
    _check_inputs(model, db, index, opts)
    return model, seqs, opts, db, index, fallback


def _start_compiles() -> None:
    """Compile the shuffle's, DeepSHAP's and TF-MoDISco's numba kernels in a background process
    while the run loads and the model stages run (a no-op when numba's cache has them, or when
    the command line started it already); see :mod:`interpret.jit`."""
    from . import jit

    jit.start()


def _inputs(model: Model, seqs: io.Sequences, opts: RunOptions) -> list:
    """The run's input files, which ``--out`` must not hold (it may be replaced with ``--force``)."""
    return [p for p in (model.path, seqs.path, seqs.genome, opts.motif_db, opts.attributions) if p]


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
    from .attribution.methods import METHODS

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
    if "deepshap" in opts.methods and not opts.attributions:
        # Fail before any work is done, naming the layer DeepSHAP has no rule for.
        from .attribution.methods import check_deepshap_support

        check_deepshap_support(model, opts.output)


def _check_inputs(model: Model, db, index: np.ndarray, opts: RunOptions) -> None:
    """What the stages would find wrong half-way, found before any work: database motifs the
    screen cannot insert, TF-MoDISco settings that do not fit the sequences, an ``--attributions``
    file that is not of this run."""
    from .evidence.screen import check_motifs
    from .motifs import modisco

    if opts.screen:
        check_motifs(db, model.seq_len)
    modisco.resolve_settings(opts.modisco or None, len(index), model.seq_len).check(model.seq_len)
    if opts.attributions:
        _check_attributions(opts.attributions, index, model.seq_len, opts)


def _already_complete(out, opts: RunOptions) -> RunResult | None:
    """``--resume`` on a finished run: nothing to do, the run as it is."""
    if not opts.resume or opts.force or not io.finished(out):
        return None
    logger.info("%s is already complete, nothing to do", out)
    return RunResult(Path(out), io.read_json(Path(out) / "summary.json"))


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
                 "keys": seqs.keys, **_peaks_summary(seqs)},
        "explained": model.explained(opts.target, opts.output),
        "target": opts.target,
        "methods": list(opts.methods),
        "motifs_from": list(opts.motifs_from),
        "parameters": params,
        "versions": _versions(),
    }


def _peaks_summary(seqs: io.Sequences) -> dict:
    """BED input: the genome, and how many windows sit on a summit, a midpoint, the minus strand."""
    r = seqs.regions
    if r is None:
        return {}
    return {"genome": seqs.genome, "centred_on_summit": int((r.centred_on == "summit").sum()),
            "centred_on_midpoint": int((r.centred_on == "midpoint").sum()),
            "minus_strand": int((r.strand == "-").sum())}


def _versions() -> dict:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in ("tensorflow-cpu", "tensorflow", "keras", "numpy", "h5py", "modisco-lite", "modisco", "logomaker", "shap"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            pass
    return out


# --------------------------------------------------------------------------------------
# Stages
# --------------------------------------------------------------------------------------
def _filters_stage(model, x, db, od, opts):
    from . import filters
    from .motifs import compare, composition

    res = filters.kernel_logos(model, x, target=opts.target, threshold=opts.threshold, top_k=opts.top_k,
                               verbose=opts.verbose)
    matches = compare.match_to_db(list(res.ppm), db, alpha=opts.q_threshold, seed=opts.seed)
    groups = compare.group_redundant(list(res.ppm), matches, alpha=opts.q_threshold, db=db)
    group_names = compare.group_names(groups, matches, db=db, alpha=opts.q_threshold)
    ids = [f"filter_{i}" for i in range(len(res.ppm))]
    order = np.argsort(-res.influence, kind="stable")
    rank = np.empty(len(order), int)
    rank[order] = np.arange(1, len(order) + 1)
    rows = []
    for i, fid in enumerate(ids):
        m = matches[i]
        rows.append({"filter": fid, "n_sites": int(res.n_sites[i]), "ic": float(res.ic[i]),
                     "max_activation": float(res.max_activation[i]), "influence": float(res.influence[i]),
                     "influence_rank": int(rank[i]), **m.as_row(), "group": groups[i],
                     "group_name": group_names[i], **composition.describe(res.ppm[i]).as_row()})
    rows = [rows[i] for i in order]
    io.write_tsv(od / "filters.tsv", rows, ["filter", "n_sites", "ic", "max_activation", "influence",
                                           "influence_rank", "jaspar_id", "jaspar_name", "jaspar_q", "group",
                                           "group_name", *composition.COLUMNS])
    io.write_meme(od / "filters.meme", [io.Motif(fid, res.ppm[i], f"sites={int(res.n_sites[i])}",
                                                 max(int(res.n_sites[i]), 1)) for i, fid in enumerate(ids)])
    io.write_h5(od / "filters.h5", {"": {"ppm": res.ppm, "weights": res.weights, "n_sites": res.n_sites,
                                         "ic": res.ic, "max_activation": res.max_activation,
                                         "influence": res.influence}},
                attrs={"layer": res.layer, "width": res.width, "threshold": res.threshold})
    return {"result": res, "ids": ids, "matches": matches, "rows": rows}


def _attribution_stage(model, x, index, od, opts) -> dict:
    from . import jit
    from .attribution import distributed

    if opts.attributions:
        return _reuse_attributions(opts.attributions, index, od, opts)
    jit.wait("attribution")
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


def _check_attributions(path, index: np.ndarray, length: int, opts: RunOptions) -> None:
    """``--attributions``: a finished, intact attributions.h5 of these sequences with the run's methods."""
    info = io.attributions_info(path)
    if info["length"] != length:
        raise InputError(f"{path} holds {info['length']}-bp sequences but the model takes {length} bp; give the "
                         "attributions of this model's run.")
    if not np.array_equal(info["index"], index):
        raise InputError(f"{path} explains other sequences than this run selects; use the same data, "
                         "--target, --explain, --max-seqs and --seed as the run that made it.")
    missing = [m for m in opts.methods if m not in info["methods"]]
    if missing:
        raise InputError(f"{path} has no {missing[0]} attributions; pass --methods "
                         f"{','.join(m for m in opts.methods if m in info['methods']) or ','.join(info['methods'])}.")


def _reuse_attributions(path, index, od, opts) -> dict:
    io.copy_file(path, od / "attributions.h5")
    return {m: {"seconds": 0.0, "reused_from": str(path), **_attribution_stats(path, m, index)} for m in opts.methods}


def _locate_seqlets(seqlet_rows: list, regions: Regions, od) -> list:
    """Seqlet rows with their genome coordinates added, and ``seqlets.bed`` for a genome browser.

    BED score: ``|contribution|`` scaled to 0-1000 by the largest in the run (for ``useScore``
    shading); name: the motif id.
    """
    if seqlet_rows:
        g = to_genome(regions, *([r[k] for r in seqlet_rows] for k in ("seq_index", "start", "end", "strand")))
        seqlet_rows = [{**r, **{k: g[k][i].item() for k in GENOME_COLUMNS}} for i, r in enumerate(seqlet_rows)]
    top = max((abs(r["contribution"]) for r in seqlet_rows), default=0.0) or 1.0
    io.write_bed(od / "seqlets.bed", [{"chrom": r["chrom"], "chromStart": r["chrom_start"],
                                        "chromEnd": r["chrom_end"], "name": r["motif"],
                                        "score": round(1000 * abs(r["contribution"]) / top),
                                        "strand": r["chrom_strand"]} for r in seqlet_rows])
    return seqlet_rows


def _motif_stage(od, opts, regions: Regions | None = None):
    """TF-MoDISco per method of ``motifs_from``, families, and (BED input) seqlets on the genome.

    Returns ``(motif_rows, patterns, seqlet_rows, families, per_method summary)``.
    """
    from . import jit
    from .motifs import modisco

    jit.wait("modisco")
    path = od / "attributions.h5"
    info = io.attributions_info(path)
    patterns, seqlet_rows, families = [], [], []
    per_method = {}
    for k, name in enumerate(opts.motifs_from):
        # Only this method's arrays, and on large runs only a seeded sample of the rows.
        rows = modisco.sequence_sample(info["n"], info["length"], (opts.modisco or {}).get("max_sequences"), opts.seed)
        saved = io.read_attributions(path, name, rows=rows)
    per_method = {}
    for k, name in enumerate(opts.motifs_from):
        # Only this method's arrays, and on large runs only a seeded sample of the rows.
        rows = modisco.sequence_sample(info["n"], info["length"], (opts.modisco or {}).get("max_sequences"), opts.seed)
        saved = io.read_attributions(path, name, rows=rows)
        res = modisco.discover(saved["x"], saved[name]["hypothetical"], saved["index"], method=name,
                              settings=opts.modisco or None, seed=opts.seed, verbose=opts.verbose)
        fname = "modisco.h5" if k == 0 else f"modisco_{name}.h5"
        io.write_modisco_h5(od / fname, res.pos_patterns, res.neg_patterns, res.settings.sliding_window_size)
        fams = modisco.group_families(res.patterns, saved["x"], saved[name]["hypothetical"], saved["index"])
        patterns.extend(res.patterns)
        seqlet_rows.extend(res.seqlet_rows)
        families.extend(fams)
        per_method[name] = {"n_patterns": len(res.patterns), "n_families": len(fams),
                            "settings": asdict(res.settings), "modisco_h5": fname,
                            "sample": {"seed": opts.seed, "sequences": len(saved["index"]), "of_sequences": info["n"],
                                       "seqlets": res.n_clustered, "of_seqlets": res.n_seqlets}}
    family_of = {m: f.id for f in families for m in f.members}
    rows = [{"motif": p.id, "method": p.method, "sign": "+" if p.sign > 0 else "-", "n_seqlets": p.n_seqlets,
             "width": len(p.ppm), "trim_start": p.trim_start, "trim_end": p.trim_end, "family": family_of[p.id]}
            for p in patterns]
    if regions is not None:
        seqlet_rows = _locate_seqlets(seqlet_rows, regions, od)
    return rows, patterns, seqlet_rows, families, per_method


def _compare_stage(filt, patterns, motif_rows, seqlet_rows, db, od, opts, genome: bool = False) -> dict:
    from .motifs import compare, composition

    q = opts.q_threshold
    fres = filt["result"]
    fids = filt["ids"]
    motif_matches = compare.match_to_db([p.ppm for p in patterns], db, alpha=q, seed=opts.seed) if patterns else []
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
                    "best_filter_q": hits[0]["tomtom_q"] if hits else None, **composition.describe(p.ppm).as_row()})
    io.write_tsv(od / "motifs.tsv", motif_rows,
                 ["motif", "method", "sign", "n_seqlets", "width", "trim_start", "trim_end", "jaspar_id",
                  "jaspar_name", "jaspar_q", "filters", "best_filter", "best_filter_q", *composition.COLUMNS, "family"])
    io.write_meme(od / "motifs.meme", [io.Motif(p.id, p.ppm, f"{p.method}_{'pos' if p.sign > 0 else 'neg'}",
                                                p.n_seqlets) for p in patterns])
    io.write_h5(od / "motifs.h5", {p.id: {"ppm": p.ppm, "cwm": p.cwm, "hcwm": p.hcwm} for p in patterns},
                attrs={"explained": "see summary.json"})
    io.write_tsv(od / "seqlets.tsv", seqlet_rows, SEQLET_COLUMNS + (list(GENOME_COLUMNS) if genome else []))

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


def _screen_stage(model, x, db, od, opts):
    """The known-motif screen: ``screen.tsv``; returns ``(backgrounds, screen summary)``, the
    backgrounds for the effect sizes to reuse."""
    from . import jit, stats
    from .evidence import edits, screen

    jit.wait("attribution")  # the shuffle draws the backgrounds
    bg = edits.backgrounds(x, opts.screen_backgrounds, seed=opts.seed)
    res = screen.screen(model, bg, db, target=opts.target, output=opts.output, positions=opts.screen_positions,
                        seed=opts.seed, batch_size=8 * opts.batch_size, verbose=opts.verbose)
    io.write_tsv(od / "screen.tsv", res.rows(), screen.COLUMNS)
    keep = ("id", "name", "mean_delta", "se", "q", "consensus_delta", "raw_delta")
    sig = res.significant
    return bg, {
        "database": opts.motif_db or "bundled JASPAR 2026 CORE vertebrates",
        "n_motifs": len(res.ids), "backgrounds": res.n_backgrounds, "positions": res.positions,
        "explained": model.explained(opts.target, opts.output), "rule": stats.rule(opts.output),
        "min_effect": stats.min_effect(opts.output),
        "control": "a random sequence of the same width and GC content at the same place",
        "n_raise": int((sig & (res.insertion.effects.mean > 0)).sum()),
        "n_lower": int((sig & (res.insertion.effects.mean < 0)).sum()),
        "top_positive": [{k: r[k] for k in keep} for r in res.top(+1, 10)],
        "top_negative": [{k: r[k] for k in keep} for r in res.top(-1, 10)],
    }


def _effects_stage(model, x, index, filt, patterns, bg, od, opts) -> tuple[dict, dict]:
    """Insertion (and, for motifs, ablation) effects: new columns in filters.tsv and motifs.tsv; returns
    ``({motif: effect_significant}, effects summary)``. ``bg``: the screen's backgrounds, or None to draw the same ones here."""
    from . import jit, stats
    from .evidence import edits, effects

    jit.wait("attribution")  # the shuffle draws the backgrounds
    if bg is None:
        bg = edits.backgrounds(x, opts.screen_backgrounds, seed=opts.seed)
    kw = dict(target=opts.target, output=opts.output, positions=opts.screen_positions, seed=opts.seed,
              batch_size=8 * opts.batch_size, verbose=opts.verbose)
    fres = filt["result"]
    fe = effects.filter_effects(model, bg, fres.ppm, fres.n_sites, **kw)
    me = effects.motif_effects(model, x, index, patterns, bg, **kw)
    io.add_tsv_columns(od / "filters.tsv", "filter", fe.rows(filt["ids"]), effects.FILTER_COLUMNS)
    io.add_tsv_columns(od / "motifs.tsv", "motif", me.rows(), effects.MOTIF_COLUMNS)
    fires = fres.n_sites > 0
    summary = {
        "explained": model.explained(opts.target, opts.output), "rule": stats.rule(opts.output),
        "min_effect": stats.min_effect(opts.output), "backgrounds": len(bg), "positions": opts.screen_positions,
        "ablation": {"shuffles_per_seqlet": effects.N_SHUFFLES, "max_seqlets_per_motif": effects.MAX_SEQLETS},
        "motifs_responding": [m for m, s in zip(me.ids, me.significant) if s],
        "motifs_not_responding": [m for m, s in zip(me.ids, me.significant) if not s],
        "filters_responding": int(fe.significant.sum()),
        "filters_not_responding": [f for f, s, ok in zip(filt["ids"], fe.significant, fires) if ok and not s],
    }
    return dict(zip(me.ids, (bool(s) for s in me.significant))), summary


USAGE_COLUMNS = ["motif", "method", "filter", "rank", "share", "share_mean", "mean_contribution", "n_top3",
                 "n_seqlets", "strand", "tomtom_q"]


def _usage_stage(model, x, index, filt, patterns, od, opts) -> dict:
    """Which filters build each motif (:mod:`interpret.attribution.usage`): ``motif_filters.tsv``, the usage
    columns of ``filters.tsv`` (from the first method of ``motifs_from`` that has motifs) and the
    ``filter_usage`` summary."""
    from .attribution import usage

    fids = filt["ids"]
    q = {(r["filter"], r["motif"]): r["tomtom_q"] for r in io.read_tsv(od / "comparison.tsv")}
    rows, methods, building, first = [], {}, {}, None
    for name in opts.motifs_from:
        pats = [p for p in patterns if p.method == name and p.seqlets]
        if name not in usage.METHODS or not pats:
            continue
        t = time.perf_counter()
        seqlets = [(k, sq) for k, p in enumerate(pats) for sq in p.seqlets]
        win = np.array([(np.searchsorted(index, sq.seq_index), sq.start, sq.end) for _, sq in seqlets])
        fc = usage.filter_contributions(model, x, win, method=name, target=opts.target, output=opts.output,
                                        n_references=opts.n_references, seed=opts.seed,
                                        batch_size=opts.batch_size, verbose=opts.verbose)
        mu = usage.motif_usage(fc.contrib, np.array([k for k, _ in seqlets]), [p.id for p in pats],
                               [p.sign for p in pats], np.array([sq.strand == "-" for _, sq in seqlets]))
        # the decomposition adds up to the contributions TF-MoDISco saw (attributions.h5)
        gap = np.abs(fc.total - np.array([sq.contribution for _, sq in seqlets]))
        if gap.max() > 1e-3:
            logger.warning("%s: filter contributions differ from the seqlets' contributions by up to %.3g "
                           "(other references than the attributions'?)", name, gap.max())
        for m, mid in enumerate(mu.motifs):
            order = np.argsort(-mu.share[m], kind="stable")
            for rank, f in enumerate(order, 1):
                tq = q.get((fids[f], mid))
                rows.append({"motif": mid, "method": name, "filter": fids[f], "rank": rank,
                             "share": mu.share[m, f], "share_mean": mu.share_mean[m, f],
                             "mean_contribution": mu.mean_contribution[m, f], "n_top3": int(mu.n_top3[m, f]),
                             "n_seqlets": int(mu.n_seqlets[m]), "strand": "-" if mu.reverse[m, f] else "+",
                             "tomtom_q": float(tq) if tq else None})
            build = mu.building(m)
            building[mid] = {"filters": [fids[f] for f in build], "shares": [round(float(mu.share[m, f]), 4)
                                                                              for f in build]}
        methods[name] = {"explained": fc.explained, "layer": fc.layer, "n_seqlets": len(seqlets),
                         "n_references": fc.n_references, "max_abs_gap": float(gap.max()),
                         "seconds": round(time.perf_counter() - t, 3)}
        if first is None:
            first = mu
    io.write_tsv(od / "motif_filters.tsv", rows, USAGE_COLUMNS)
    # the usage columns of filters.tsv (empty without motifs)
    cols = {}
    for f, fid in enumerate(fids):
        main = int(first.main_motif[f]) if first is not None else -1
        cols[fid] = {"main_motif": first.motifs[main] if main >= 0 else "",
                     "main_motif_share": first.share[main, f] if main >= 0 else None,
                     "seqlet_share": first.filter_share[f] if first is not None else None}
    io.add_tsv_columns(od / "filters.tsv", "filter", cols, ["main_motif", "main_motif_share", "seqlet_share"])
    return {"cover": usage.COVER, "methods": methods, "motifs": building,
            "not_decomposed": [m for m in opts.motifs_from if m not in usage.METHODS]}


FAMILY_COLUMNS = ["family", "method", "sign", "n_patterns", "members", "n_seqlets", "width", "jaspar_id",
                  "jaspar_name", "jaspar_q", "minor"]


def _family_stage(families, significant, db, od, opts) -> dict:
    """``families.tsv`` and the families' pooled matrices (``families/<id>`` in ``motifs.h5``).

    Runs after the effects stage (``significant``: ``{motif: effect_significant}``). A family is
    minor when it has fewer than ``opts.minor_seqlets`` pooled seqlets or none of its members
    has a significant effect.
    """
    from .motifs import compare, modisco

    minor = modisco.fold_minor(families, opts.minor_seqlets, significant)
    matches = (compare.match_to_db([f.ppm for f in families], db, alpha=opts.q_threshold, seed=opts.seed)
               if families else [])
    rows = [{"family": f.id, "method": f.method, "sign": "+" if f.sign > 0 else "-", "n_patterns": len(f.members),
             "members": ",".join(f.members), "n_seqlets": f.n_seqlets, "width": len(f.ppm), **m.as_row(),
             "minor": minor[f.id]} for f, m in zip(families, matches)]
    io.write_tsv(od / "families.tsv", rows, FAMILY_COLUMNS)
    if families:
        io.write_h5(od / "motifs.h5", {f"families/{f.id}": {"ppm": f.ppm, "cwm": f.cwm, "hcwm": f.hcwm}
                                       for f in families}, mode="a")
    folded = [f for f in families if minor[f.id]]
    return {"n_families": len(families), "n_minor_families": len(folded),
            "n_minor_patterns": sum(len(f.members) for f in folded), "minor_seqlets": opts.minor_seqlets,
            "minor_by_effect": significant is not None}



def run_targets(model: Model, seqs: io.Sequences, out, target=0, **options) -> RunResult:
    """:func:`run` for one ``target``, or for every output when ``target == "all"``.

    With ``"all"``, each output gets a complete run in ``out/target_<t>/`` (its own report,
    the kernel logos ranked by that output's influence) and ``out/summary.json`` lists them.
    """
    if target != "all":
        return run(model, seqs, out, target=target, **options)
    if not isinstance(model, Model):
        model = Model.from_keras(model)
    opts = RunOptions(**options)
    done = _already_complete(out, opts)
    if done is not None:
        return done
    for t in range(model.n_outputs):  # every target's options and inputs, before the directory exists
        _prepare(model, seqs, replace(opts, target=t))
    force = options.pop("force", False)
    resume = options.get("resume", False)
    with io.OutputDir(out, force=force, resume=resume, inputs=_inputs(model, seqs, opts)) as od:
        runs = {}
        for t in range(model.n_outputs):
            sub = od / f"target_{t}"
            if resume and (sub / "summary.json").exists():  # finished before the interruption
                logger.info("target %d: finished in the interrupted run, reused", t)
                summary = io.read_json(sub / "summary.json")
            else:
                summary = run(model, seqs, sub, target=t, **options).summary
            runs[t] = {"dir": f"target_{t}", "explained": summary["explained"],
                       "comparison": summary.get("comparison", {}),
                       "screen_top": [r["name"] for r in summary.get("screen", {}).get("top_positive", [])[:5]]}
        from . import __version__
        from .report.render import render_report

        top = {"version": __version__, "targets": runs, "command": options.get("command", "")}
        render_report(od.path, top)  # an index page linking each target's report
        final = od.finish(top)
    return RunResult(final, {"targets": runs})
