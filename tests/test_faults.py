"""Issue 29's second battery: nothing lost, nothing wrong in silence, no advice that cannot work.

Each bad input or fault ends with its exit code and one line, and every input file is unchanged
afterwards. Most cases are refused before TensorFlow does any work (before the model loads for
options and ``--out``), so these tests are cheap: an untrained 4-filter model and 30 sequences."""

import contextlib
import hashlib
import logging
import os
import signal
import subprocess
import sys
import time
from io import StringIO

import numpy as np
import pytest

from interpret import io, pipeline
from interpret.cli import main
from interpret.errors import InputError


def _cli(args):
    err = StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()


def _one_line(code, err, message, exit_code=2):
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == exit_code and len(lines) == 1 and "Traceback" not in err, (code, err)
    assert message in lines[0], lines[0]
    return lines[0]


def _digest(d):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def files(tmp_path_factory, example_sim):
    """A user's inputs: an untrained 4-filter model, 30 labelled sequences, and bad variants of them."""
    from interpret import simulate

    d = tmp_path_factory.mktemp("inputs")
    simulate.seed_model(filters=4, width=7, layout="1L4", seed=0).save(d / "model.h5")
    x, y = example_sim.x[:30], example_sim.y[:30]
    np.savez(d / "data.npz", x=x, y=y)
    np.savez(d / "labels12.npz", x=x, y=y + 1)  # 1/2 coding: every row would have counted as positive
    np.savez(d / "alln.npz", x=np.zeros_like(x), y=np.ones(30))
    return d


@pytest.fixture()
def inputs(files):
    """The inputs, checked to be byte for byte the same after the test."""
    before = _digest(files)
    yield files
    assert _digest(files) == before


def _run(inputs, tmp_path, *extra, data="data.npz"):
    return _cli(["run", str(inputs / "model.h5"), str(inputs / data), "--out", str(tmp_path / "o"), "-q", *extra])


def _nothing_written(tmp_path):
    assert not (tmp_path / "o").exists() and not io.partial_path(tmp_path / "o").exists()


@pytest.mark.parametrize("extra, message", [
    (["--threshold", "2"], "--threshold must be a number in (0, 1], not 2.0"),
    (["--top-k", "0"], "--top-k must be an integer of at least 1, not 0"),
    (["--n-references", "0"], "--n-references must be an integer of at least 1, not 0"),
    (["--batch-size", "0"], "--batch-size must be an integer of at least 1, not 0"),
    (["--q", "2"], "--q must be a number in (0, 1], not 2.0"),
    (["--max-seqs", "0"], "--max-seqs must be an integer of at least 1"),
    (["--seed", "-1"], "--seed must be an integer of at least 0"),
    (["--screen-backgrounds", "1"], "--screen-backgrounds must be an integer of at least 2"),
    (["--screen-positions", "0"], "--screen-positions must be an integer of at least 1"),
    (["--minor-seqlets", "-1"], "--minor-seqlets must be an integer of at least 0"),
    (["--modisco-window", "0"], "--modisco-window must be an integer of at least 1"),
    (["--modisco-flank", "0"], "--modisco-flank must be an integer of at least 1"),
    (["--modisco-fdr", "1.5"], "--modisco-fdr must be a number between 0 and 1"),
    (["--modisco-max-seqlets", "0"], "--modisco-max-seqlets must be an integer of at least 1"),
    (["--modisco-max-seqs", "0"], "--modisco-max-seqs must be an integer of at least 1"),
    (["--modisco-leiden-runs", "0"], "--modisco-leiden-runs must be an integer of at least 1"),
    (["--modisco-min-cluster", "0"], "--modisco-min-cluster must be an integer of at least 1"),
])
def test_an_option_out_of_range_is_refused_before_the_model_loads(inputs, tmp_path, extra, message):
    import keras

    loads = []
    real = keras.models.load_model
    keras.models.load_model = lambda *a, **k: loads.append(a) or real(*a, **k)
    try:
        _one_line(*_run(inputs, tmp_path, *extra), message)
    finally:
        keras.models.load_model = real
    assert not loads  # refused before the model loads, let alone any stage
    _nothing_written(tmp_path)


