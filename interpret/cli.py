"""Command line: ``interpret run | attribute | report``. Parses arguments and calls the pipeline."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
import threading

DESCRIPTION = """\
What did my DNA CNN learn? Kernel logos of the first convolution, DeepSHAP and
gradient x input attributions, TF-MoDISco motifs, JASPAR matches with TOMTOM, and one
HTML report that sets kernel logos and attribution motifs side by side."""

EPILOG = """\
examples:
  interpret run model.h5 data.npz --out results/
  interpret run model.keras seqs.fa.gz --explain all --max-seqs 5000 --out results/
  interpret run model.keras peaks.narrowPeak --genome hg38.fa --out results/
  interpret run model.h5 data.npz --attributions results/attributions.h5 --out results2/
  interpret attribute model.h5 data.npz --out attributions.h5 --workers 2
  interpret attribute model.h5 data.npz --out attributions.h5 --resume   # after a crash or Ctrl-C
  interpret run model.h5 planted.npz --truth planted.tsv --out results/
  interpret compare relu/ exponential/ --names relu,exp --out relu_vs_exp/
  interpret report results/
"""


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Every option's default said once: appended as "(default: X)" unless its help already says it,
    and not at all when there is none to say (``None``, or off for a flag)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


def _csv(value: str) -> tuple:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _target(value: str):
    if value == "all":
        return "all"
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--target takes an output index or 'all', not {value!r}")


def _add_data_args(p) -> None:
    p.add_argument("model", help="Keras model: .h5, .keras or SavedModel directory")
    p.add_argument("data", help="sequences: .npz, .npy, FASTA (.fa/.fasta, optionally .gz), or peaks as BED "
                                "(.bed/.narrowPeak, optionally .gz) with --genome")
    p.add_argument("--custom-objects", metavar="FILE.py",
                   help="Python file that defines (and registers) the model's custom layers or functions")
    p.add_argument("--x-key", help="key of the one-hot array in an .npz (default: auto-detect x, X, x_test, ...)")
    p.add_argument("--y-key", help="key of the labels in an .npz (default: auto-detect y, Y, y_test, labels)")
    p.add_argument("--genome", metavar="FASTA",
                   help="BED input: genome FASTA, uncompressed (its .fai index is used, or built beside it)")
    p.add_argument("--width", type=int,
                   help="BED input: window in bp around each summit (narrowPeak column 10) or midpoint "
                        "(default: the model's input length, which it must equal)")
    p.add_argument("--label-column", type=int, metavar="K",
                   help="BED input: 1-based column with a numeric label per peak (default: no labels)")
    p.add_argument("--target", type=_target, default=0,
                   help="output to explain (default 0); 'all': the motif x output matrix and kernel logos of every "
                        "output at once, and a complete run per output up to --max-output-runs outputs")
    p.add_argument("--output", choices=("logit", "probability"), default="logit",
                   help="explain the pre-sigmoid/softmax logit (default) or the probability")
    p.add_argument("--explain", choices=("auto", "positives", "all"), default="auto",
                   help="which sequences: positives of the target when labels exist (auto, default) or all")
    p.add_argument("--max-seqs", type=int, help="explain a seeded random subset of at most this many sequences")
    p.add_argument("--methods", type=_csv,
                   help="attribution methods, comma-separated: deepshap, gradxinput, saliency, ig, ism "
                        "(default gradxinput,deepshap; gradxinput,ig when DeepSHAP has no rule for a layer)")
    p.add_argument("--n-references", type=int, default=20,
                   help="dinucleotide-shuffled references per sequence for DeepSHAP (default 20)")
    p.add_argument("--batch-size", type=int, default=128, help="sequences per batch on the model (default 128)")
    p.add_argument("--seed", type=int, default=0, help="seed for subsets, shuffles and TF-MoDISco (default 0)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="interpret", description=DESCRIPTION, epilog=EPILOG,
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"interpret {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="everything: kernel logos, attributions, motifs, comparison, report",
                         description="Run every stage and write one output directory (see README: outputs).",
                         formatter_class=_HelpFormatter)
    _add_data_args(run)
    run.add_argument("--out", default="interpret_out", help="output directory")
    run.add_argument("--force", action="store_true",
                     help="replace --out if it is an earlier interpret run (never a folder interpret did not write)")
    run.add_argument("--resume", action="store_true",
                     help="continue an interrupted run of --out (kept in .<out>.partial): finished stages and "
                          "attribution shards are reused; starts afresh if there is none")
    run.add_argument("--motifs-from", type=_csv,
                     help="methods whose attributions go through TF-MoDISco, comma-separated (default deepshap, "
                          "else ig, else the first of --methods)")
    run.add_argument("--attributions", help="reuse attributions.h5 of an earlier run and go on from motif discovery")
    run.add_argument("--threshold", type=float, default=0.5,
                     help="kernel logos: a site is where activation > threshold x the filter's max")
    run.add_argument("--top-k", type=int, help="kernel logos: use each filter's k strongest sites instead")
    run.add_argument("--motif-db", help="MEME file of known motifs (default: bundled JASPAR 2026 CORE vertebrates)")
    run.add_argument("--q", type=float, default=0.05, dest="q_threshold", help="TOMTOM q-value for a match")
    run.add_argument("--hits-on", choices=("explained", "all"), default="explained",
                     help="where every instance of every motif family is called (hits.tsv): the explained "
                          "sequences, or all input sequences (the others get attributions first, "
                          "attributions_rest.h5)")
    run.add_argument("--truth", metavar="FILE",
                     help="planted truth: an .npz with positions (N, L) over the input rows, or a TSV of planted "
                          "instances (seq_index, start, end, motif[, strand]); adds interpretability AUROC/AUPR, "
                          "seqlet and hit recall and precision, and the planted motifs the filters and motifs recover")
    run.add_argument("--max-output-runs", type=int, default=10, metavar="N",
                     help="with --target all: a complete run (attributions, TF-MoDISco, report) per output when the "
                          "model has at most N outputs; the motif x output matrix is computed whatever N")
    e = run.add_argument_group("known-motif screen and effect sizes (in-silico insertion and ablation)")
    e.add_argument("--screen", action=argparse.BooleanOptionalAction, default=True,
                   help="insert every --motif-db motif into shuffled backgrounds and report which ones move the "
                        "explained score (screen.tsv); effect sizes of the run's own motifs and filters are "
                        "computed either way")
    e.add_argument("--screen-backgrounds", type=int, default=100, metavar="B",
                   help="dinucleotide shuffles of the explained sequences that motifs are inserted into (>= 2)")
    e.add_argument("--screen-positions", type=int, default=1, metavar="K",
                   help="insertion points: the centre (1) or K evenly spaced ones")
    e.add_argument("--screen-sequential", action=argparse.BooleanOptionalAction, default=True,
                   help="stop testing a screened motif once more backgrounds cannot change its decision "
                        "(screen.tsv n_backgrounds); --no-screen-sequential runs every motif on all B backgrounds")
    g = run.add_argument_group("TF-MoDISco (defaults derived from sequence length and count)")
    g.add_argument("--modisco-window", type=int, dest="sliding_window_size", help="seqlet sliding window")
    g.add_argument("--modisco-flank", type=int, dest="flank_size", help="seqlet flank")
    g.add_argument("--modisco-fdr", type=float, dest="target_seqlet_fdr", help="seqlet FDR")
    g.add_argument("--modisco-max-seqlets", type=int, dest="max_seqlets_per_metacluster",
                   help="seqlets clustered per sign (more: a seeded random sample)")
    g.add_argument("--modisco-max-seqs", type=int, dest="max_sequences",
                   help="sequences TF-MoDISco reads (more: a seeded random sample; default 2e7 bp worth)")
    g.add_argument("--modisco-leiden-runs", type=int, dest="n_leiden_runs", help="Leiden runs")
    g.add_argument("--modisco-min-cluster", type=int, dest="final_min_cluster_size",
                   help="smallest pattern kept (seqlets)")
    g.add_argument("--minor-seqlets", type=int, default=20,
                   help="motif families with fewer seqlets are folded out of the report's main table "
                        "(kept in the files)")
    _add_common(run)

    att = sub.add_parser("attribute", help="attributions only, to one attributions.h5 (optionally on Dask)",
                         description="Compute attributions into one HDF5 file; shard over a Dask cluster with "
                                     "--scheduler or --workers.",
                         formatter_class=_HelpFormatter)
    _add_data_args(att)
    att.add_argument("--out", required=True, help="attributions.h5 to write")
    att.add_argument("--force", action="store_true",
                     help="replace --out if it is an attributions file interpret wrote")
    att.add_argument("--resume", action="store_true",
                     help="continue an interrupted run (kept in .<out>.partial) from its last saved shard; starts "
                          "afresh if there is none")
    att.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://host:8786")
    att.add_argument("--workers", type=int, help="start a local Dask cluster with this many workers")
    att.add_argument("--shard-size", type=int, default=2048, help="sequences per Dask task")
    _add_common(att)

    cmp = sub.add_parser("compare", help="finished runs side by side: filters named, families matched across runs",
                         description="Compare finished `interpret run` directories (other models, seeds or data): "
                                     "compare.tsv, families_by_run.tsv and a report. Reads their files only; no "
                                     "model is run.")
    cmp.add_argument("runs", nargs="+", metavar="RUN_DIR", help="finished run directories (two or more)")
    cmp.add_argument("--out", required=True, help="output directory")
    cmp.add_argument("--names", type=_csv, help="one short name per run, comma-separated (default: the directory names)")
    cmp.add_argument("--force", action="store_true",
                     help="replace --out if it is an earlier interpret output (never a folder interpret did not write)")
    _add_common(cmp)

    rep = sub.add_parser("report", help="re-render report.html from a finished output directory",
                         description="Re-render report.html and figures/ from saved outputs; nothing is recomputed.",
                         formatter_class=_HelpFormatter)
    rep.add_argument("dir", help="output directory of `interpret run`")
    _add_common(rep)
    return parser


def _add_common(p) -> None:
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or messages")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")


def main(argv=None) -> int:
    command_line = argv is None  # the process is this command (not a call from Python)
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    _start_compiles(args)
    if args.command in ("run", "attribute"):   # compare and report read files only: no TensorFlow
        _quiet_tensorflow(args.debug)
    # Our own messages at INFO; other libraries (fontTools, numba, dask) only when they warn.
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="interpret: %(message)s")
    logging.getLogger("interpret").setLevel(logging.DEBUG if args.debug else
                                            (logging.WARNING if args.quiet else logging.INFO))
    from .errors import InputError

    try:
        return _dispatch(args, argv)
    except InputError as exc:
        if args.debug:
            raise
        hint = "" if "--resume" in str(exc) else _resume_hint(args, "; ")
        print(f"interpret: error: {exc}{hint}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if command_line and threading.current_thread() is threading.main_thread():
            # The command line's process ends here: a second SIGINT while it exits would end it by
            # the signal (-2) instead of 130, after the resumable part was already kept.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        print(f"interpret: interrupted{_resume_hint(args, '; ') or '; no output was left behind'}", file=sys.stderr)
        return 130
    except MemoryError:
        if args.debug:
            raise
        print("interpret: error: out of memory; lower --batch-size or --max-seqs", file=sys.stderr)
        return 1
    except Exception as exc:  # the promise is one line, never a traceback, unless --debug
        if args.debug:
            raise
        lines = [l.strip() for l in str(exc).strip().splitlines() if l.strip()]
        # TF wraps errors as "in user code:\n ... <the real message>": show the real one.
        msg = (lines[-1] if lines[0].endswith(":") else lines[0])[:300] if lines else ""
        print(f"interpret: error: {type(exc).__name__}: {msg} (rerun with --debug for the traceback)"
              f"{_resume_hint(args, '; ')}", file=sys.stderr)
        return 1
    return 0


def _dispatch(args, argv) -> int:
    # A batch system's SIGTERM (preemption, time limit) ends the run like Ctrl-C: Dask is shut down
    # and the resumable part kept. Only the main thread may set handlers; the old one comes back.
    main_thread = threading.current_thread() is threading.main_thread()
    old = signal.signal(signal.SIGTERM, _interrupt) if main_thread else None
    try:
        if args.command == "run":
            return _run(args, argv)
        if args.command == "attribute":
            return _attribute(args, argv)
        if args.command == "compare":
            return _compare(args, argv)
        return _report(args)
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, old)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _resume_hint(args, sep: str) -> str:
    """Where the finished part of an interrupted run is kept and how to continue it ("" if nothing was kept)."""
    out = getattr(args, "out", None)
    if not out or args.command not in ("run", "attribute"):
        return ""
    from . import io

    partial = io.partial_path(out)
    if not partial.exists():
        return ""
    return f"{sep}the finished part is kept in {partial}: rerun the same command with --resume to continue"


def _start_compiles(args) -> None:
    # First run after install: numba compiles in a background process while TensorFlow imports
    # and the model loads (see interpret.jit); a no-op once numba's cache has the kernels.
    if args.command == "run" or (args.command == "attribute" and not (args.scheduler or args.workers)):
        from . import jit

        jit.start(jit.GROUPS if args.command == "run" else ("attribution",))


def _quiet_tensorflow(debug: bool) -> None:
    # Only the CLI decides what the user sees: TF's C++ banner and absl's HDF5 notice are noise.
    if not debug:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        logging.getLogger("absl").setLevel(logging.ERROR)
        import warnings

        warnings.filterwarnings("ignore", module="keras")
        # TF 2.21 prints its oneDNN banner from C++ at import, past TF_CPP_MIN_LOG_LEVEL:
        # import it once with stderr pointed at /dev/null so errors stay one line.
        saved = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(devnull)
            os.close(saved)


def _quiet_dask(debug: bool) -> None:
    # distributed logs a lost connection or a restarted worker with tracebacks; the run reports
    # what matters in one line (or carries on), so only --debug shows them.
    if not debug:
        import distributed  # noqa: F401  (its import sets up its loggers; set the level after)

        logging.getLogger("distributed").setLevel(logging.CRITICAL)


def _load(args):
    from . import io

    model = io.load_model(args.model, custom_objects=args.custom_objects)
    seqs = io.load_sequences(args.data, x_key=args.x_key, y_key=args.y_key, seq_len=model.seq_len,
                             genome=args.genome, width=args.width, label_column=args.label_column)
    return model, io.labels_for_model(seqs, model)


def _inputs(args) -> list:
    """The command's input files: an ``--out`` that holds one is never written or replaced."""
    names = ("model", "data", "custom_objects", "genome", "motif_db", "attributions", "truth")
    return [getattr(args, k) for k in names if getattr(args, k, None)]


