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


def _add_data_args(p, every_output: bool) -> None:
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
    every = ("; 'all': the motif x output matrix and kernel logos of every output at once, and a complete run "
             "per output up to --max-output-runs outputs") if every_output else ""
    p.add_argument("--target", type=_target, default=0, help="output to explain (default 0)" + every)
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
    _add_data_args(run, every_output=True)
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
                   help="seqlets clustered per sign (more: a seeded random sample; default 20,000, modisco-lite's; "
                        "2,000 halved a run on 5,000 sequences but found 3 motifs of its 5: README, How right, how fast)")
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
    _add_data_args(att, every_output=False)
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
    # Our own messages at INFO; other libraries (fontTools, numba, dask) only when they warn.
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="interpret: %(message)s")
    logging.getLogger("interpret").setLevel(logging.DEBUG if args.debug else
                                            (logging.WARNING if args.quiet else logging.INFO))
    from .errors import InputError

    own = command_line and threading.current_thread() is threading.main_thread()
    partial = _partial(args)
    kept_before = partial is not None and partial.exists()
    try:
        return _dispatch(args, argv, own)
    except InputError as exc:
        if args.debug:
            raise
        print(f"interpret: error: {exc}{'' if '--resume' in str(exc) else _kept(partial, kept_before)}",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if own:
            _interrupted()
        hint = (f"; the finished part is kept in {partial}: rerun the same command with --resume to continue"
                if partial is not None and partial.exists() else "; no output was left behind")
        print(f"interpret: interrupted{hint}", file=sys.stderr)
        return 130
    except MemoryError:
        if args.debug:
            raise
        print("interpret: error: out of memory; lower --batch-size or --max-seqs", file=sys.stderr)
        return 1
    except (SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # one line, never a traceback, unless --debug (leidenalg raises bare BaseException)
        if args.debug:
            raise
        lines = [l.strip() for l in str(exc).strip().splitlines() if l.strip()]
        # TF wraps errors as "in user code:\n ... <the real message>": show the real one.
        msg = (lines[-1] if lines[0].endswith(":") else lines[0])[:300] if lines else ""
        print(f"interpret: error: {type(exc).__name__}: {msg} (rerun with --debug for the traceback)"
              f"{_kept(partial, kept_before)}", file=sys.stderr)
        return 1


def _dispatch(args, argv, own: bool = False) -> int:
    # Ctrl-C, and a batch system's SIGTERM (preemption, time limit), end the run: Dask is shut down
    # and the resumable part kept. Only the main thread may set handlers. The command line's own
    # process keeps its one-shot handlers to the end; called from Python, the old ones come back.
    old = {}
    if own:
        for s in (signal.SIGINT, signal.SIGTERM):
            signal.signal(s, _interrupt)
    elif threading.current_thread() is threading.main_thread():
        old = {signal.SIGTERM: signal.signal(signal.SIGTERM, _raise_interrupt)}
    try:
        if args.command == "report":
            return _report(args)
        if args.command == "compare":   # compare and report read files only: no TensorFlow
            return _compare(args, argv)
        # Every option and the output are checked before TensorFlow loads, in seconds.
        if _nothing_to_do(args, argv):
            return 0
        _start_compiles(args)
        _quiet_tensorflow(args.debug)
        return _run(args, argv) if args.command == "run" else _attribute(args, argv)
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def _interrupt(signum, frame):
    """SIGINT or SIGTERM to the command line's process: one interruption. Further ones are ignored
    while the run winds down (the resumable part kept, Dask workers closed), so the process ends
    with its one line and 130, never by a second signal half-way through its cleanup."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)
    raise KeyboardInterrupt


def _interrupted() -> None:
    """The command line's process is about to exit 130 after an interruption."""
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, signal.SIG_IGN)
    # CPython 3.11 records a KeyboardInterrupt that left code run by exec() or eval() of a string
    # (dataclasses, namedtuples, scipy and numba build functions that way) as "unhandled", even
    # when it was caught, and `python -m` then ends the process by SIGINT (-2) instead of our 130.
    # That happened whenever Ctrl-C landed while such code ran (2 of 10 times under load); each
    # exec of a string resets the record, and with the signals ignored nothing sets it again.
    exec("")  # noqa: S102


def _partial(args):
    """Where an unfinished run of this command's ``--out`` is kept, or None (``report``)."""
    out = getattr(args, "out", None)
    if not out or args.command not in ("run", "attribute"):
        return None
    from . import io

    return io.partial_path(out)


def _kept(partial, kept_before: bool) -> str:
    """After an error: where this run left the stages it finished (none left, or one kept from an
    earlier run: ""). Resuming repeats the error until its cause is fixed, and says so."""
    if partial is None or kept_before or not partial.exists():
        return ""
    return (f"; the work finished before the error is kept in {partial}: once the cause is fixed, --resume "
            "reuses it (--force starts over)")


def _start_compiles(args) -> None:
    # First run after install: numba compiles in a background process while TensorFlow imports
    # and the model loads (see interpret.jit); a no-op once numba's cache has the kernels.
    if args.command == "run" or (args.command == "attribute" and not (args.scheduler or args.workers)):
        from . import jit

        jit.start(jit.GROUPS if args.command == "run" else ("attribution",))


def _quiet_tensorflow(debug: bool) -> None:
    # Only the CLI decides what the user sees: TF's C++ banner and absl's HDF5 notice are noise.
    if not debug:
        from .model import quiet_tensorflow

        quiet_tensorflow()


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


def _run_options(args, argv) -> dict:
    """Keyword options of :func:`interpret.pipeline.run_targets` from the command line."""
    modisco = {k: getattr(args, k) for k in ("sliding_window_size", "flank_size", "target_seqlet_fdr",
                                             "max_seqlets_per_metacluster", "n_leiden_runs",
                                             "final_min_cluster_size", "max_sequences") if getattr(args, k) is not None}
    return dict(output=args.output, methods=args.methods, motifs_from=args.motifs_from,
                explain=args.explain, max_seqs=args.max_seqs, seed=args.seed, n_references=args.n_references,
                batch_size=args.batch_size, threshold=args.threshold, top_k=args.top_k,
                motif_db=args.motif_db, q_threshold=args.q_threshold, modisco=modisco,
                minor_seqlets=args.minor_seqlets, hits_on=args.hits_on,
                attributions=args.attributions, screen=args.screen, screen_backgrounds=args.screen_backgrounds,
                screen_positions=args.screen_positions, screen_sequential=args.screen_sequential, truth=args.truth,
                force=args.force, resume=args.resume,
                verbose=not args.quiet, command="interpret " + shlex.join(argv))


def _nothing_to_do(args, argv) -> bool:
    """Check every option and ``--out`` before the model loads; True when ``--resume`` finds the
    output finished already (said in one line)."""
    from . import io, pipeline
    from .attribution import distributed
    from .errors import InputError

    kind = "directory" if args.command == "run" else "file"
    if args.command == "run":
        pipeline.RunOptions(**_run_options(args, argv), **({} if args.target == "all" else {"target": args.target}))
        if args.target == "all":
            pipeline.check_max_output_runs(args.max_output_runs)
    else:
        if args.target == "all":
            raise InputError("interpret attribute explains one output: --target N (0 for the first); "
                             "--target all is for interpret run")
        pipeline.RunOptions(target=args.target, output=args.output,
                            methods=args.methods, explain=args.explain, max_seqs=args.max_seqs, seed=args.seed,
                            n_references=args.n_references, batch_size=args.batch_size, chunk_size=args.shard_size)
        distributed.check_cluster(args.scheduler, args.workers)
    if args.resume and not args.force and io.finished(args.out, kind):
        if not args.quiet:
            print(f"interpret: {args.out} is already complete, nothing to do (--force runs it again)", file=sys.stderr)
        return True
    io.check_replaceable(args.out, args.force, _inputs(args), kind=kind)
    return False


def _run(args, argv) -> int:
    from . import pipeline

    model, seqs = _load(args)
    more = {"max_output_runs": args.max_output_runs} if args.target == "all" else {}
    res = pipeline.run_targets(model, seqs, args.out, args.target, **_run_options(args, argv), **more)
    if not args.quiet:
        reports = [res.out / "report.html"] if (res.out / "report.html").exists() else sorted(res.out.glob("*/report.html"))
        for path in reports:
            print(f"Report: {path.resolve()}")
    return 0


def _attribute(args, argv) -> int:
    from . import jit, pipeline
    from .attribution import distributed

    model, seqs = _load(args)
    index = pipeline.select_sequences(seqs, model.check_target(args.target), args.explain, args.max_seqs, args.seed)
    if args.scheduler or args.workers:
        _quiet_dask(args.debug)
    methods, _, _ = pipeline.choose_methods(model, args.methods, None, args.output)
    jit.wait("attribution")
    out = distributed.attribute_to_file(
        args.model, model, seqs.source, index, args.out, methods=methods, target=args.target, output=args.output,
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