@pytest.mark.parametrize("extra, message", [
    (["--shard-size", "0"], "--shard-size must be an integer of at least 1"),
    (["--workers", "0"], "--workers must be an integer of at least 1"),
    (["--batch-size", "0"], "--batch-size must be an integer of at least 1"),
    (["--n-references", "0"], "--n-references must be an integer of at least 1"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler and --workers both given"),
    # it used to explain output 0 in silence
    (["--target", "all"], "interpret attribute explains one output: --target N"),
])
def test_attribute_options_are_refused_before_the_model_loads(inputs, tmp_path, extra, message):
    out = tmp_path / "a.h5"
    _one_line(*_cli(["attribute", str(inputs / "model.h5"), str(inputs / "data.npz"), "--out", str(out), "-q",
                     *extra]), message)
    assert not out.exists() and not io.partial_path(out).exists()


def test_the_python_api_checks_the_same_options_before_any_work(inputs, tmp_path):
    import interpret

    model, seqs = interpret.load_model(inputs / "model.h5"), interpret.load_sequences(inputs / "data.npz")
    for kw, message in (({"batch_size": 0}, "--batch-size"), ({"threshold": 2}, "--threshold"),
                        ({"n_references": 2.5}, "--n-references"), ({"modisco": {"n_leiden_runs": 0}},
                                                                    "--modisco-leiden-runs"),
                        ({"modisco": {"sliding_window_size": 95}}, "does not fit in 101-bp sequences")):
        with pytest.raises(InputError, match=message):
            interpret.run(model, seqs, tmp_path / "o", **kw)
        _nothing_written(tmp_path)
    with pytest.raises(InputError, match="does not fit"):  # every target is checked before the directory exists
        pipeline.run_targets(model, seqs, tmp_path / "o", target="all", modisco={"sliding_window_size": 95})
    _nothing_written(tmp_path)


def test_more_insertion_points_than_fit_are_refused_naming_how_many_fit(inputs, tmp_path):
    """Evenly spaced starts strictly inside 101 bp for the widest bundled motif: 101 - W - 1 of them.
    More used to repeat positions in silence."""
    from interpret.evidence.edits import insertion_starts

    widest = max(len(m.ppm) for m in io.load_motif_db())
    room = 101 - widest - 1
    assert len(np.unique(insertion_starts(101, widest, room))) == room     # all of them distinct
    assert len(np.unique(insertion_starts(101, widest, room + 1))) == room  # one more repeats one
    _one_line(*_run(inputs, tmp_path, "--screen-positions", str(room + 1)),
              f"only {room} distinct insertion points fit the widest --motif-db motif ({widest} bp)")
    _nothing_written(tmp_path)


def test_labels_other_than_0_1_are_refused_naming_the_values(inputs, tmp_path):
    line = _one_line(*_run(inputs, tmp_path, data="labels12.npz"), "labels hold 1 (")
    y = np.load(inputs / "labels12.npz")["y"]
    assert f"1 ({int((y == 1).sum())} rows) and 2 ({int((y == 2).sum())} rows), not 0/1" in line
    _nothing_written(tmp_path)
    seqs = io.Sequences(x=np.load(inputs / "data.npz")["x"], y=np.linspace(0, 1, 30), path="soft.npz")
    with pytest.raises(InputError, match=r"soft.npz: labels hold 30 distinct values from 0 to 1, not 0/1"):
        io.labels_for_model(seqs, io.load_model(inputs / "model.h5"))


def test_all_n_input_is_one_line_and_n_rows_are_left_out_with_a_warning(inputs, tmp_path, caplog):
    _one_line(*_run(inputs, tmp_path, data="alln.npz"), "every sequence is N at every position")
    _nothing_written(tmp_path)
    x = np.load(inputs / "data.npz")["x"].copy()
    x[3], x[7] = 0, 0.25  # the two encodings of N
    for path, seqs in (("a.npz", io.Sequences(x=x, path="a.npz")), ("a.npy", None), ("a.fa", None)):
        if path == "a.npy":
            np.save(tmp_path / path, x)
            seqs = io.load_sequences(tmp_path / path)
        elif path == "a.fa":
            (tmp_path / path).write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(io.decode(x))))
            seqs = io.load_sequences(tmp_path / path)
        assert np.flatnonzero(seqs.blank).tolist() == [3, 7], path
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="interpret"):
            idx = pipeline.select_sequences(seqs, 0, "all")
        assert 3 not in idx and 7 not in idx and len(idx) == 28
        assert "2 of the 30 sequences to explain are N at every position (rows 3, 7)" in caplog.text
        with pytest.raises(InputError, match="all 2 sequences to explain are N"):
            pipeline.select_sequences(seqs.with_labels(np.eye(30)[[3, 7]].sum(axis=0)), 0, "auto")


