"""Issue 6: every bad input answered in one line, outputs never half-written, runs reproducible."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from interpret import io


def _cli(args):
    """Run the CLI in this process (a fresh process costs a TensorFlow import): exit code and stderr.
    test_debug_shows_the_traceback and test_cli's first bad input run it as a user does."""
    from io import StringIO

    from interpret.cli import main

    err = StringIO()
    with contextlib.redirect_stderr(err):
        code = main(args)
    return code, err.getvalue()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, example_sim):
    """A small untrained seed-style model (1,101,4) and 40 sequences, saved."""
    from interpret import simulate

    d = tmp_path_factory.mktemp("robust")
    simulate.seed_model(filters=4, width=7, layout="1L4", seed=0).save(d / "model.h5")
    np.savez(d / "data.npz", x=example_sim.x[:40], y=example_sim.y[:40])
    return d


def _assert_one_line(code, err, message):
    lines = [l for l in err.splitlines() if l.strip()]
    assert code != 0
    assert len(lines) == 1 and "Traceback" not in err, err
    assert message in lines[0], lines[0]


def test_model_with_two_inputs_is_refused(tiny, tmp_path):
    import keras

    a, b = keras.Input((101, 4)), keras.Input((101, 4))
    out = keras.layers.Dense(1)(keras.layers.Flatten()(keras.layers.Add()([a, b])))
    keras.Model([a, b], out).save(tmp_path / "two.keras")
    _assert_one_line(*_cli(["run", str(tmp_path / "two.keras"), str(tiny / "data.npz"), "--out",
                            str(tmp_path / "o")]), "2 inputs")


def test_explicit_deepshap_on_an_unsupported_layer_names_it_and_suggests_ig(tiny, tmp_path):
    """Without --methods the run falls back to integrated gradients (test_loading); asked for, DeepSHAP refuses."""
    import keras

    inp = keras.Input((101, 4))
    h = keras.layers.Conv1D(4, 5, activation="relu")(inp)
    h = keras.layers.GlobalMaxPooling1D()(keras.layers.LayerNormalization()(h))
    keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(h)).save(tmp_path / "norm.keras")
    code, err = _cli(["run", str(tmp_path / "norm.keras"), str(tiny / "data.npz"), "--out", str(tmp_path / "o"),
                      "--methods", "gradxinput,deepshap"])
    _assert_one_line(code, err, "LayerNormalization")
    assert "integrated gradients" in err or "ig" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("make, message", [
    (lambda x: x[:0], "no sequences"),
    (lambda x: np.array([["ACGT"] * 101] * 3), "strings"),
    (lambda x: x.astype(np.complex64), "dtype"),
])
def test_empty_string_and_complex_arrays(tiny, tmp_path, make, message):
    x = np.load(tiny / "data.npz")["x"]
    np.save(tmp_path / "bad.npy", make(x))
    _assert_one_line(*_cli(["run", str(tiny / "model.h5"), str(tmp_path / "bad.npy"), "--out",
                            str(tmp_path / "o")]), message)


