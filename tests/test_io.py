"""The loading boundary: every layout in, (N, L, 4) float32 ACGT out; every bad input one line."""

import gzip

import numpy as np
import pytest

from interpret import io, simulate
from interpret.errors import InputError
from interpret.model import Model


@pytest.fixture(scope="module")
def onehot():
    rng = np.random.default_rng(0)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, (6, 20))]


def test_layouts_convert_to_nl4_identically(onehot):
    for raw, layout in [(onehot, "(N, L, 4)"), (onehot[:, None], "(N, 1, L, 4)"),
                        (onehot.transpose(0, 2, 1), "(N, 4, L)"), (onehot.astype(np.uint8), "(N, L, 4)"),
                        (onehot.astype(bool), "(N, L, 4)")]:
        x, got = io.to_nl4(raw, seq_len=20)
        assert got == layout
        assert x.dtype == np.float32 and x.shape == (6, 20, 4)
        np.testing.assert_array_equal(x, onehot)


def test_n_rows_allowed_as_zeros_or_quarters(onehot):
    x = onehot.copy()
    x[0, 3] = 0
    x[1, 4] = 0.25
    out, _ = io.to_nl4(x)
    assert out[0, 3].sum() == 0 and out[1, 4].sum() == pytest.approx(1.0)


@pytest.mark.parametrize("mutate, message", [
    (lambda x: x * 2, "not one-hot"),
    (lambda x: x * 0.5 + 0.125, "not one-hot"),   # soft encodings sum to 1 but are not one-hot
    (lambda x: np.where(np.arange(20)[None, :, None] == 5, np.nan, x), "NaN"),
    (lambda x: x[:0], "no sequences"),
    (lambda x: x[:, :, :3], "shape"),
])
def test_bad_arrays_raise_one_line(onehot, mutate, message):
    with pytest.raises(InputError) as e:
        io.to_nl4(mutate(onehot))
    assert message in str(e.value) and "\n" not in str(e.value)


def test_wrong_length_names_both_lengths(onehot):
    with pytest.raises(InputError, match="20 bp but the model takes 101 bp"):
        io.to_nl4(onehot, seq_len=101)


def test_npz_keys_autodetected_and_overridable(tmp_path, onehot):
    p = tmp_path / "d.npz"
    np.savez(p, X_test=onehot.astype(np.uint8), Y_test=np.arange(6) % 2)
    s = io.load_sequences(p)
    assert s.x.shape == (6, 20, 4) and s.y.tolist() == [0, 1, 0, 1, 0, 1]
    assert s.keys == {"x": "X_test", "y": "Y_test"}
    np.savez(p, a=onehot, b=np.ones(6))
    with pytest.raises(InputError, match="--x-key"):
        io.load_sequences(p)
    s = io.load_sequences(p, x_key="a", y_key="b")
    assert s.y.sum() == 6
    with pytest.raises(InputError, match="no key 'zz'"):
        io.load_sequences(p, x_key="zz")


def test_ambiguous_and_mismatched_labels(tmp_path, onehot):
    p = tmp_path / "d.npz"
    np.savez(p, x=onehot, X=onehot)
    with pytest.raises(InputError, match="several sequences keys"):
        io.load_sequences(p)
    np.savez(p, x=onehot, y=np.ones(5))
    with pytest.raises(InputError, match="5 labels for 6 sequences"):
        io.load_sequences(p)


def test_fasta_plain_and_gzipped_roundtrip(tmp_path, onehot):
    seqs = io.decode(onehot)
    text = "".join(f">s{i} desc\n{s[:10]}\n{s[10:].lower()}\n" for i, s in enumerate(seqs))
    (tmp_path / "a.fa").write_text(text)
    with gzip.open(tmp_path / "a.fa.gz", "wt") as fh:
        fh.write(text)
    for name in ("a.fa", "a.fa.gz"):
        s = io.load_sequences(tmp_path / name)
        np.testing.assert_array_equal(s.x, onehot)
        assert s.names == [f"s{i}" for i in range(6)]


def test_fasta_unequal_lengths_refused(tmp_path):
    (tmp_path / "b.fasta").write_text(">a\nACGT\n>b\nACG\n")
    with pytest.raises(InputError, match="lengths"):
        io.load_sequences(tmp_path / "b.fasta")