def _run(args, argv) -> int:
    from . import io, pipeline

    io.check_replaceable(args.out, args.force, _inputs(args))  # before the model loads: seconds, not minutes
    model, seqs = _load(args)
    modisco = {k: getattr(args, k) for k in ("sliding_window_size", "flank_size", "target_seqlet_fdr",
                                             "max_seqlets_per_metacluster", "n_leiden_runs",
                                             "final_min_cluster_size", "max_sequences") if getattr(args, k) is not None}
    opts = dict(output=args.output, methods=args.methods, motifs_from=args.motifs_from,
                explain=args.explain, max_seqs=args.max_seqs, seed=args.seed, n_references=args.n_references,
                batch_size=args.batch_size, threshold=args.threshold, top_k=args.top_k,
                motif_db=args.motif_db, q_threshold=args.q_threshold, modisco=modisco,
                minor_seqlets=args.minor_seqlets, hits_on=args.hits_on,
                attributions=args.attributions, screen=args.screen, screen_backgrounds=args.screen_backgrounds,
                screen_positions=args.screen_positions, screen_sequential=args.screen_sequential, truth=args.truth,
                force=args.force, resume=args.resume,
                verbose=not args.quiet, command="interpret " + shlex.join(argv))
    if args.target == "all":
        opts["max_output_runs"] = args.max_output_runs
    res = pipeline.run_targets(model, seqs, args.out, args.target, **opts)
    if not args.quiet:
        reports = [res.out / "report.html"] if (res.out / "report.html").exists() else sorted(res.out.glob("*/report.html"))
        for path in reports:
            print(f"Report: {path.resolve()}")
    return 0


