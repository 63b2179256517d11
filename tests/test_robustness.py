"""Issue 6: every bad input answered in one line, outputs never half-written, runs reproducible."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from interpret import io


def _cli(args, **kw):
    p = subprocess.run([sys.executable, "-m", "interpret.cli", *args], capture_output=True, text=True, **kw)
    return p.returncode, p.stderr


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
    code, err = _cli(["run", str(tiny / "model.h5"), str(tmp_path / "missing.npz"), "--debug"])
    assert code != 0 and "Traceback" in err and "InputError" in err


def test_ctrl_c_leaves_no_output_directory(tiny, tmp_path):
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "interpret.cli", "run", str(tiny / "model.h5"),
                          str(tiny / "data.npz"), "--out", str(out), "--explain", "all", "--quiet"],
                         stderr=subprocess.PIPE, text=True)
    # Wait until the staging directory exists, i.e. the run is under way, then interrupt.
    deadline = time.time() + 120
    while time.time() < deadline and not any(c.name.startswith(".out.partial") for c in tmp_path.iterdir()):
        time.sleep(0.2)
    assert any(c.name.startswith(".out.partial") for c in tmp_path.iterdir()), "run never started"
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 130, err
    assert "interrupted" in err
    assert list(tmp_path.iterdir()) == [], list(tmp_path.iterdir())


def test_same_seed_gives_identical_outputs(tiny, tmp_path):
    from interpret.cli import main

    args = [str(tiny / "model.h5"), str(tiny / "data.npz"), "--explain", "all", "--methods", "gradxinput,deepshap",
            "--motifs-from", "deepshap", "--n-references", "4", "--quiet"]
    assert main(["run", *args, "--out", str(tmp_path / "a")]) == 0
    assert main(["run", *args, "--out", str(tmp_path / "b")]) == 0
    a, b = io.read_attributions(tmp_path / "a" / "attributions.h5"), io.read_attributions(tmp_path / "b" / "attributions.h5")
    for m in ("gradxinput", "deepshap"):
        for k in ("contrib", "hypothetical", "delta", "score"):
            assert np.array_equal(a[m][k], b[m][k], equal_nan=True), (m, k)
    for name in ("filters.tsv", "filters.meme", "motifs.tsv", "motifs.meme", "seqlets.tsv", "comparison.tsv",
                 "screen.tsv"):
        assert (tmp_path / "a" / name).read_text() == (tmp_path / "b" / name).read_text(), name
    sa, sb = io.read_json(tmp_path / "a" / "summary.json"), io.read_json(tmp_path / "b" / "summary.json")
    assert sa["parameters"] == sb["parameters"] and sa["parameters"]["seed"] == 0
    assert set(sa["versions"]) >= {"python", "keras", "numpy", "modisco-lite"}
