"""The whole run: load → (filters | attributions | screen) → motifs → (compare | usage) → effects →
families → instances → report.

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
    screen_sequential : bool
        Stop testing each screened motif once more backgrounds cannot change its decision
        (:mod:`interpret.evidence.screen`, "Sequential screen"); ``False``: every motif on all ``B``.
    minor_seqlets : int
        Motif families with fewer pooled seqlets are minor: in the files, folded out of the
        report's main table.
    chunk_size : int
        Rows per attribution shard: the unit committed to ``attributions.h5`` (and resumed); hit
        calling works through the same shards.
    hits_on : str
        Where motif instances are called (``hits.tsv``): ``"explained"`` (default) or ``"all"``
        (every input sequence; the ones not explained get attributions of their own first,
        ``attributions_rest.h5``).
    resume : bool
        Continue the unfinished run of ``out`` (its staging directory ``.<out>.partial``): stages
        that finished there with the same parameters are reused, attributions resume from their
        last committed shard.
    truth : str or None
        Planted truth (``--truth``): an ``.npz`` with ``positions`` (N, L) or a TSV of planted
        instances; scored against the attributions, seqlets, filters and motifs
        (:mod:`interpret.evidence.truth`).
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
    screen_sequential: bool = True
    minor_seqlets: int = MIN_FAMILY_SEQLETS
    hits_on: str = "explained"
    attributions: str | None = None
    truth: str | None = None
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
    "hits_on": ("--hits-on", ("explained", "all")),
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
    truth = io.read_truth(opts.truth, len(seqs), seqs.length) if opts.truth else None
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
                                  "screen_sequential", "seed", "batch_size"),
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
        if seqs.y is not None:
            summary["model_quality"] = od.stage("quality", {**_params(opts, "target"), "labels": _digest_of(seqs.y)},
                                                lambda: _quality_stage(model, seqs, index, opts), after=())
        summary["names"] = od.stage("names", _params(opts, "motif_db", "screen"),
                                    lambda: _names_stage(filt, patterns, families, db, od, opts))
        instances, summary["instances"] = od.stage(
            "instances", _params(opts, "hits_on", "motifs_from", "chunk_size", "target", "output", "n_references",
                                 "seed", "batch_size"),
            lambda: _instances_stage(model, seqs, index, families, patterns, od, opts))
        summary["grammar"] = od.stage(
            "grammar", _params(opts, "target", "output", "screen_backgrounds", "seed", "batch_size"),
            lambda: _grammar_stage(model, x, index, instances, families, backgrounds, od, opts))
        if truth is not None:
            summary["truth"] = od.stage(
                "truth",
                {**_params(opts, "truth", "q_threshold", "motif_db", "modisco", "seed"), "digest": _digest(truth)},
                lambda: _truth_stage(truth, filt, patterns, seqlet_rows, instances, index, db, od, opts))
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
    return [p for p in (model.path, seqs.path, seqs.genome, opts.motif_db, opts.attributions, opts.truth) if p]


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
    from .evidence.edits import check_positions
    from .evidence.screen import check_motifs
    from .motifs import modisco

    if opts.screen:
        check_motifs(db, model.seq_len)
    if db:
        check_positions(opts.screen_positions, model.seq_len, max(len(m.ppm) for m in db))
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
def _filters_stage(model, x, db, od, opts, outputs=None):
    """Kernel logos: ``filters.*``. ``outputs``: also each filter's influence on every one of these
    outputs (``--target all``), which then ranks the filters by the strongest of them."""
    from . import filters
    from .motifs import compare, composition

    res = filters.kernel_logos(model, x, target=opts.target, threshold=opts.threshold, top_k=opts.top_k,
                               outputs=outputs, verbose=opts.verbose)
    if outputs is not None:
        strongest = np.take_along_axis(res.influence_outputs, np.abs(res.influence_outputs).argmax(axis=1)[:, None], 1)
        res = replace(res, influence=strongest[:, 0])
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
                                         "influence": res.influence,
                                         **({} if outputs is None else {"influence_outputs": res.influence_outputs})}},
                attrs={"layer": res.layer, "width": res.width, "threshold": res.threshold})
    return {"result": res, "ids": ids, "matches": matches, "rows": rows}


def _attribution_stage(model, x, index, od, opts) -> dict:
    from . import jit

    if opts.attributions:
        return _reuse_attributions(opts.attributions, index, od, opts)
    jit.wait("attribution")
    path = od / "attributions.h5"
    seconds = _attribute(model, x, index, path, opts.methods, opts)
    return {m: {"seconds": round(seconds[m], 3), **_attribution_stats(path, m, index)} for m in opts.methods}


def _attribute(model, x, index, path, methods, opts) -> dict:
    """Attributions of ``x`` (user rows ``index``) into the resumable store ``path``; ``{method: seconds}``."""
    from .attribution import distributed

    attrs = distributed.store_attrs(model, methods, opts.target, opts.output, opts.n_references, opts.seed,
                                    opts.batch_size)
    args = (index, x.shape[1], list(methods), attrs, opts.chunk_size)
    try:  # shards committed before an interruption are kept
        store = io.AttributionStore.open(path, *args, resume=path.exists())
    except io.NotResumable as exc:
        logger.info("%s; computing the attributions afresh", exc)
        store = io.AttributionStore.open(path, *args)
    try:
        return distributed.attribute_into(store, model, x, None, methods, opts.target, opts.output,
                                          opts.n_references, opts.seed, opts.batch_size, verbose=opts.verbose)
    finally:
        store.close()


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
    """Seqlet rows with their genome coordinates added, and ``seqlets.bed`` for a genome browser."""
    return _locate(seqlet_rows, regions, od / "seqlets.bed")


def _locate(rows: list, regions: Regions, bed) -> list:
    """Rows (``seq_index, start, end, strand, motif, contribution``) with their genome coordinates
    added, written as BED6 to ``bed``. BED score: ``|contribution|`` scaled to 0-1000 by the largest
    of the rows (for ``useScore`` shading); name: the motif id."""
    if rows:
        g = to_genome(regions, *([r[k] for r in rows] for k in ("seq_index", "start", "end", "strand")))
        rows = [{**r, **{k: g[k][i].item() for k in GENOME_COLUMNS}} for i, r in enumerate(rows)]
    top = max((abs(r["contribution"]) for r in rows), default=0.0) or 1.0
    io.write_bed(bed, [{"chrom": r["chrom"], "chromStart": r["chrom_start"], "chromEnd": r["chrom_end"],
                        "name": r["motif"], "score": round(1000 * abs(r["contribution"]) / top),
                        "strand": r["chrom_strand"]} for r in rows])
    return rows


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

    namings = compare.name_parts([p.ppm for p in patterns], [p.parts for p in patterns], motif_matches, db,
                                 alpha=q, seed=opts.seed)
    for row, p, m in zip(motif_rows, patterns, namings):
        hits = sorted((r for r in comp_rows if r["motif"] == p.id and r["tomtom_q"] is not None
                       and r["tomtom_q"] < q), key=lambda r: r["tomtom_q"])
        row.update({**m.as_row(), "filters": ",".join(h["filter"] for h in hits),
                    "best_filter": hits[0]["filter"] if hits else "",
                    "best_filter_q": hits[0]["tomtom_q"] if hits else None, **composition.describe(p.ppm).as_row()})
    io.write_tsv(od / "motifs.tsv", motif_rows,
                 ["motif", "method", "sign", "n_seqlets", "width", "trim_start", "trim_end", "jaspar_id",
                  "jaspar_name", "jaspar_q", "parts", "part_names", "filters", "best_filter", "best_filter_q",
                  *composition.COLUMNS, "family"])
    io.write_tsv(od / "parts.tsv", _part_rows(patterns, namings), PART_COLUMNS)
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
                        seed=opts.seed, batch_size=8 * opts.batch_size, verbose=opts.verbose,
                        sequential=opts.screen_sequential)
    io.write_tsv(od / "screen.tsv", res.rows(), screen.COLUMNS)
    keep = ("id", "name", "mean_delta", "se", "q", "consensus_delta", "raw_delta")
    sig = res.significant
    return bg, {
        "database": opts.motif_db or "bundled JASPAR 2026 CORE vertebrates",
        "n_motifs": len(res.ids), "backgrounds": res.n_backgrounds, "positions": res.positions,
        "explained": model.explained(opts.target, opts.output), "rule": stats.rule(opts.output),
        "min_effect": stats.min_effect(opts.output),
        "control": "a random sequence of the same width and GC content at the same place",
        **_screen_cost(res.insertion, opts),
        "n_raise": int((sig & (res.insertion.effects.mean > 0)).sum()),
        "n_lower": int((sig & (res.insertion.effects.mean < 0)).sum()),
        "top_positive": [{k: r[k] for k in keep} for r in res.top(+1, 10)],
        "top_negative": [{k: r[k] for k in keep} for r in res.top(-1, 10)],
    }


def _screen_cost(ins, opts) -> dict:
    """The screen's forward passes against the full screen's, for summary.json."""
    from . import stats
    from .evidence import screen

    return {"sequential": bool(opts.screen_sequential),
            "stages": screen.stages(opts.screen_backgrounds, opts.screen_sequential).tolist(),
            "early_stop_error": stats.EARLY_STOP_ERROR if opts.screen_sequential else None,
            "forward_passes": int(ins.forward_passes), "forward_passes_full": int(ins.forward_passes_full)}


def _effects_stage(model, x, index, filt, patterns, bg, od, opts) -> tuple[dict, dict]:
    """Insertion (and, for motifs, ablation) effects: new columns in filters.tsv and motifs.tsv; returns
    ``({motif: effect_significant}, effects summary)``. ``bg``: the screen's backgrounds, or None to draw the same ones here."""
    from . import stats
    from .evidence import effects

    bg = _backgrounds(x, bg, opts)
    kw = dict(target=opts.target, output=opts.output, positions=opts.screen_positions, seed=opts.seed,
              batch_size=8 * opts.batch_size, verbose=opts.verbose)
    fres = filt["result"]
    fe = effects.filter_effects(model, bg, fres.ppm, fres.n_sites, **kw)
    parts = [(f"{p.id}:{k}", p.ppm[a:b]) for p in patterns if len(p.parts) > 1 for k, (a, b) in enumerate(p.parts)]
    me = effects.motif_effects(model, x, index, patterns, bg, parts=[ppm for _, ppm in parts], **kw)
    io.add_tsv_columns(od / "filters.tsv", "filter", fe.rows(filt["ids"]), effects.FILTER_COLUMNS)
    io.add_tsv_columns(od / "motifs.tsv", "motif", me.rows(), effects.MOTIF_COLUMNS)
    io.add_tsv_columns(od / "parts.tsv", "part", me.part_rows([pid for pid, _ in parts]), effects.PART_COLUMNS)
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