def test_meme_roundtrip_is_exact_to_six_decimals():
    ppm = np.random.default_rng(1).dirichlet(np.ones(4), size=9)
    text_motif = io.Motif("m1", ppm, "name")
    import tempfile, pathlib

    with tempfile.TemporaryDirectory() as d:
        p = pathlib.Path(d) / "m.meme"
        io.write_meme(p, [text_motif, io.Motif("m2", ppm[:3], "")])
        back = io.read_meme(p)
    assert [m.id for m in back] == ["m1", "m2"]
    np.testing.assert_allclose(back[0].ppm, ppm, atol=2e-6)


def test_bundled_jaspar_is_2026_core_vertebrates():
    db = io.load_motif_db()
    assert len(db) == 1019
    ids = {m.id for m in db}
    assert {"MA0035.5", "MA0466.4", "MA0139.2"} <= ids
    assert all(np.allclose(m.ppm.sum(axis=1), 1) for m in db)


def test_model_layouts_detected_and_logit_is_pre_sigmoid(tmp_path, onehot):
    for layout in ("1L4", "L4"):
        km = simulate.seed_model(length=20, filters=4, width=5, layout=layout)
        km.save(tmp_path / f"m{layout}.h5")
        m = io.load_model(tmp_path / f"m{layout}.h5")
        assert (m.layout, m.seq_len, m.n_outputs, m.output_activation) == (layout, 20, 1, "sigmoid")
        logit = m.predict(onehot, 0)
        prob = m.predict(onehot, 0, output="probability")
        np.testing.assert_allclose(1 / (1 + np.exp(-logit)), prob, rtol=1e-5)
        xin = onehot[:, None] if layout == "1L4" else onehot
        np.testing.assert_allclose(km.predict(xin, verbose=0)[:, 0], prob, rtol=1e-5)
        assert m.explained(0) == "logit (pre-sigmoid) of output 0"


def test_softmax_and_channels_first_models():
    import keras

    inp = keras.Input((4, 30))
    h = keras.layers.Permute((2, 1))(inp)
    h = keras.layers.Conv1D(3, 5, activation="relu")(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(3, activation="softmax")(h)
    m = Model.from_keras(keras.Model(inp, out))
    assert (m.layout, m.seq_len, m.n_outputs, m.output_activation) == ("4L", 30, 3, "softmax")
    x = np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (5, 30))]
    logits = m.predict(x)
    probs = m.predict(x, output="probability")
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(e / e.sum(axis=1, keepdims=True), probs, rtol=1e-5, atol=1e-7)
    with pytest.raises(InputError, match="out of range"):
        m.check_target(3)


def test_not_a_model_file(tmp_path):
    p = tmp_path / "bad.h5"
    p.write_bytes(b"not hdf5 at all")
    with pytest.raises(InputError, match="not a Keras model"):
        io.load_model(p)
    with pytest.raises(InputError, match="does not exist"):
        io.load_model(tmp_path / "missing.h5")