def _attribute(args, argv) -> int:
    from . import io, jit, pipeline
    from .attribution import distributed

    io.check_replaceable(args.out, args.force, _inputs(args), kind="file")
    model, seqs = _load(args)
    target = 0 if args.target == "all" else args.target
    index = pipeline.select_sequences(seqs, model.check_target(target), args.explain, args.max_seqs, args.seed)
    if args.scheduler or args.workers:
        _quiet_dask(args.debug)
    methods, _, _ = pipeline.choose_methods(model, args.methods, None, args.output)
    jit.wait("attribution")
    out = distributed.attribute_to_file(
        args.model, model, seqs.source, index, args.out, methods=methods, target=target, output=args.output,
        n_references=args.n_references, seed=args.seed, batch_size=args.batch_size,
        shard_size=args.shard_size, scheduler=args.scheduler, workers=args.workers, force=args.force,
        resume=args.resume, verbose=not args.quiet, custom_objects=args.custom_objects)
    if not args.quiet:
        print(f"Attributions: {out}")
    return 0


def _compare(args, argv) -> int:
    from . import pipeline

    res = pipeline.compare_runs(args.runs, args.out, names=args.names, force=args.force,
                                command="interpret " + shlex.join(argv))
    if not args.quiet:
        print(f"Report: {(res.out / 'report.html').resolve()}")
    return 0


def _report(args) -> int:
    from pathlib import Path

    from .errors import InputError
    from .report.render import render_report

    d = Path(args.dir)
    if not (d / "summary.json").exists():
        raise InputError(f"{d} is not a finished output directory (no summary.json); run `interpret run` first.")
    path = render_report(d)
    if not args.quiet:
        print(f"Report: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