def _backgrounds(x, bg, opts) -> np.ndarray:
    """The screen's backgrounds ``bg``, or with ``--no-screen`` (``bg`` None) the same ones drawn here."""
    from . import jit
    from .evidence import edits

    if bg is not None:
        return bg
    jit.wait("attribution")  # the shuffle draws the backgrounds
    return edits.backgrounds(x, opts.screen_backgrounds, seed=opts.seed)


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
                  "jaspar_name", "jaspar_q", "parts", "part_names", "name", "minor"]
PART_COLUMNS = ["part", "motif", "index", "start", "end", "jaspar_id", "jaspar_name", "jaspar_q"]


def _part_rows(patterns, namings) -> list:
    """``parts.tsv`` rows: every part of every pattern with two or more (``<motif>:<index>``)."""
    return [{"part": f"{p.id}:{k}", "motif": p.id, "index": k, "start": a, "end": b, **m.as_row()}
            for p, nm in zip(patterns, namings) if len(nm.parts) > 1
            for k, ((a, b), m) in enumerate(zip(nm.parts, nm.part_matches))]


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
    namings = compare.name_parts([f.ppm for f in families], [f.parts for f in families], matches, db,
                                 alpha=opts.q_threshold, seed=opts.seed)
    rows = [{"family": f.id, "method": f.method, "sign": "+" if f.sign > 0 else "-", "n_patterns": len(f.members),
             "members": ",".join(f.members), "n_seqlets": f.n_seqlets, "width": len(f.ppm), **m.as_row(),
             "name": m.name, "minor": minor[f.id]} for f, m in zip(families, namings)]
    io.write_tsv(od / "families.tsv", rows, FAMILY_COLUMNS)
    if families:
        io.write_h5(od / "motifs.h5", {f"families/{f.id}": {"ppm": f.ppm, "cwm": f.cwm, "hcwm": f.hcwm}
                                       for f in families}, mode="a")
    folded = [f for f in families if minor[f.id]]
    return {"n_families": len(families), "n_minor_families": len(folded),
            "n_minor_patterns": sum(len(f.members) for f in folded), "minor_seqlets": opts.minor_seqlets,
            "minor_by_effect": significant is not None}


