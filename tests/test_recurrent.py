"""DeepLIFT rules for LSTM, GRU, SimpleRNN and Bidirectional (issue 16): the unrolled layers equal
Keras's, DeepSHAP's contributions add up to the output difference to 1e-5, and its multipliers
tend to the gradient as the reference approaches the input."""

import numpy as np
import pytest

from interpret.attribution import recurrent
from interpret.attribution.methods import DeepShap, unsupported_part
from interpret.model import Model


def _layers():
    import keras

    return keras.layers


def _randomise(keras_model, seed=0, scale=2.0):
    """Weights large enough that gates saturate and states differ from their references."""
    rng = np.random.default_rng(seed)
    for w in keras_model.weights:
        w.assign(w.numpy() * scale if len(w.shape) > 1 else rng.normal(size=w.shape) * 0.3)


@pytest.mark.parametrize("make", [
    lambda L: L.LSTM(4),
    lambda L: L.LSTM(4, return_sequences=True, go_backwards=True),
    lambda L: L.GRU(4),
    lambda L: L.GRU(4, reset_after=False, return_sequences=True, go_backwards=True),
    lambda L: L.SimpleRNN(4, activation="relu", use_bias=False),
    lambda L: L.Bidirectional(L.LSTM(3)),
    lambda L: L.Bidirectional(L.GRU(3, return_sequences=True), merge_mode="mul"),
    lambda L: L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode="ave"),
    lambda L: L.Bidirectional(L.SimpleRNN(3), merge_mode="sum"),
])
def test_recurrent_forward_equals_the_keras_layer(make):
    import tensorflow as tf

    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 9, 3)).astype(np.float32)
    layer = make(_layers())
    layer(x)
    for w in layer.weights:
        w.assign(rng.normal(size=w.shape).astype(np.float32))
    y, trace = recurrent.forward(layer, tf.constant(x))
    np.testing.assert_allclose(y.numpy(), layer(x).numpy(), atol=1e-5)
    entries = trace["steps"] if "steps" in trace else trace["forward"]["steps"]
    assert all(e[2].shape[:2] == (5, 9) for e in entries)  # every operation recorded at every step


@pytest.fixture(scope="module")
def stack():
    """One small recurrent stack with random weights that uses every supported variant, and its DeepShap."""
    import keras

    L = _layers()
    keras.utils.set_random_seed(0)
    inp = keras.Input((101, 4))
    h = L.MaxPooling1D(4)(L.Conv1D(8, 15, activation="relu")(inp))
    # both GRU variants in one Bidirectional (the backward one reads the sequence backwards), merged by product
    backward = L.GRU(4, reset_after=False, go_backwards=True, return_sequences=True)
    h = L.Bidirectional(L.GRU(4, return_sequences=True), backward_layer=backward, merge_mode="mul")(h)
    h = L.Bidirectional(L.LSTM(3, return_sequences=True))(h)
    h = L.Flatten()(L.SimpleRNN(3, return_sequences=True)(h))
    keras_model = keras.Model(inp, L.Dense(1, activation="sigmoid")(h))
    _randomise(keras_model)
    model = Model.from_keras(keras_model)
    return model, DeepShap(model)


def test_deepshap_on_recurrent_layers_is_complete_to_1e_5(stack, example_sim):
    model, deepshap = stack
    assert unsupported_part(model) is None
    res = deepshap.attribute(example_sim.x[:16], n_references=6, seed=0)
    np.testing.assert_allclose(res.score, model.predict(example_sim.x[:16], 0), atol=1e-4)
    gap = res.score.astype(np.float64) - res.ref_score
    assert np.abs(gap).max() > 0.1  # the references really move the output
    assert np.abs(res.delta).max() < 1e-5


def test_recurrent_multipliers_tend_to_the_gradient_as_the_reference_nears_the_input(stack, example_sim):
    """With one reference r, hypothetical = m - sum_c r m: it tends to g - sum_c r g as r -> x."""
    import tensorflow as tf

    model, deepshap = stack
    x = example_sim.x[:4]
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = model.forward(xt)[:, 0]
    grad = tape.gradient(y, xt).numpy()
    errors = []
    for eps in (1e-1, 1e-2):  # the error falls in proportion down to a float32 floor near eps = 3e-3
        refs = x + eps * (0.25 - x)
        hyp = deepshap.attribute(x, references=refs[:, None]).hypothetical
        errors.append(np.abs(hyp - (grad - (grad * refs).sum(-1, keepdims=True))).max())
    assert errors[1] < errors[0] / 5 and errors[1] < 0.05 * np.abs(grad).max()


def test_recurrent_configurations_without_a_rule_are_named():
    L = _layers()
    assert recurrent.unsupported(L.LSTM(3, stateful=True)) == "stateful=True"
    assert recurrent.unsupported(L.GRU(3, return_state=True)) == "return_state=True"
    assert recurrent.unsupported(L.Bidirectional(L.LSTM(3), merge_mode=None)) == "merge_mode=None"
    assert recurrent.unsupported(L.Bidirectional(L.LSTM(3))) is None
    import keras

    inp = keras.Input((20, 4))
    h = L.LSTM(3, activation="softmax", name="rnn")(inp)
    model = Model.from_keras(keras.Model(inp, L.Dense(1)(h)))
    assert unsupported_part(model) == "layer 'rnn' (LSTM with activation 'softmax' (not elementwise))"