def test_corrupt_h5_and_missing_model(tiny, tmp_path):
    raw = (tiny / "model.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(raw[: len(raw) // 3])
    _assert_one_line(*_cli(["run", str(tmp_path / "cut.h5"), str(tiny / "data.npz"), "--out",
                            str(tmp_path / "o")]), "not a Keras model")
    _assert_one_line(*_cli(["run", str(tmp_path / "nope.h5"), str(tiny / "data.npz"), "--out",
                            str(tmp_path / "o")]), "does not exist")


def test_unwritable_output(tiny, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.access(ro, os.W_OK):  # root ignores permissions: use a path under a file instead
            target = tmp_path / "afile" / "out"
            (tmp_path / "afile").write_text("x")
        else:
            target = ro / "out"
        _assert_one_line(*_cli(["run", str(tiny / "model.h5"), str(tiny / "data.npz"), "--out", str(target)]),
                         "choose a writable --out")
    finally:
        ro.chmod(0o700)


def test_debug_shows_the_traceback(tiny, tmp_path):
    p = subprocess.run([sys.executable, "-m", "interpret.cli", "run", str(tiny / "model.h5"),
                        str(tmp_path / "missing.npz"), "--debug"], capture_output=True, text=True)
    assert p.returncode != 0 and "Traceback" in p.stderr and "InputError" in p.stderr


RUN_ARGS = ["--explain", "all", "--methods", "gradxinput,deepshap", "--motifs-from", "deepshap", "--n-references", "4",
            "--quiet"]


@pytest.fixture(scope="module")
def tiny_run(tiny):
    """One uninterrupted run: what a second run, and a resumed one, must reproduce."""
    from interpret.cli import main

    assert main(["run", str(tiny / "model.h5"), str(tiny / "data.npz"), *RUN_ARGS, "--out", str(tiny / "ref")]) == 0
    return tiny / "ref"


def _same_outputs(a, b):
    assert (a / "attributions.h5").read_bytes() == (b / "attributions.h5").read_bytes()
    for name in ("filters.tsv", "filters.meme", "motifs.tsv", "motifs.meme", "seqlets.tsv", "comparison.tsv",
                 "screen.tsv"):
        assert (a / name).read_text() == (b / name).read_text(), name


def _stage_done(journal, stage):
    try:
        return json.loads(journal.read_text())["stages"][stage]["done"]
    except (OSError, ValueError, KeyError):
        return False


def _interrupt_when(tiny, tmp_path, ready, sig):
    """Start `interpret run`, send ``sig`` once ``ready(journal)``; returns (exit code, stderr)."""
    # SIGINT as a terminal sends it, also when this process runs with it ignored (a background job)
    p = subprocess.Popen([sys.executable, "-m", "interpret.cli", "run", str(tiny / "model.h5"), str(tiny / "data.npz"),
                          *RUN_ARGS, "--out", str(tmp_path / "out")], stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    journal = tmp_path / ".out.partial" / ".stages" / "journal.json"
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None and not ready(journal):
        time.sleep(0.01)
    assert p.poll() is None, "the run ended before it could be interrupted"
    if sig == signal.SIGKILL:
        p.send_signal(signal.SIGSTOP)  # freeze it at this point, then kill
    p.send_signal(sig)
    _, err = p.communicate(timeout=300)
    return p.returncode, err


def test_ctrl_c_keeps_a_hidden_resumable_run_that_resume_finishes(tiny, tmp_path, tiny_run):
    from interpret.cli import main

    code, err = _interrupt_when(tiny, tmp_path, lambda j: j.exists(), signal.SIGINT)
    assert code == 130, err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and "interrupted" in lines[0] and "--resume" in lines[0], err
    assert [c.name for c in tmp_path.iterdir()] == [".out.partial"]  # nothing that looks finished
    assert main(["run", str(tiny / "model.h5"), str(tiny / "data.npz"), *RUN_ARGS, "--out", str(tmp_path / "out"),
                 "--resume"]) == 0
    assert [c.name for c in tmp_path.iterdir()] == ["out"] and not (tmp_path / "out" / ".stages").exists()
    _same_outputs(tmp_path / "out", tiny_run)


def test_run_killed_in_tf_modisco_resumes_from_its_last_finished_stage(tiny, tmp_path, tiny_run):
    from interpret.cli import main

    code, _ = _interrupt_when(tiny, tmp_path, lambda j: _stage_done(j, "attributions"), signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert main(["run", str(tiny / "model.h5"), str(tiny / "data.npz"), *RUN_ARGS, "--out", str(tmp_path / "out"),
                 "--resume"]) == 0
    s = io.read_json(tmp_path / "out" / "summary.json")
    assert s["resumed"] == ["filters", "attributions"] and s["parameters"]["resume"] is True
    assert set(s["timings"]) == {"filters", "attributions", "screen", "motifs", "compare", "usage", "effects", "families",
                                 "quality", "names", "instances", "grammar", "report"}
    _same_outputs(tmp_path / "out", tiny_run)
    ref = io.read_json(tiny_run / "summary.json")["attribution"]
    for m in ("gradxinput", "deepshap"):  # completeness read back from the file, as in one run
        assert {k: v for k, v in s["attribution"][m].items() if k != "seconds"} == \
            {k: v for k, v in ref[m].items() if k != "seconds"}


def test_same_seed_gives_identical_outputs(tiny, tmp_path, tiny_run):
    from interpret.cli import main

    assert main(["run", str(tiny / "model.h5"), str(tiny / "data.npz"), *RUN_ARGS, "--out", str(tmp_path / "b")]) == 0
    _same_outputs(tmp_path / "b", tiny_run)
    sa, sb = io.read_json(tiny_run / "summary.json"), io.read_json(tmp_path / "b" / "summary.json")
    assert sa["parameters"] == sb["parameters"] and sa["parameters"]["seed"] == 0
    assert set(sa["versions"]) >= {"python", "keras", "numpy", "modisco-lite"}