def _grammar_stage(model, x, index, instances, families, backgrounds, od, opts) -> dict:
    """How motifs combine (:mod:`interpret.evidence.grammar`): ``grammar.tsv`` and the ``grammar`` summary.

    ``instances``: the instances stage's :class:`~interpret.motifs.hits.HitResult`; its hits in the
    explained sequences are read, its families' display names and parts (a composite's parts are
    tested as a pair at their own spacing). ``families``: the motif stage's families (their PPMs);
    ``backgrounds``: the screen's, or None to draw the same ones here.
    """
    from . import stats
    from .evidence import grammar

    bg = _backgrounds(x, backgrounds, opts)
    by_id = {f.id: f for f in families}
    ids = list(instances.families)
    keep = np.isin(instances.seq_index, index)
    hits = [np.asarray(getattr(instances, c))[keep] for c in ("seq_index", "start", "end", "strand", "motif")]
    composites = [arr for k, fid in enumerate(ids)
                  for arr in grammar.composite_arrangements(fid, by_id[fid].ppm, instances.parts[k],
                                                            int((hits[4] == k).sum()))]
    res = grammar.grammar(model, bg, *hits, ids, list(instances.names), [by_id[f].ppm for f in ids],
                          composites, target=opts.target, output=opts.output, seed=opts.seed,
                          batch_size=8 * opts.batch_size, verbose=opts.verbose)
    rows = res.rows()
    io.write_tsv(od / "grammar.tsv", rows, grammar.COLUMNS)
    sp = res.spacings
    keys = ("motif_a", "motif_b", "name_a", "name_b", "orientation", "spacing", "kind", "interaction",
            "interaction_se", "interaction_q")
    return {
        "explained": model.explained(opts.target, opts.output), "null": grammar.NULL,
        "rule": stats.rule(opts.output), "min_effect": stats.min_effect(opts.output), "backgrounds": len(bg),
        "hits": int(keep.sum()), "sequences": int(len(np.unique(hits[0]))), "min_pairs": grammar.MIN_PAIRS,
        "family_pairs_tested": len(sp.pairs), "arrangements": int(len(sp.q)),
        "enriched": int(((sp.q < stats.ALPHA) & (sp.enrichment > 1)).sum()), "tested_in_silico": len(rows),
        "interacting": [{k: r[k] for k in keys} for r in sorted(rows, key=lambda r: -abs(r["interaction"]))
                        if r["interaction_significant"] and r["kind"] != "control"][:10],
    }


def _instances_stage(model, seqs, index, families, patterns, od, opts):
    """Every instance of every motif family (:mod:`interpret.motifs.hits`): ``hits.tsv`` (``hits.bed``
    with BED input) and the per-family columns of ``families.tsv``; returns ``(HitResult, summary)``.

    Each method of ``motifs_from`` fits its own families to its own contributions, shard by shard
    (``chunk_size`` rows; finished shards are kept for a resumed run). With ``hits_on="all"`` the
    input rows that were not explained get attributions first (``attributions_rest.h5``, resumable).
    """
    from . import jit
    from .motifs import hits

    jit.wait("hits")
    rest = np.setdiff1d(np.arange(len(seqs)), index) if opts.hits_on == "all" else index[:0]
    if len(rest):
        jit.wait("attribution")
        _attribute(model, seqs.take(rest), rest, od / "attributions_rest.h5", opts.motifs_from, opts)
    sources = [(od / "attributions.h5", len(index))] + ([(od / "attributions_rest.h5", len(rest))] if len(rest) else [])
    shards = [(path, a, min(a + opts.chunk_size, n)) for path, n in sources for a in range(0, n, opts.chunk_size)]
    named = {r["family"]: r for r in io.read_tsv(od / "families.tsv")}
    found, meta, scale = [], {k: [] for k in ("families", "names", "widths", "parts", "methods")}, {}
    for name in opts.motifs_from:
        fams = [f for f in families if f.method == name]
        if not fams:
            continue
        motifs = hits.prepare([f.cwm for f in fams])
        scale[name] = hits.contribution_scale(c["contrib"] for _, c in
                                              io.iter_attributions(od / "attributions.h5", name, ("contrib",)))

        def read(k, name=name):
            path, a, b = shards[k]
            d = io.read_attributions(path, name, rows=np.arange(a, b), names=("contrib",))
            return d["index"], d["x"], d[name]["contrib"]

        store = io.ShardFiles(od.scratch(f"instances_{name}"), {
            "shards": [(p.name, a, b) for p, a, b in shards], "scale": scale[name],
            "motifs": hashlib.blake2b(motifs.cwm.tobytes(), digest_size=16).hexdigest()})
        found.append((hits.call_sharded(len(shards), read, motifs, scale[name], store, verbose=opts.verbose),
                      len(fams)))
        for f in fams:
            row = named.get(f.id, {})
            part_names = (row.get("part_names") or "").split(";")
            meta["families"].append(f.id)
            meta["names"].append(row.get("name") or f.id)
            meta["widths"].append(len(f.cwm))
            meta["parts"].append(tuple((a, b, part_names[k] if len(f.parts) > 1 and k < len(part_names) else
                                        row.get("name") or "") for k, (a, b) in enumerate(f.parts)))
            meta["methods"].append(name)
    scanned = np.sort(np.concatenate([index, rest]))
    result = hits.merge(found, **{k: tuple(v) for k, v in meta.items()}, scanned=scanned, hits_on=opts.hits_on,
                        scale=scale)
    fam_index = {fid: i for i, fid in enumerate(result.families)}
    family_of = {m: fam_index[f.id] for f in families if f.id in fam_index for m in f.members}
    seqlets = [(family_of[p.id], s.seq_index, s.start, s.end) for p in patterns if p.id in family_of
               for s in p.seqlets]
    positive = None
    if seqs.y is not None:
        y = seqs.y if seqs.y.ndim == 1 else seqs.y[:, opts.target]
        positive = np.asarray(y)[scanned] > 0.5
    stats = hits.family_stats(result, seqlets, positive)
    io.add_tsv_columns(od / "families.tsv", "family", dict(zip(result.families, stats)), hits.FAMILY_COLUMNS)
    rows = result.rows()
    genome = seqs.regions is not None
    if genome:
        rows = _locate(rows, seqs.regions, od / "hits.bed")
    io.write_tsv(od / "hits.tsv", rows, hits.COLUMNS + (list(GENOME_COLUMNS) if genome else []))
    return result, {
        "hits_on": opts.hits_on, "n_scanned": int(len(scanned)), "n_hits": len(result),
        "attributions_rest": "attributions_rest.h5" if len(rest) else None,
        "lambda": hits.LAMBDA, "min_similarity": hits.MIN_SIMILARITY, "eps": hits.EPS, "scale": scale,
        "families": {fid: {"n_hits": st["n_hits"], "seqlet_recall": st["seqlet_recall"]}
                     for fid, st in zip(result.families, stats)},
    }