def test_output_dir_is_renamed_only_when_complete(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with io.OutputDir(out) as od:
            (od / "a.txt").write_text("x")
            raise RuntimeError("crash mid-run")
    assert not out.exists() and list(tmp_path.iterdir()) == []
    with io.OutputDir(out) as od:
        (od / "a.txt").write_text("x")
        od.finish({"ok": True})
    assert (out / "summary.json").exists()
    with pytest.raises(InputError, match="--force"):
        io.OutputDir(out)


def test_npy_rows_are_read_on_demand_and_equal_the_eager_conversion(tmp_path, onehot):
    """A .npy stays on disk: any rows, in any order and layout, come back as to_nl4 would give them."""
    for raw in (onehot.transpose(0, 2, 1).astype(np.float32), onehot[:, None].astype(np.uint8)):
        np.save(tmp_path / "d.npy", raw)
        s = io.load_sequences(tmp_path / "d.npy", seq_len=20)
        assert isinstance(s.source, io.NpyRows) and len(s) == 6 and s.length == 20
        want, _ = io.to_nl4(raw, seq_len=20)
        np.testing.assert_array_equal(s.take([5, 0, 3, 3]), want[[5, 0, 3, 3]])
        np.testing.assert_array_equal(s.source[2:5], want[2:5])
        np.testing.assert_array_equal(s.source[-1], want[-1])
        assert s.x.dtype == np.float32
        np.testing.assert_array_equal(s.x, want)


def test_bad_row_deep_in_a_large_npy_is_reported_on_loading(tmp_path):
    """Row 900,000 of a million is named, with the reason, by the loading pass (before any compute)."""
    x = np.zeros((1_000_000, 8, 4), np.uint8)
    x[:, :, 0] = 1
    x[900_000, 5] = [1, 1, 0, 0]
    np.save(tmp_path / "big.npy", x)
    with pytest.raises(InputError, match="sequence 900000 position 5 is not one-hot"):
        io.load_sequences(tmp_path / "big.npy", seq_len=8)
    f = x[:2000].astype(np.float32)
    f[1999, 7, 2] = np.nan
    np.save(tmp_path / "nan.npy", f)
    with pytest.raises(InputError, match="sequence 1999 contains NaN"):
        io.load_sequences(tmp_path / "nan.npy")
    raw = (tmp_path / "big.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(raw[: len(raw) - 100])
    with pytest.raises(InputError, match="truncated"):
        io.load_sequences(tmp_path / "cut.npy")


def test_bad_record_deep_in_a_fasta_is_named_on_loading(tmp_path):
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 12)) for _ in range(20_000)]
    for case, change, message in [("char", lambda s: s[:3] + "X" + s[4:], "sequence 19999 (r19999) has characters 'X'"),
                                  ("length", lambda s: s[:-1], "sequence 19999 (r19999) is 11 bp, the ones before 12 bp")]:
        body = seqs[:-1] + [change(seqs[-1])]
        with gzip.open(tmp_path / f"{case}.fa.gz", "wt") as fh:
            fh.write("".join(f">r{i} peak\n{s}\n" for i, s in enumerate(body)))
        with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            io.load_sequences(tmp_path / f"{case}.fa.gz")
    (tmp_path / "ok.fa").write_text(">a\nACGTN\n>b\nacgtr\n")
    s = io.load_sequences(tmp_path / "ok.fa")
    assert isinstance(s.source, io.CodeRows) and s.names == ["a", "b"]
    np.testing.assert_array_equal(s.x[:, :4], np.stack([np.eye(4)] * 2))
    assert s.x[:, 4].sum() == 0  # N and other IUPAC codes are all-zero rows


def test_attribute_stops_on_a_bad_last_row_before_any_compute(tmp_path, capsys):
    """The CLI answers in one line and leaves no output, partial or finished."""
    from interpret.cli import main

    simulate.seed_model(length=10, filters=2, width=3, layout="L4").save(tmp_path / "m.keras")
    x = np.eye(4, dtype=np.uint8)[np.random.default_rng(0).integers(0, 4, (5000, 10))]
    x[-1, 9] = [0, 2, 0, 0]
    np.save(tmp_path / "d.npy", x)
    code = main(["attribute", str(tmp_path / "m.keras"), str(tmp_path / "d.npy"), "--out", str(tmp_path / "a.h5"), "-q"])
    lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert code == 2 and len(lines) == 1 and "sequence 4999 position 9 is not one-hot" in lines[0], lines
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npy", "m.keras"]


def test_appending_a_group_twice_replaces_it(tmp_path):
    """A stage rerun after an interruption appends the same groups again (families/ in motifs.h5)."""
    path = tmp_path / "m.h5"
    io.write_h5(path, {"a": {"x": np.zeros(3)}})
    io.write_h5(path, {"families/f0": {"ppm": np.ones((5, 4))}}, mode="a")
    io.write_h5(path, {"families/f0": {"ppm": np.full((6, 4), 0.25)}}, mode="a")
    arrays, _ = io.read_h5(path)
    np.testing.assert_array_equal(arrays["families/f0/ppm"], np.full((6, 4), 0.25))
    np.testing.assert_array_equal(arrays["a/x"], np.zeros(3))
