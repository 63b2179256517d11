"""The model side of the loading boundary (issue 16): custom layers, labels that do not fit the
model, and the automatic fallback to integrated gradients where DeepSHAP has no rule."""

import logging
import sys

import numpy as np
import pytest

from interpret import io
from interpret.cli import main
from interpret.model import Model
from interpret.pipeline import choose_methods

CUSTOM_LAYER = '''
import keras


@keras.saving.register_keras_serializable(package="interpret_test")
class Scale(keras.layers.Layer):
    """Multiplies by a constant: a layer no DeepLIFT rule list can know."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}
'''


def _forget_custom_layer():
    """Undo the registration, as in a fresh process that never imported the layer's file."""
    import keras

    keras.saving.get_custom_objects().pop("interpret_test>Scale", None)
    for name in [m for m in sys.modules if m.startswith("interpret_custom_objects_")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def custom(tmp_path_factory, example_sim):
    """A Conv1D -> Scale -> GlobalMaxPool -> Dense model saved as .keras, its layer file, and data."""
    import keras

    d = tmp_path_factory.mktemp("custom")
    (d / "layers.py").write_text(CUSTOM_LAYER)
    scale = io.load_custom_objects(d / "layers.py")["Scale"]
    keras.utils.set_random_seed(0)
    inp = keras.Input((101, 4))
    h = keras.layers.GlobalMaxPooling1D()(scale()(keras.layers.Conv1D(4, 9, activation="relu")(inp)))
    keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(h)).save(d / "custom.keras")
    np.savez(d / "data.npz", x=example_sim.x[:40], y=example_sim.y[:40])
    _forget_custom_layer()
    yield d
    _forget_custom_layer()


def test_unknown_custom_layer_error_names_it_and_the_option(custom, capsys):
    with pytest.raises(io.InputError) as err:
        io.load_model(custom / "custom.keras")
    msg = str(err.value)
    assert "'Scale'" in msg and "--custom-objects FILE.py" in msg and "\n" not in msg
    code = main(["run", str(custom / "custom.keras"), str(custom / "data.npz"), "--out", str(custom / "o"), "--quiet"])
    err_lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert code == 2 and len(err_lines) == 1 and "--custom-objects" in err_lines[0]
    assert not (custom / "o").exists()


def test_custom_objects_file_loads_the_model_and_the_run_falls_back_to_ig(custom, caplog):
    """The custom layer has no DeepLIFT rule: with no --methods the run uses integrated gradients and says so."""
    model = io.load_model(custom / "custom.keras", custom_objects=custom / "layers.py")
    assert type(model.keras_model.layers[2]).__name__ == "Scale" and model.keras_model.layers[2].factor == 2.0
    x = np.load(custom / "data.npz")["x"][:3]
    np.testing.assert_allclose(model.predict(x, 0, "probability"), model.keras_model(x).numpy()[:, 0], rtol=1e-5)
    out = custom / "run"
    with caplog.at_level(logging.WARNING, logger="interpret"):
        code = main(["run", str(custom / "custom.keras"), str(custom / "data.npz"), "--custom-objects",
                     str(custom / "layers.py"), "--out", str(out), "--quiet"])
    assert code == 0
    assert [r.getMessage() for r in caplog.records if "DeepSHAP" in r.getMessage()] == [
        "DeepSHAP has no rule for layer 'scale' (Scale); attributions and motifs use integrated gradients "
        "instead (choose with --methods)"]
    s = io.read_json(out / "summary.json")
    assert s["methods"] == ["gradxinput", "ig"] and s["motifs_from"] == ["ig"]
    assert s["parameters"]["methods"] == ["gradxinput", "ig"]
    assert s["method_fallback"] == {"from": "deepshap", "to": "ig",
                                    "reason": "DeepSHAP has no rule for layer 'scale' (Scale)"}
    a = io.read_attributions(out / "attributions.h5", "ig")
    # the reported delta is the completeness gap against IG's uniform reference, recomputed here
    gap = model.predict(a["x"], 0).astype(np.float64) - model.predict(np.full_like(a["x"], 0.25), 0)
    np.testing.assert_allclose(a["ig"]["contrib"].sum(axis=(1, 2)) - gap, a["ig"]["delta"], atol=1e-4)
    assert s["attribution"]["ig"]["max_abs_delta"] == pytest.approx(np.abs(a["ig"]["delta"]).max(), rel=1e-5)
    assert 0 < np.abs(a["ig"]["delta"]).max() < 0.05 * np.abs(gap).max()  # 50 steps: a small quadrature error
    html = (out / "report.html").read_text()
    assert "DeepSHAP has no rule for layer &#39;scale&#39; (Scale), so integrated gradients replace it" in html


def test_attribution_shards_load_the_custom_layers_as_dask_workers_do(custom):
    """A worker loads the model by path: it needs the --custom-objects file too."""
    from interpret.attribution import distributed

    _forget_custom_layer()
    x = np.load(custom / "data.npz")["x"][:4]
    res = distributed.attribute_shard(str(custom / "custom.keras"), x, ("gradxinput",), 0, "logit", 1, 0, 8,
                                      custom_objects=str(custom / "layers.py"))
    model = io.load_model(custom / "custom.keras", custom_objects=custom / "layers.py")
    np.testing.assert_allclose(res["gradxinput"]["score"], model.predict(x, 0), rtol=1e-5)