def _names_stage(filt, patterns, families, db, od, opts) -> dict:
    """Motif groups, and the links between the screen and the run's names (:mod:`interpret.evidence.names`).

    Adds the group columns (of each row's JASPAR match) and the link columns (the responding screen
    hits it resembles, what the screen says of its name) to filters.tsv, motifs.tsv and
    families.tsv, names filter groups after motif groups (``group_name``), adds the group columns
    to screen.tsv, and writes screen_groups.tsv (with a screen).
    """
    from .evidence import names
    from .motifs import compare

    groups = io.load_motif_groups(opts.motif_db)
    screen = _screen_rows(od / "screen.tsv") if opts.screen else []
    by_id = {r["id"]: r for r in screen}
    frows = io.read_tsv(od / "filters.tsv")
    # a filter's sign: that of its own insertion effect, when the model responds to it (0: none)
    fsign = {r["filter"]: int(np.sign(float(r["insertion_effect"]))) if r.get("effect_significant") == "True" else 0
             for r in frows}
    fires = [i for i, n in enumerate(filt["result"].n_sites) if n > 0]
    queries = {"patterns": ([p.id for p in patterns], [p.ppm for p in patterns], [p.sign for p in patterns]),
               "families": ([f.id for f in families], [f.ppm for f in families], [f.sign for f in families]),
               "filters": ([filt["ids"][i] for i in fires], [filt["result"].ppm[i] for i in fires],
                           [fsign[filt["ids"][i]] for i in fires])}
    links = names.link(queries, db, screen, groups) if screen else None
    filter_groups = names.filter_group_names(frows, groups)
    for kind, table, key in (("filters", "filters.tsv", "filter"), ("patterns", "motifs.tsv", "motif"),
                             ("families", "families.tsv", "family")):
        ids, _, signs = queries[kind]
        sign = dict(zip(ids, signs))
        resembled = dict(zip(ids, links.resembles[kind])) if links else {}
        cols = {}
        for r in io.read_tsv(od / table):
            hits = resembled.get(r[key], [])
            cols[r[key]] = {**names.annotate(r["jaspar_id"], groups), "resembles": ",".join(hits),
                            "resembles_groups": ";".join(dict.fromkeys(names.group_of(h, by_id[h]["name"], groups)
                                                                       for h in hits)),
                            "screen_check": names.check_name(r["jaspar_id"], sign.get(r[key], 0), by_id, groups)}
            if kind == "filters":  # a filter group's name after the motif group of most of its named members
                cols[r[key]]["group_name"] = filter_groups.get(r["group"], r["group_name"])
        io.add_tsv_columns(od / table, key, cols, names.GROUP_COLUMNS + names.LINK_COLUMNS
                           + (["group_name"] if kind == "filters" else []))
    out = {"groups": "bundled JASPAR 2026 motif groups" if groups else None,
           "n_groups": len({g["motif_group"] for g in groups.values()}),
           "resemblance": {"q": compare.RESEMBLANCE_Q, "r": compare.RESEMBLANCE_R, "overlap": compare.MIN_OVERLAP}}
    if not screen:
        return out
    io.add_tsv_columns(od / "screen.tsv", "id", {r["id"]: names.annotate(r["id"], groups) for r in screen},
                       names.GROUP_COLUMNS)
    rows = []
    for g in names.screen_groups(screen, groups):
        c = links.carried.get((g.group, g.sign), {})
        rows.append({"motif_group": g.group, "tf_family": g.tf_family, "tf_class": g.tf_class,
                     "sign": "+" if g.sign > 0 else "-", "n_members": g.n_members, "n_responding": len(g.members),
                     **{k: g.best[k] for k in ("id", "name", "mean_delta", "se", "q")},
                     "carried": links.carried_by(g), **{k: ",".join(c.get(k, [])) for k in queries}})
    io.write_tsv(od / "screen_groups.tsv", rows, names.SCREEN_GROUP_COLUMNS)
    out["screen_groups"] = {"raise": sum(r["sign"] == "+" for r in rows), "lower": sum(r["sign"] == "-" for r in rows),
                            **{f"carried_by_{k}": sum(r["carried"] == k for r in rows) for k in ("pattern", "filter", "none")}}
    return out


def _screen_rows(path) -> list:
    """``screen.tsv`` with numbers and booleans parsed."""
    rows = io.read_tsv(path)
    for r in rows:
        for k in ("mean_delta", "se", "q"):
            r[k] = float(r[k]) if r[k] else float("nan")
        r["effect_significant"] = r["effect_significant"] == "True"
    return rows


# --------------------------------------------------------------------------------------
# Model quality and planted truth
# --------------------------------------------------------------------------------------
#: Rows predicted at once when scoring the model on every labelled row.
_QUALITY_ROWS = 8192


def _predictions(model: Model, seqs: io.Sequences, batch_size: int) -> np.ndarray:
    """The model's output (probability, or the linear output) on every input row, ``(N, T)``,
    read a block of rows at a time."""
    return np.concatenate([model.predict(seqs.source[i:i + _QUALITY_ROWS], None, "probability",
                                         batch_size=8 * batch_size)
                           for i in range(0, len(seqs), _QUALITY_ROWS)])