MEME = """MEME version 4

ALPHABET= ACGT

MOTIF good1 GOOD
letter-probability matrix: alength= 4 w= 2 nsites= 20 E= 0
0.25 0.25 0.25 0.25
0.1 0.2 0.3 0.4

MOTIF bad1 BAD
letter-probability matrix: alength= 4 w= 3 nsites= 20 E= 0
0.25 0.25 0.25 0.25
{row}
1 0 0 0
"""


@pytest.mark.parametrize("row, message", [
    ("0.1 0.2 0.7", "line 13: motif bad1 row 2 has 3 numbers, not 4 (A C G T)"),
    ("0.1 0.2 0.7 0.5", "line 13: motif bad1 row 2 holds 0.1 0.2 0.7 0.5, not 4 probabilities summing to 1"),
    ("0.1 0.2 x 0.7", "line 13: motif bad1 row 2 holds '0.1 0.2 x 0.7', not 4 numbers"),
    ("0.5 0.5 0 0\n0 0 0 1", "line 11: motif bad1 has more than 3 matrix rows but w= 3"),
])
def test_a_malformed_motif_db_row_is_refused_naming_motif_and_line(inputs, tmp_path, row, message):
    db = tmp_path / "db.meme"
    db.write_text(MEME.format(row=row))
    _one_line(*_run(inputs, tmp_path, "--motif-db", str(db)), message)
    _nothing_written(tmp_path)
    db.write_text(MEME.format(row="0.1 0.2 0.3 0.4"))
    assert [len(m.ppm) for m in io.read_meme(db)] == [2, 3]


def _write_genome(path, chroms, width=60):
    path.write_text("".join(f">{c} assembled\n" + "".join(s[i:i + width] + "\n" for i in range(0, len(s), width))
                            for c, s in chroms.items()))


@pytest.fixture()
def genome(tmp_path):
    rng = np.random.default_rng(0)
    chroms = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in (("chr1", 300), ("chr2", 250), ("chr3", 121))}
    _write_genome(tmp_path / "g.fa", chroms)
    io.load_peaks(_bed(tmp_path), tmp_path / "g.fa", 21)  # builds g.fa.fai
    return tmp_path / "g.fa", chroms


def _bed(tmp_path):
    (tmp_path / "p.bed").write_text("chr1\t100\t120\nchr2\t200\t220\nchr3\t50\t70\n")
    return tmp_path / "p.bed"


@pytest.mark.parametrize("change, reason", [
    (lambda c: {**c, "chr1": c["chr1"] + "ACGTACGT"}, "no >chr2 header before offset"),  # an older version
    (lambda c: {**c, "chr3": c["chr3"][:100]}, "chr3 is not 121 bp long"),
    (lambda c: {**c, "chr4": "ACGT" * 40}, "sequence after the last indexed record"),
    (lambda c: {("chrX" if k == "chr2" else k): v for k, v in c.items()}, "no >chr2 header"),  # another genome
])
def test_a_stale_fai_with_a_newer_timestamp_is_rebuilt_and_the_windows_read_right(genome, tmp_path, caplog,
                                                                                 change, reason):
    fa, chroms = genome
    fai = fa.with_name("g.fa.fai")
    old_index = fai.read_text()
    new = change(chroms)
    _write_genome(fa, new)
    fai.write_text(old_index)
    os.utime(fai, (time.time() + 60, time.time() + 60))  # the index looks newer than the genome
    assert reason in io.peaks.fai_mismatch(fa, fai)
    bed = tmp_path / "q.bed"
    chrom = "chr3" if "chr3" in new else "chr1"
    bed.write_text(f"chr1\t100\t120\n{chrom}\t50\t70\n")
    with caplog.at_level(logging.WARNING, logger="interpret"):
        seqs = io.load_peaks(bed, fa, 21)
    assert "does not match" in caplog.text and reason in caplog.text
    assert io.decode(seqs.x) == [new["chr1"][100:121], new[chrom][50:71]]  # the genome's bases, not the index's
    assert io.peaks.fai_mismatch(fa, fai) is None