def test_explicit_methods_win_and_motifs_follow_them(custom, example_model):
    model = io.load_model(custom / "custom.keras", custom_objects=custom / "layers.py")
    assert choose_methods(model, ("deepshap",)) == (("deepshap",), ("deepshap",), None)  # fails later, naming the layer
    assert choose_methods(model, ("ig", "gradxinput")) == (("ig", "gradxinput"), ("ig",), None)
    assert choose_methods(model, ("saliency",), None) == (("saliency",), ("saliency",), None)
    assert choose_methods(example_model) == (("gradxinput", "deepshap"), ("deepshap",), None)
    assert choose_methods(example_model, None, ("gradxinput",)) == (("gradxinput", "deepshap"), ("gradxinput",), None)


def test_python_api_takes_an_already_loaded_keras_model(example_model):
    model = io.load_model(example_model.keras_model)
    assert isinstance(model, Model) and model.path is None
    assert (model.layout, model.seq_len, model.n_outputs, model.output_activation) == ("1L4", 101, 1, "sigmoid")


def _tiny(n_outputs, activation):
    import keras

    inp = keras.Input((101, 4))
    h = keras.layers.GlobalMaxPooling1D()(keras.layers.Conv1D(2, 5)(inp))
    return Model.from_keras(keras.Model(inp, keras.layers.Dense(n_outputs, activation=activation)(h)))


@pytest.mark.parametrize("y, n_outputs, activation, message", [
    (np.zeros((40, 7)), 2, "sigmoid", "labels have 7 columns but the model has 2 output(s)"),
    (np.zeros((40, 2)), 1, "sigmoid", "labels have 2 columns but the model has 1 output(s)"),
    (np.zeros(40), 2, "sigmoid", "labels are one column but the model has 2 outputs"),
    (np.full(40, 3.0), 3, "softmax", "class indices 0..2"),
    (np.zeros((40, 2, 2)), 2, "sigmoid", "labels have shape (40, 2, 2)"),
])
def test_labels_that_do_not_fit_the_model_are_named(example_sim, y, n_outputs, activation, message):
    seqs = io.Sequences(x=example_sim.x[:40], y=y, path="data.npz")
    with pytest.raises(io.InputError) as err:
        io.labels_for_model(seqs, _tiny(n_outputs, activation))
    assert str(err.value).startswith("data.npz: ") and message in str(err.value)


def test_softmax_class_indices_become_one_hot_and_fitting_labels_pass(example_sim):
    y = np.array([0, 2, 1, 2] * 10)
    seqs = io.Sequences(x=example_sim.x[:40], y=y, path="d.npz")
    fitted = io.labels_for_model(seqs, _tiny(3, "softmax"))
    np.testing.assert_array_equal(fitted.y, np.eye(3)[y])
    assert seqs.y is y  # the caller's object is left alone
    two = io.Sequences(x=example_sim.x[:40], y=np.ones((40, 2)), path="d.npz")
    assert io.labels_for_model(two, _tiny(2, "sigmoid")).y.shape == (40, 2)


def test_cli_names_misfit_labels_not_missing_positives(example_sim, tmp_path, capsys):
    _tiny(2, "sigmoid").keras_model.save(tmp_path / "two.keras")
    y = np.zeros((40, 7))
    y[:, 3] = 1
    np.savez(tmp_path / "d.npz", x=example_sim.x[:40], y=y)
    code = main(["run", str(tmp_path / "two.keras"), str(tmp_path / "d.npz"), "--out", str(tmp_path / "o"), "--quiet"])
    err = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert code == 2 and len(err) == 1
    assert "labels have 7 columns but the model has 2 output(s)" in err[0] and "no positive labels" not in err[0]


@pytest.fixture(scope="module")
def danq(tmp_path_factory, example_sim):
    """DanQ-like Conv1D(32, 15) -> MaxPool(4) -> Bidirectional(LSTM(16)) -> Dense(1), saved as .keras,
    trained 2 epochs on 400 sequences of the example."""
    import keras

    from interpret import simulate

    d = tmp_path_factory.mktemp("danq")
    keras.utils.set_random_seed(0)
    inp = keras.Input((101, 4))
    h = keras.layers.MaxPooling1D(4)(keras.layers.Conv1D(32, 15, activation="relu")(inp))
    h = keras.layers.Bidirectional(keras.layers.LSTM(16))(h)
    km = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(h))
    simulate.train(km, example_sim.x[:400], example_sim.y[:400], epochs=2)
    km.save(d / "danq.keras")
    np.savez(d / "data.npz", x=example_sim.x[:400], y=example_sim.y[:400])
    return d


def test_danq_like_model_runs_with_no_flags_on_exact_deepshap(danq, caplog):
    """The recurrent layer gets DeepLIFT rules (interpret.attribution.recurrent), so no fallback is needed."""
    with caplog.at_level(logging.WARNING, logger="interpret"):
        code = main(["run", str(danq / "danq.keras"), str(danq / "data.npz"), "--out", str(danq / "out"),
                     "--max-seqs", "60", "--quiet"])
    assert code == 0
    assert not [r for r in caplog.records if "DeepSHAP" in r.getMessage() or "completeness" in r.getMessage()]
    s = io.read_json(danq / "out" / "summary.json")
    assert s["methods"] == ["gradxinput", "deepshap"] and s["motifs_from"] == ["deepshap"]
    assert s["method_fallback"] is None
    assert s["attribution"]["deepshap"]["max_abs_delta"] < 1e-5
    a = io.read_attributions(danq / "out" / "attributions.h5", "deepshap")
    np.testing.assert_allclose(a["deepshap"]["score"], io.load_model(danq / "danq.keras").predict(a["x"], 0),
                               atol=1e-4)