def _quality_stage(model, seqs, index, opts) -> dict:
    """How well the model separates the labels it was given (``summary.json`` ``model_quality``)."""
    from .evidence import truth

    return truth.model_quality(model.output_activation, np.asarray(seqs.y), _predictions(model, seqs, opts.batch_size),
                               opts.target, index)


def _digest_of(arr) -> str:
    """Of an array's content (labels, planted positions): a resumed run redoes the stage that read
    it when it changed."""
    return hashlib.blake2b(np.ascontiguousarray(arr).tobytes(), digest_size=16).hexdigest()


def _digest(truth: io.Truth) -> str:
    """Of the truth's content (positions, and the instance table when there is one)."""
    extra = repr({k: list(v) for k, v in truth.instances.items()}) if truth.instances is not None else ""
    return _digest_of(truth.positions) + hashlib.blake2b(extra.encode(), digest_size=8).hexdigest()


TRUTH_COLUMNS = ["seq_index", "method", "auroc", "aupr", "n_planted"]
PLANTED_COLUMNS = ["motif", "jaspar_id", "jaspar_name", "n_instances", "seqlet_recall", "hit_recall", "best_filter",
                   "filter_q",
                   "filter_recovered", "best_motif", "motif_q", "motif_recovered"]


def _truth_stage(truth: io.Truth, filt, patterns, seqlet_rows, instances, index, db, od, opts) -> dict:
    """The run against planted truth: ``truth.tsv`` (interpretability AUROC and AUPR of each
    explained sequence and method), with an instance table ``planted.tsv`` (seqlet and hit recall,
    the filters and motifs that recover each planted motif); returns the ``truth`` summary.
    ``instances``: the instances stage's HitResult (its hits are scored on the sequences it scanned)."""
    from .evidence import truth as tr
    from .motifs import modisco

    path = od / "attributions.h5"
    rows, methods = [], {}
    for method in opts.methods:
        roc, pr = [], []
        for start, c in io.iter_attributions(path, method, ("contrib",)):
            idx = index[start:start + len(c["contrib"])]
            labels = tr.planted_labels(truth.positions[idx])
            a, b = tr.interpretability(c["contrib"], labels)
            roc.append(a)
            pr.append(b)
            rows.extend({"seq_index": int(i), "method": method, "auroc": float(u), "aupr": float(v),
                         "n_planted": int(k)} for i, u, v, k in zip(idx, a, b, labels.sum(axis=1)))
        roc, pr = np.concatenate(roc), np.concatenate(pr)
        ok = np.isfinite(roc)
        methods[method] = {"auroc": float(roc[ok].mean()) if ok.any() else None,
                           "aupr": float(pr[ok].mean()) if ok.any() else None,
                           "auroc_sd": float(roc[ok].std()) if ok.any() else None, "n_sequences": int(ok.sum())}
    io.write_tsv(od / "truth.tsv", rows, TRUTH_COLUMNS)
    out = {"file": truth.path, "form": truth.form, "label": f"planted where the truth exceeds {tr.INFO_BITS:g} "
           "(bits of the generating PWM, or a 0/1 mask)" if truth.form == "positions" else "inside a planted instance",
           "score": "attribution summed over the four bases, signed",
           "n_explained": int(len(index)), "methods": methods}
    if truth.instances is None:
        return out
    inst = truth.instances
    sample = modisco.sequence_sample(len(index), truth.positions.shape[1], (opts.modisco or {}).get("max_sequences"),
                                     opts.seed)
    read = index if sample is None else index[sample]
    keep = np.isin(inst["seq_index"], read)
    planted = {k: v[keep] for k, v in inst.items()}
    seqlets = {}
    for method in opts.motifs_from:
        mine = [r for r in seqlet_rows if r["method"] == method]
        ov = tr.overlap_scores(planted, mine)
        seqlets[method] = {"recall": ov.recall, "precision": ov.precision, "n_planted": int(len(ov.truth_found)),
                           "n_seqlets": int(len(ov.found_true)), "recall_by_motif": ov.recall_by_motif,
                           "min_overlap": tr.MIN_OVERLAP}
    out["seqlets"] = seqlets
    out["sequences_read"] = int(len(read))
    # hits: every instance the run called, on the sequences the instances stage scanned
    scanned = np.isin(inst["seq_index"], instances.scanned)
    ov = tr.overlap_scores({k: v[scanned] for k, v in inst.items()},
                           {"seq_index": instances.seq_index, "start": instances.start, "end": instances.end})
    out["hits"] = {"recall": ov.recall, "precision": ov.precision, "n_planted": int(len(ov.truth_found)),
                   "n_hits": int(len(ov.found_true)), "recall_by_motif": ov.recall_by_motif,
                   "sequences_scanned": int(len(instances.scanned)), "min_overlap": tr.MIN_OVERLAP}
    names = list(dict.fromkeys(planted["motif"].tolist() or inst["motif"].tolist()))
    found = {n: _db_motif(n, db) for n in names}
    known = [n for n in names if found[n] is not None]
    fres, fids = filt["result"], filt["ids"]
    fires = np.flatnonzero(fres.n_sites > 0)
    by_filter = tr.recovered([found[n].ppm for n in known], [fres.ppm[i] for i in fires], alpha=opts.q_threshold)
    by_motif = tr.recovered([found[n].ppm for n in known], [p.ppm for p in patterns], alpha=opts.q_threshold)
    first = (opts.motifs_from or [None])[0]
    table = []
    for n in names:
        row = {"motif": n, "n_instances": int((planted["motif"] == n).sum()),
               "seqlet_recall": seqlets.get(first, {}).get("recall_by_motif", {}).get(n),
               "hit_recall": out["hits"]["recall_by_motif"].get(n)}
        if n in known:
            k = known.index(n)
            f, m = by_filter[k], by_motif[k]
            row.update(jaspar_id=found[n].id, jaspar_name=found[n].name,
                       best_filter=fids[fires[f["query"]]] if f["query"] >= 0 else "", filter_q=f["q"],
                       filter_recovered=f["recovered"],
                       best_motif=patterns[m["query"]].id if m["query"] >= 0 else "", motif_q=m["q"],
                       motif_recovered=m["recovered"])
        table.append(row)
    io.write_tsv(od / "planted.tsv", table, PLANTED_COLUMNS)
    out["planted"] = table
    out["not_in_database"] = [n for n in names if n not in known]
    return out