def _attributions_file(path, x):
    """A finished attributions.h5 of ``x`` with gradient x input (numbers made up: only its layout counts)."""
    store = io.AttributionStore.open(path, np.arange(len(x)), x.shape[1], ["gradxinput"],
                                     {"explained": "test", "target": 0, "params": "{}"}, len(x))
    store.commit(0, x, {"gradxinput": {"contrib": x, "hypothetical": x, "score": np.zeros(len(x)), "delta": None}})
    store.close()


def test_a_foreign_or_truncated_attributions_file_is_refused_before_any_work(inputs, tmp_path):
    import h5py

    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["a"] = np.arange(3)
    _attributions_file(tmp_path / "att.h5", np.load(inputs / "data.npz")["x"])
    raw = (tmp_path / "att.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(raw[:len(raw) // 2])
    for name, message in (("foreign.h5", "is not an interpret attributions.h5"), ("cut.h5", "is truncated ("),
                          ("att.h5", "has no deepshap attributions")):
        _one_line(*_run(inputs, tmp_path, "--explain", "all", "--attributions", str(tmp_path / name)), message)
        _nothing_written(tmp_path)


def test_a_lambda_layer_says_what_to_do_and_that_advice_works(inputs, tmp_path):
    import keras

    import interpret

    inp = keras.Input((101, 4))
    h = keras.layers.Lambda(lambda t: 2.0 * t)(keras.layers.Conv1D(4, 5, activation="relu")(inp))
    keras.Model(inp, keras.layers.Dense(1)(keras.layers.GlobalMaxPooling1D()(h))).save(tmp_path / "lam.keras")
    line = _one_line(*_cli(["run", str(tmp_path / "lam.keras"), str(inputs / "data.npz"), "--out",
                            str(tmp_path / "o")]), "has a Lambda layer")
    assert "safe_mode=False" in line and "--custom-objects" in line and line.endswith("interpret.run.")
    _nothing_written(tmp_path)
    model = interpret.load_model(keras.models.load_model(tmp_path / "lam.keras", safe_mode=False, compile=False))
    assert pipeline.choose_methods(model)[0] == ("gradxinput", "ig")  # runs, with integrated gradients


def test_a_second_writer_on_one_out_is_named_as_such(inputs, tmp_path):
    out = tmp_path / "o"
    with io.OutputDir(out) as first:  # holds the lock, as a running `interpret run` does
        (first / "x.txt").write_text("being written")
        for extra in ([], ["--resume"], ["--force"]):
            _one_line(*_run(inputs, tmp_path, *extra), f"another interpret process is writing {out}")
        assert (first / "x.txt").exists()
        first.finish({})
    assert (out / "x.txt").exists()


def test_resume_on_a_finished_output_has_nothing_to_do(inputs, tmp_path):
    import interpret

    out = tmp_path / "o"
    with io.OutputDir(out) as od:
        od.finish({"explained": "a finished run"})
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    code, err = _run(inputs, tmp_path, "--resume")
    assert code == 0 and err == ""  # -q
    code, err = _cli(["run", str(inputs / "model.h5"), str(inputs / "data.npz"), "--out", str(out), "--resume"])
    _one_line(code, err, f"{out} is already complete, nothing to do", exit_code=0)
    res = interpret.run(io.load_model(inputs / "model.h5"), io.load_sequences(inputs / "data.npz"), out, resume=True)
    assert res.summary == {"explained": "a finished run"}
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    h5 = tmp_path / "a.h5"
    _attributions_file(h5, np.load(inputs / "data.npz")["x"])
    before = h5.read_bytes()
    code, err = _cli(["attribute", str(inputs / "model.h5"), str(inputs / "data.npz"), "--out", str(h5), "--resume"])
    _one_line(code, err, "already complete, nothing to do", exit_code=0)
    assert h5.read_bytes() == before


def test_an_error_mid_run_keeps_finished_work_and_advises_resume_only_once_fixed(inputs, tmp_path, monkeypatch):
    args = ["--explain", "all", "--n-references", "2", "--no-screen", "--screen-backgrounds", "2"]

    def fails(*a, **k):
        raise ValueError("boom")

    monkeypatch.setattr(pipeline, "_filters_stage", fails)  # the first stage: nothing finished, nothing kept
    line = _one_line(*_run(inputs, tmp_path, *args), "ValueError: boom (rerun with --debug", exit_code=1)
    assert "--resume" not in line
    _nothing_written(tmp_path)
    monkeypatch.undo()
    monkeypatch.setattr(pipeline, "_attribution_stage", fails)  # after the kernel logos finished
    line = _one_line(*_run(inputs, tmp_path, *args), "ValueError: boom", exit_code=1)
    partial = io.partial_path(tmp_path / "o")
    assert f"kept in {partial}: once the cause is fixed, --resume reuses it" in line
    assert "rerun the same command" not in line
    code, err = _run(inputs, tmp_path, *args)  # the kept work blocks a plain rerun with a clear line
    _one_line(code, err, "an unfinished run of")
    monkeypatch.undo()  # the cause fixed: --resume reuses what finished and completes the run
    assert _run(inputs, tmp_path, *args, "--resume")[0] == 0
    assert io.read_json(tmp_path / "o" / "summary.json")["resumed"] == ["filters"]


MODULE = """import sys
from interpret import cli

def dispatch(args, argv, own=False):
    exec("raise KeyboardInterrupt")  # Ctrl-C landing in code run from a string (dataclasses, scipy, numba)

cli._dispatch = dispatch
sys.argv = ["interpret", "run", "model.h5", "data.npz", "--out", "o"]
sys.exit(cli.main())
"""


def test_ctrl_c_inside_exec_code_still_exits_130_under_python_m(tmp_path):
    """The flake of issue 29 (-2 instead of 130, 2 of 10 under load), made deterministic: CPython 3.11
    notes a KeyboardInterrupt that leaves exec()'d code as unhandled even when it is caught, and
    ``python -m`` then ends the process by SIGINT after our exit code."""
    (tmp_path / "ctrlc_case.py").write_text(MODULE)
    p = subprocess.run([sys.executable, "-m", "ctrlc_case"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert p.returncode == 130, (p.returncode, p.stderr)
    assert p.stderr.strip() == "interpret: interrupted; no output was left behind"


def test_ctrl_c_to_the_group_of_a_dask_run_is_one_line_and_workers_print_nothing(inputs, tmp_path):
    """`interpret attribute --workers N -q`: no TensorFlow banner from the workers (TF_ENABLE_ONEDNN_OPTS=1
    makes TF print one at import), and a terminal's Ctrl-C to the whole process group gives the
    client's one line, 130, and no worker left running. One worker keeps it cheap; every worker
    gets the same set-up (distributed.dask_setup)."""
    x = np.load(inputs / "data.npz")["x"]
    np.save(tmp_path / "many.npy", np.concatenate([x] * 20))  # 600 rows, 150 shards: still running when stopped
    out = tmp_path / "a.h5"
    p = subprocess.Popen([sys.executable, "-m", "interpret.cli", "attribute", str(inputs / "model.h5"),
                          str(tmp_path / "many.npy"), "--out", str(out), "--workers", "1", "-q", "--shard-size", "4"],
                         stderr=subprocess.PIPE, text=True, start_new_session=True,
                         env={**os.environ, "TF_ENABLE_ONEDNN_OPTS": "1"})
    partial = io.partial_path(out)
    deadline = time.time() + 300
    while p.poll() is None and time.time() < deadline:
        with contextlib.suppress(OSError, KeyError):
            if partial.exists() and io.read_progress(partial)[0] >= 1:
                break
        time.sleep(0.05)
    assert p.poll() is None, "the run ended before it could be interrupted"
    os.killpg(p.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
    _, err = p.communicate(timeout=300)
    _one_line(p.returncode, err, f"interrupted; the finished part is kept in {partial}", exit_code=130)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            os.killpg(p.pid, 0)  # any process left in the run's group: a worker still running
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("a Dask worker is still running 30 s after the client ended")
    assert io.read_progress(partial)[0] >= 1 and not out.exists()


def test_a_bare_base_exception_from_a_library_is_one_line(inputs, tmp_path, monkeypatch):
    """leidenalg (under TF-MoDISco) raises a bare BaseException ("Cannot accept NaN weights.") on
    degenerate seqlets; the command line answers it in one line like any other error, and a
    SystemExit still passes through."""
    def leiden_like(*args, **kwargs):
        raise BaseException("Cannot accept NaN weights.")

    monkeypatch.setattr(pipeline, "run_targets", leiden_like)
    _one_line(*_run(inputs, tmp_path), "BaseException: Cannot accept NaN weights.", exit_code=1)
    monkeypatch.setattr(pipeline, "run_targets", lambda *a, **k: sys.exit(3))
    with pytest.raises(SystemExit):
        _run(inputs, tmp_path)