def _db_motif(name: str, db):
    """The database motif a truth table names: by id, else by name (case-insensitive); None if absent."""
    for m in db:
        if m.id == name:
            return m
    return next((m for m in db if m.name.upper() == name.upper()), None)


#: With ``--target all``, every output gets a complete run of its own (attributions, TF-MoDISco,
#: report) when the model has at most this many outputs (``--max-output-runs``); above, only the
#: motif × output matrix and the shared kernel logos, which cost what one output costs.
MAX_OUTPUT_RUNS = 10
#: Known motifs of each sign named per output in ``summary.json`` ``targets``.
N_TOP_PER_OUTPUT = 5


def check_max_output_runs(value) -> None:
    """``--max-output-runs``: an integer of at least 0 (:class:`InputError` otherwise)."""
    _check_option("--max-output-runs", value, "int", 0, None)


def run_targets(model: Model, seqs: io.Sequences, out, target=0, max_output_runs: int = MAX_OUTPUT_RUNS,
                **options) -> RunResult:
    """:func:`run` for one ``target``, or for every output when ``target == "all"``.

    With ``"all"``, ``out`` holds what every output shares, computed once: the kernel logos with
    each filter's influence on every output (``filters.*``, ``filter_outputs.tsv``), the known-motif
    screen of every output from the same forward passes (``screen_outputs.tsv``, ``.h5``) and, with
    labels, the model's quality per output. When the model has at most ``max_output_runs``
    outputs, each output also gets a complete run in ``out/target_<t>/`` (its own report, on its
    own positives) and their motif families are matched to each other (``output_families.tsv``,
    each family's insertion effect on every output). ``out/report.html`` opens with the
    motif × output matrix.
    """
    if target != "all":
        return run(model, seqs, out, target=target, **options)
    if not isinstance(model, Model):
        model = Model.from_keras(model)
    check_max_output_runs(max_output_runs)
    opts = RunOptions(**options)
    done = _already_complete(out, opts)
    if done is not None:
        return done
    # Every output's options and inputs, before the directory exists: each output that gets a run
    # of its own (its positives among them), else the shared parts' (every row).
    per_output = model.n_outputs <= max_output_runs
    for t in range(model.n_outputs) if per_output else [0]:
        model, seqs, _, db, _, _ = _prepare(model, seqs, replace(opts, target=t) if per_output
                                            else replace(opts, explain="all"))
    if opts.truth:
        io.read_truth(opts.truth, len(seqs), seqs.length)       # checked before any work; each output's run scores it
    index = _rows_of_all_outputs(seqs, opts)
    x = seqs.take(index)
    outputs = list(range(model.n_outputs))
    inner = {k: v for k, v in options.items() if k != "force"}
    # the head records what every output shares, with the methods each output's run chooses
    methods, motifs_from, _ = choose_methods(model, opts.methods, opts.motifs_from, opts.output)
    head = _summary_head(model, seqs, index, replace(opts, methods=methods, motifs_from=motifs_from))
    top = {**{k: head[k] for k in ("version", "command", "created", "model", "data")}, "run": Path(out).name,
           "targets": {}, "per_output_runs": per_output, "max_output_runs": int(max_output_runs),
           "parameters": {**head["parameters"], "target": "all"}}
    with io.OutputDir(out, force=opts.force, resume=opts.resume, identity=_identity(model, x, index),
                      inputs=_inputs(model, seqs, opts)) as od:
        filt = od.stage("filters", _params(opts, "threshold", "top_k", "motif_db", "q_threshold"),
                        lambda: _filters_outputs_stage(model, x, db, od, opts, outputs), after=())
        top["filters"] = filt["summary"]
        if seqs.y is not None:
            top["model_quality"] = od.stage("quality", {"labels": _digest_of(seqs.y)},
                                            lambda: _quality_outputs_stage(model, seqs, index, opts), after=())
        backgrounds = None
        if opts.screen:
            backgrounds, top["screen_outputs"] = od.stage(
                "screen_outputs", _params(opts, "output", "motif_db", "screen_backgrounds", "screen_positions",
                                          "screen_sequential", "seed", "batch_size"),
                lambda: _screen_outputs_stage(model, x, db, od, opts), after=())
        for t in outputs:
            entry = {"explained": model.explained(t, opts.output), "dir": None,
                     "screen_top": (top.get("screen_outputs") or {}).get("top_positive", {}).get(str(t), [])}
            if per_output:
                sub = od / f"target_{t}"
                if opts.resume and (sub / "summary.json").exists():  # finished before the interruption
                    logger.info("target %d: finished in the interrupted run, reused", t)
                    summary = io.read_json(sub / "summary.json")
                else:
                    summary = run(model, seqs, sub, target=t, **inner).summary
                entry.update(dir=f"target_{t}", comparison=summary.get("comparison", {}),
                             n_families=(summary.get("families") or {}).get("n_families"))
            top["targets"][str(t)] = entry
        if per_output:
            top["output_families"] = od.stage(
                "output_families", _params(opts, "q_threshold", "screen_backgrounds", "screen_positions", "seed",
                                           "output"),
                lambda: _output_families_stage(model, x, backgrounds, od, opts, outputs))
        from .report.render import render_report

        top["resumed"] = list(od.resumed)
        top["timings"] = {k: round(v, 3) for k, v in od.timings.items()}
        render_report(od.path, top)  # the index page: the motif x output matrix first
        final = od.finish(top)
    return RunResult(final, top)


def _rows_of_all_outputs(seqs: io.Sequences, opts: RunOptions) -> np.ndarray:
    """Rows the shared parts of ``--target all`` read: :func:`select_sequences` with a sequence
    positive when it is positive for at least one output (``--explain auto`` or ``positives``)."""
    y = seqs.y
    if y is not None and y.ndim > 1:
        seqs = seqs.with_labels((y > 0.5).any(axis=1).astype(np.float32))
    return select_sequences(seqs, 0, opts.explain, opts.max_seqs, opts.seed)


FILTER_OUTPUT_COLUMNS = ["filter", "output", "influence", "influence_rank"]


def _filters_outputs_stage(model, x, db, od, opts, outputs) -> dict:
    """Kernel logos once for every output: ``filters.*`` (ranked by each filter's strongest
    influence on any output) and ``filter_outputs.tsv`` (its influence on each)."""
    filt = _filters_stage(model, x, db, od, opts, outputs=outputs)
    infl = filt["result"].influence_outputs
    rank = np.empty(infl.shape, np.int64)
    for t in range(infl.shape[1]):
        rank[np.argsort(-np.abs(infl[:, t]), kind="stable"), t] = np.arange(1, len(infl) + 1)
    rows = [{"filter": fid, "output": int(o), "influence": float(infl[i, t]), "influence_rank": int(rank[i, t])}
            for t, o in enumerate(outputs) for i, fid in enumerate(filt["ids"])]
    io.write_tsv(od / "filter_outputs.tsv", rows, FILTER_OUTPUT_COLUMNS)
    named = [r["filter"] for r in filt["rows"] if r["jaspar_id"]]
    return {"summary": {"n_filters": len(filt["ids"]), "named": named, "layer": filt["result"].layer,
                        "influence": "mean drop of each output's logit when the filter's output is replaced by its mean",
                        "sequences": int(len(x))}}


def _quality_outputs_stage(model, seqs, index, opts) -> dict:
    """:func:`interpret.evidence.truth.model_quality` of every output from one pass over the labelled rows."""
    from .evidence import truth

    pred = _predictions(model, seqs, opts.batch_size)
    y = np.asarray(seqs.y)
    return {str(t): truth.model_quality(model.output_activation, y, pred, t, index) for t in range(model.n_outputs)}


SCREEN_OUTPUT_KEEP = ("id", "name", "effect", "se", "q")


def _screen_outputs_stage(model, x, db, od, opts):
    """The known-motif screen of every output at once: ``screen_outputs.tsv`` and ``.h5``; returns
    ``(backgrounds, summary)``."""
    from . import jit, stats
    from .evidence import across, edits, screen

    jit.wait("attribution")  # the shuffle draws the backgrounds
    bg = edits.backgrounds(x, opts.screen_backgrounds, seed=opts.seed)
    ins = screen.insertion_matrix(model, bg, [m.ppm for m in db], output=opts.output,
                                  positions=opts.screen_positions, seed=opts.seed, batch_size=8 * opts.batch_size,
                                  verbose=opts.verbose, desc="screen, every output", sequential=opts.screen_sequential)
    res = across.screen_matrix(ins, [m.id for m in db], [m.name for m in db], opts.output)
    rows = res.rows()
    io.write_tsv(od / "screen_outputs.tsv", rows, across.SCREEN_COLUMNS)
    e = ins.effects
    io.write_h5(od / "screen_outputs.h5", {"": {"effect": e.mean, "se": e.se, "n_backgrounds": e.n[:, 0], "p": e.p,
                                                "q": res.q,
                                                "significant": res.significant, "consensus_delta": ins.consensus_delta,
                                                "raw_delta": ins.raw_delta, "outputs": ins.targets,
                                                "ids": np.array(res.ids), "names": np.array(res.names),
                                                "widths": np.array([len(m.ppm) for m in db])}},
                attrs={"explained": model.explained(0, opts.output).replace("output 0", "each output"),
                       "backgrounds": len(bg), "positions": opts.screen_positions})
    by_output: dict = {}
    for r in rows:
        by_output.setdefault(r["output"], []).append(r)
    top_pos = {str(t): [r["name"] for r in rs if r["effect_significant"] and r["effect"] > 0][:N_TOP_PER_OUTPUT]
               for t, rs in by_output.items()}
    top_neg = {str(t): [r["name"] for r in rs[::-1] if r["effect_significant"] and r["effect"] < 0][:N_TOP_PER_OUTPUT]
               for t, rs in by_output.items()}
    return bg, {"database": opts.motif_db or "bundled JASPAR 2026 CORE vertebrates", "n_motifs": len(db),
                "n_outputs": int(len(ins.targets)), "backgrounds": len(bg), "positions": opts.screen_positions,
                **_screen_cost(ins, opts),
                "sequences": int(len(x)), "q": "Benjamini-Hochberg over the database, per output",
                "rule": stats.rule(opts.output), "min_effect": stats.min_effect(opts.output),
                "n_responses": int(res.significant.sum()), "top_positive": top_pos, "top_negative": top_neg}


OUTPUT_FAMILY_COLUMNS = ["family", "sign", "name", "output", "present", "member", "n_seqlets", "effect", "se", "q",
                         "effect_significant", "jaspar_name", "tomtom_q"]


def _output_families_stage(model, x, bg, od, opts, outputs) -> dict:
    """The outputs' motif families matched to each other (``output_families.tsv``, ``.h5``), with
    each family's insertion effect on every output from one set of forward passes."""
    from . import jit, stats
    from .evidence import across, edits, screen

    refs = []
    for t in outputs:
        refs.extend(across.family_refs(io.read_run(od / f"target_{t}"), t))
    matches = across.match_families(refs, alpha=opts.q_threshold)
    rows, arrays = [], {}
    if matches:
        if bg is None:
            jit.wait("attribution")
            bg = edits.backgrounds(x, opts.screen_backgrounds, seed=opts.seed)
        ins = screen.insertion_matrix(model, bg, [m.representative.ppm for m in matches], targets=outputs,
                                      output=opts.output, positions=opts.screen_positions, seed=opts.seed,
                                      consensus=False, batch_size=8 * opts.batch_size, verbose=opts.verbose,
                                      desc="families, every output")
        q = np.column_stack([stats.bh(ins.effects.p[:, t]) for t in range(len(outputs))])
        sig = stats.responds(q, ins.effects.mean, opts.output)
        for k, m in enumerate(matches):
            arrays[m.id] = {"ppm": m.representative.ppm, **({} if m.representative.cwm is None
                                                            else {"cwm": m.representative.cwm})}
            for t, o in enumerate(outputs):
                mem, found = m.members.get(o), m.of(o)
                rows.append({"family": m.id, "sign": "+" if m.sign > 0 else "-", "name": m.name, "output": o,
                             "present": mem is not None, "member": ",".join(f.id for f in found),
                             "n_seqlets": sum(f.n_seqlets for f in found) if found else None,
                             "effect": float(ins.effects.mean[k, t]),
                             "se": float(ins.effects.se[k, t]), "q": float(q[k, t]),
                             "effect_significant": bool(sig[k, t]), "jaspar_name": mem.jaspar_name if mem else "",
                             "tomtom_q": m.q.get(o)})
    io.write_tsv(od / "output_families.tsv", rows, OUTPUT_FAMILY_COLUMNS)
    io.write_h5(od / "output_families.h5", arrays, attrs={"representative": "the member with most seqlets"})
    return {"n_families": len(matches), "n_outputs": len(outputs),
            "in_every_output": sum(len(m.members) == len(outputs) for m in matches),
            "match": f"TOMTOM q < {opts.q_threshold:g} both ways and aligned columns r >= {across.MIN_R:g}, "
                     "against the family with most seqlets",
            "effect": "insertion of the representative's pooled PPM into the shared backgrounds, on each output; "
                      "q Benjamini-Hochberg over the families, per output"}


# --------------------------------------------------------------------------------------
# interpret compare: finished runs side by side
# --------------------------------------------------------------------------------------
COMPARE_FAMILY_COLUMNS = ["family", "sign", "name", "run", "present", "member", "n_seqlets", "effect", "effect_se",
                          "effect_significant", "jaspar_name", "tomtom_q"]


def compare_runs(run_dirs, out, names=None, force: bool = False, command: str = "") -> RunResult:
    """``interpret compare``: finished runs side by side, from their files alone (no model is run).

    Writes ``out/compare.tsv`` (one row per run: filters named and building motifs, families, the
    model's AUROC, interpretability against planted truth, design), ``out/families_by_run.tsv``
    (families matched across runs by TOMTOM, one row per family and run), their matrices
    (``families_by_run.h5``, ``.meme``) and ``out/report.html``, with the safety of ``interpret run``
    (a staging directory renamed when complete, the ``.interpret`` marker, ``--force`` only over
    an earlier interpret output).

    Parameters
    ----------
    run_dirs : list of str or Path
        Two or more finished run directories (one output each: a ``--target all`` run's
        ``target_<t>`` folders).
    out : str or Path
    names : list of str, optional
        One short name per run (default: each directory's name, made unique).
    force : bool
    command : str
        The command line, recorded in ``summary.json``.
    """
    from . import __version__, stats
    from .evidence import across

    dirs = [Path(d) for d in run_dirs]
    if len(dirs) < 2:
        raise InputError(f"interpret compare needs at least two run directories, not {len(dirs)}; give several.")
    names = _run_names(dirs, names)
    io.check_replaceable(out, force, dirs)
    runs = [io.read_run(d) for d in dirs]
    rows = [across.run_row(n, r.summary, r.filters, r.families, r.usage) for n, r in zip(names, runs)]
    designs = [across.design_key(r.summary) for r in runs]
    labels = across.design_labels(designs)
    matches = across.match_families([f for k, r in enumerate(runs) for f in across.family_refs(r, k)],
                                    alpha=stats.ALPHA)
    shared = across.shared_by_design(matches, designs)
    for row, label in zip(rows, labels):
        row.update(design=label, design_shared=(shared.get(label) or {}).get("share"))
    methods = list(dict.fromkeys(m for r in runs for m in ((r.summary.get("truth") or {}).get("methods") or {})))
    columns = (across.COMPARE_COLUMNS + [f"{k}_{m}" for m in methods for k in ("auroc", "aupr")]
               + ["design", "design_shared"])
    fam_rows = []
    for m in matches:
        for k, name in enumerate(names):
            mem, found = m.members.get(k), m.of(k)
            fam_rows.append({"family": m.id, "sign": "+" if m.sign > 0 else "-", "name": m.name, "run": name,
                             "present": mem is not None, "member": ",".join(f.id for f in found),
                             "n_seqlets": sum(f.n_seqlets for f in found) if found else None,
                             "effect": mem.effect if mem else None,
                             "effect_se": mem.effect_se if mem else None,
                             "effect_significant": mem.significant if mem else None,
                             "jaspar_name": mem.jaspar_name if mem else "", "tomtom_q": m.q.get(k)})
    summary = {"version": __version__, "command": command or " ".join(sys.argv),
               "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "run": Path(out).name,
               "compare": {"runs": [{"name": n, "dir": str(d.resolve()), "design": lab,
                                     "explained": r.summary.get("explained")}
                                    for n, d, r, lab in zip(names, dirs, runs, labels)],
                           "n_families": len(matches), "designs": shared, "methods": methods,
                           "building_share": across.BUILDING_SHARE,
                           "match": f"TOMTOM q < {stats.ALPHA:g} both ways and aligned columns r >= {across.MIN_R:g}, "
                                    "against the family with most seqlets; minor families count as absent"}}
    with io.OutputDir(out, force=force, inputs=dirs) as od:
        io.write_tsv(od / "compare.tsv", rows, columns)
        io.write_tsv(od / "families_by_run.tsv", fam_rows, COMPARE_FAMILY_COLUMNS)
        reps = [m.representative for m in matches]
        io.write_h5(od / "families_by_run.h5", {m.id: {"ppm": r.ppm, **({} if r.cwm is None else {"cwm": r.cwm})}
                                                for m, r in zip(matches, reps)})
        io.write_meme(od / "families_by_run.meme", [io.Motif(m.id, r.ppm, m.name, max(r.n_seqlets, 1))
                                                    for m, r in zip(matches, reps)])
        from .report.render import render_report

        render_report(od.path, summary)
        final = od.finish(summary)
    logger.info("comparison in %s", final)
    return RunResult(final, summary)


def _run_names(dirs: list, names) -> list[str]:
    """One name per run: as given (``--names``), else each directory's name, with its parent's
    prepended where two would be the same."""
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != len(dirs):
            raise InputError(f"--names gives {len(names)} names for {len(dirs)} runs; give one per run.")
        if len(set(names)) != len(names) or not all(names):
            raise InputError("--names must be distinct and non-empty; give one short name per run.")
        return names
    out = [d.resolve().name for d in dirs]
    if len(set(out)) < len(out):
        out = [f"{d.resolve().parent.name}/{d.resolve().name}" for d in dirs]
    if len(set(out)) < len(out):
        out = [f"run_{k}" for k in range(len(dirs))]
    return out
