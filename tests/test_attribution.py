"""Attribution engine: values checked against independent implementations and exact identities."""

import dataclasses
import logging

import numpy as np
import pytest

from interpret.attribution.methods import (METHODS, DeepShap, GradientXInput, IntegratedGradients, ISM, Saliency,
                                   iter_attribute)
from interpret.errors import InputError
from interpret.model import Model
from interpret.attribution.shuffle import dinucleotide_shuffle

L = 24


def _onehot(n, length=L, seed=0):
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]


def _randomize_batchnorm(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            c = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.2, c), rng.normal(0, 0.2, c),
                               rng.uniform(0.5, 2.0, c)])
    return model


def _model_l4_multitask():
    """(L, 4): conv/BN/windowed max pool/ELU conv/dropout/avg pool/flatten/tanh dense, 3 sigmoid tasks."""
    import keras

    keras.utils.set_random_seed(1)
    inp = keras.Input((L, 4))
    h = keras.layers.Conv1D(8, 5, padding="same", activation="relu")(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.Conv1D(6, 3, activation="elu")(h)
    h = keras.layers.Dropout(0.3)(h)
    h = keras.layers.AveragePooling1D(2)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(8, activation="tanh")(h)
    out = keras.layers.Dense(3, activation="sigmoid")(h)
    return _randomize_batchnorm(keras.Model(inp, out))


def _model_1l4_softmax():
    """(1, L, 4): Conv2D(1, k), overlapping 2-D max pool, softplus/GELU activations, global max pool, softmax."""
    import keras

    keras.utils.set_random_seed(2)
    inp = keras.Input((1, L, 4))
    h = keras.layers.Conv2D(8, (1, 5), padding="same")(inp)
    h = keras.layers.Activation("softplus")(h)
    h = keras.layers.MaxPooling2D((1, 3), strides=(1, 2), padding="same")(h)
    h = keras.layers.ZeroPadding2D(((0, 0), (1, 1)))(h)
    h = keras.layers.Conv2D(6, (1, 3), activation="gelu")(h)
    h = keras.layers.GlobalMaxPooling2D()(h)
    h = keras.layers.Dense(5, activation="sigmoid")(h)
    out = keras.layers.Dense(4, activation="softmax")(h)
    return keras.Model(inp, out)


def _model_1l4_global():
    """(1, L, 4): the seed's shape, small: Conv2D(24, (1, 5)) with relu -> global max pool -> 2 outputs
    (24 filters >= 5 x 4: the first-layer gradient is scattered from the pool's argmaxes)."""
    import keras

    keras.utils.set_random_seed(6)
    inp = keras.Input((1, L, 4))
    h = keras.layers.Conv2D(24, (1, 5), padding="same", activation="relu")(inp)
    h = keras.layers.GlobalMaxPooling2D()(h)
    return keras.Model(inp, keras.layers.Dense(2)(h))


def _model_functional_branches():
    """Functional graph: ReLU/LeakyReLU/PReLU layers, exponential, padding, cropping, add, concatenate,
    global average and global max pooling, reshape, permute."""
    import keras

    keras.utils.set_random_seed(3)
    inp = keras.Input((L, 4))
    a = keras.layers.Conv1D(6, 3, padding="same")(inp)
    a = keras.layers.ReLU()(a)
    b = keras.layers.ZeroPadding1D(2)(inp)
    b = keras.layers.Conv1D(6, 5)(b)
    b = keras.layers.LeakyReLU(negative_slope=0.1)(b)
    s = keras.layers.Add()([a, b])
    s = keras.layers.PReLU()(s)
    c = keras.layers.Cropping1D((1, 1))(s)
    c = keras.layers.Conv1D(4, 3, activation="exponential",
                            kernel_initializer=keras.initializers.RandomNormal(stddev=0.1))(c)
    g1 = keras.layers.GlobalAveragePooling1D()(c)
    g2 = keras.layers.GlobalMaxPooling1D()(keras.layers.Activation("sigmoid")(s))
    p = keras.layers.Permute((2, 1))(s)
    p = keras.layers.Reshape((6 * L,))(p)
    p = keras.layers.Dense(3, activation="softsign")(p)
    h = keras.layers.Concatenate()([g1, g2, p])
    out = keras.layers.Dense(2)(h)
    return keras.Model(inp, out)


def _sequential_model():
    import keras

    keras.utils.set_random_seed(4)
    return keras.Sequential([
        keras.Input((L, 4)),
        keras.layers.Conv1D(5, 4, activation="relu"),
        keras.layers.MaxPooling1D(3, strides=1),
        keras.layers.Flatten(),
        keras.layers.Dense(1, activation="sigmoid"),
    ])


def _assert_complete(res, model, target, output, x, refs):
    fx = Model.from_keras(model).predict(x, target, output) if not isinstance(model, Model) else model.predict(x, target, output)
    np.testing.assert_allclose(res.score, fx, rtol=1e-5, atol=1e-5)
    diff = res.score.astype(np.float64) - res.ref_score
    assert np.all(np.abs(res.delta) <= 1e-4 * np.maximum(1.0, np.abs(diff))), np.abs(res.delta).max()
    np.testing.assert_allclose(res.contrib.sum((1, 2)), diff, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------------------------
# DeepSHAP against tangermeme (crosscheck data)
# ------------------------------------------------------------------------------------------
def test_deepshap_reproduces_tangermeme_crosscheck_values(shared_dir):
    from interpret.io import load_model

    data = np.load(shared_dir / "crosscheck" / "crosscheck.npz")
    model = load_model(shared_dir / "crosscheck" / "model.h5")
    x = data["x"].astype(np.float32)
    refs = data["refs"].astype(np.float32)
    res = DeepShap(model, target=0).attribute(x, references=refs)
    assert res.explained == "logit (pre-sigmoid) of output 0"
    np.testing.assert_allclose(res.score, data["logit"], atol=1e-4)
    np.testing.assert_allclose(res.ref_score, data["ref_logit"].mean(1), atol=1e-4)
    assert np.abs(res.hypothetical - data["hypothetical"]).max() < 1e-4
    assert np.abs(res.contrib - data["contrib"]).max() < 1e-4
    assert np.abs(res.delta - data["seq_delta"]).max() < 1e-4
    assert np.abs(data["hypothetical"]).max() > 1.0  # the check is not vacuous


# ------------------------------------------------------------------------------------------
# Completeness on every supported layer, both layouts, multi-output
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("builder,targets,output", [
    (_model_l4_multitask, [0, 2], "logit"),
    (_model_l4_multitask, [1], "probability"),
    (_model_1l4_softmax, [0, 3], "logit"),
    (_model_1l4_global, [1], "logit"),
    (_model_functional_branches, [1], "logit"),
    (_sequential_model, [0], "probability"),
])
def test_deepshap_contributions_sum_to_output_difference(builder, targets, output):
    km = builder()
    x = _onehot(6, seed=5)
    x[0, 3] = 0  # an N position
    refs = dinucleotide_shuffle(x, 4, seed=0)
    for t in targets:
        res = DeepShap(km, target=t, output=output).attribute(x, references=refs)
        assert res.contrib.shape == x.shape and res.hypothetical.dtype == np.float32
        _assert_complete(res, km, t, output, x, refs)
        # actual contributions are the hypothetical ones at the observed bases
        np.testing.assert_array_equal(res.contrib, res.hypothetical * x)


def test_deepshap_each_reference_pair_is_complete():
    km = _model_1l4_softmax()
    x = _onehot(3, seed=6)
    refs = dinucleotide_shuffle(x, 5, seed=1)
    m, fx, fr = DeepShap(km, target=2).multipliers(x, refs)
    per_pair = (m * (x[:, None] - refs)).sum((2, 3))
    np.testing.assert_allclose(per_pair, fx[:, None] - fr, atol=1e-4)


def test_deepshap_default_references_are_seeded_shuffles():
    km = _sequential_model()
    x = _onehot(4, seed=7)
    ds = DeepShap(km)
    a = ds.attribute(x, n_references=6, seed=0)
    explicit = ds.attribute(x, references=dinucleotide_shuffle(x, 6, seed=0))
    np.testing.assert_array_equal(a.hypothetical, explicit.hypothetical)
    b = ds.attribute(x, n_references=6, seed=1)
    assert np.abs(a.hypothetical - b.hypothetical).max() > 1e-4
    # shared (K, L, 4) references and a callable
    shared = _onehot(3, seed=8)
    r1 = ds.attribute(x, references=shared)
    r2 = ds.attribute(x, references=lambda xx, n, seed: np.broadcast_to(shared[None], (len(xx),) + shared.shape))
    np.testing.assert_allclose(r1.hypothetical, r2.hypothetical, atol=1e-6)


def test_deepshap_agrees_with_shap_deepexplainer():
    import keras
    import shap

    keras.utils.set_random_seed(9)
    inp = keras.Input((L, 4))
    h = keras.layers.Conv1D(6, 5, activation="relu")(inp)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(4, activation="relu")(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    km = keras.Model(inp, out)
    x = _onehot(4, seed=10)
    bg = _onehot(6, seed=11)
    expl = shap.DeepExplainer(km, bg)
    sv = np.asarray(expl.shap_values(x, check_additivity=False))[..., 0]  # explains the probability
    m, _, _ = DeepShap(km, output="probability").multipliers(x, np.broadcast_to(bg[None], (4,) + bg.shape))
    ours = (m * (x[:, None] - bg[None])).mean(1)
    assert np.abs(sv).max() > 1e-3
    np.testing.assert_allclose(ours, sv, atol=1e-5)
    # and the position totals equal our actual contributions
    res = DeepShap(km, output="probability").attribute(x, references=bg)
    np.testing.assert_allclose(res.contrib.sum(-1), sv.sum(-1), atol=1e-5)


def test_deepshap_hand_set_filter_gives_known_values():
    """One filter [A]: f = relu(w . x_i) summed (avg pooling) -> contributions exactly w_A per A."""
    import keras

    inp = keras.Input((L, 4))
    h = keras.layers.Conv1D(1, 1, activation="relu", use_bias=False)(inp)
    h = keras.layers.GlobalAveragePooling1D()(h)
    out = keras.layers.Dense(1, use_bias=False)(h)
    km = keras.Model(inp, out)
    km.layers[1].set_weights([np.array([2.0, -1.0, 0.0, 0.0], np.float32).reshape(1, 4, 1)])
    km.layers[3].set_weights([np.array([[float(L)]], np.float32)])
    x = _onehot(2, seed=12)
    ref = np.zeros((1, L, 4), np.float32)
    res = DeepShap(km).attribute(x, references=ref)
    # the all-zero reference gives z=0; relu rescale: A -> (2-0)/(2-0) = 1; C -> 0; multiplier of A is 2
    expected = np.where(x[..., 0] == 1, 2.0, 0.0)
    np.testing.assert_allclose(res.contrib.sum(-1), expected, atol=1e-6)


# ------------------------------------------------------------------------------------------
# The fast paths of the rules against independent implementations
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_gemm_conv_input_gradient_equals_tensorflows(padding):
    """The first-layer input gradient as one GEMM and an overlap-add, against TensorFlow's own."""
    import tensorflow as tf

    from interpret.attribution.deeplift import _conv_input_grad

    rng = np.random.default_rng(27)
    kernel = tf.constant(rng.normal(size=(6, 4, 24)).astype(np.float32))
    x = tf.constant(_onehot(3, 20, seed=27))
    with tf.GradientTape() as tape:
        tape.watch(x)
        z = tf.nn.conv1d(x, kernel, 1, padding.upper())
    up = tf.constant(rng.normal(size=z.shape).astype(np.float32))
    expected = tape.gradient(z, x, output_gradients=up).numpy()
    assert np.abs(expected).max() > 1
    # Sums of 144 float32 products of size ~20: TensorFlow's kernels (oneDNN or not) add them in
    # another order, a few ulp apart (7.7e-7 relative seen with oneDNN on an AMD EPYC).
    np.testing.assert_allclose(_conv_input_grad(up, kernel, 20, padding).numpy(), expected, rtol=2e-6, atol=1e-5)


def _pooled_relu_model(layout, relu_layers, seed=22, length=48):
    """Conv (8 filters) -> ReLU -> max pool of 4 -> conv (6) -> ReLU -> global max pool (12 positions)
    -> Dense(1). ``relu_layers``: the ReLUs as ``ReLU(max_value=1e9)`` layers, the same function for
    these activations but not an exact ReLU to the engine, which then takes its general path."""
    import keras

    keras.utils.set_random_seed(seed)
    two_d = layout == "1L4"
    bias = keras.initializers.Constant(0.05)  # N stretches then tie above 0, where the first argmax matters

    def conv(filters, width, act):
        if two_d:
            return keras.layers.Conv2D(filters, (1, width), padding="same", activation=act, bias_initializer=bias)
        return keras.layers.Conv1D(filters, width, padding="same", activation=act, bias_initializer=bias)

    inp = keras.Input((1, length, 4) if two_d else (length, 4))
    h = inp
    for filters, width in ((8, 5), (6, 3)):
        h = conv(filters, width, None if relu_layers else "relu")(h)
        if relu_layers:
            h = keras.layers.ReLU(max_value=1e9)(h)
        if filters == 8:
            h = (keras.layers.MaxPooling2D((1, 4)) if two_d else keras.layers.MaxPooling1D(4))(h)
    h = (keras.layers.GlobalMaxPooling2D() if two_d else keras.layers.GlobalMaxPooling1D())(h)
    return keras.Model(inp, keras.layers.Dense(1)(h))


def _with_ties(n, length, seed):
    """One-hot sequences with stretches of N: constant activations there, so windows tie."""
    x = _onehot(n, length, seed)
    x[:, 10:22] = 0
    x[0, length - 18:] = 0
    return x


@pytest.mark.parametrize("layout", ["L4", "1L4"])
def test_deepshap_relu_pooling_kernels_match_the_general_rule(layout):
    """Exact ReLUs take the fast paths (global pool: numba max/argmax; windows of 4: TensorFlow's
    max pool of the pre-activation, argmaxes in the replay); ReLU(max_value=1e9) the general
    compiled path. Same weights, so the multipliers of every pair must agree, ties included."""
    fast, general = _pooled_relu_model(layout, False), _pooled_relu_model(layout, True)
    general.set_weights(fast.get_weights())
    x = _with_ties(4, 48, seed=23)
    refs = dinucleotide_shuffle(x, 5, seed=3)
    m_fast, fx, fr = DeepShap(fast).multipliers(x, refs)
    m_general, gx, gr = DeepShap(general).multipliers(x, refs)
    assert np.abs(m_fast).max() > 0.1
    np.testing.assert_allclose(m_fast, m_general, atol=1e-5)
    np.testing.assert_allclose(fx, gx, atol=1e-5)
    np.testing.assert_allclose(fr, gr, atol=1e-5)
    per_pair = (m_fast * (x[:, None] - refs)).sum((2, 3))
    np.testing.assert_allclose(per_pair, fx[:, None] - fr, atol=1e-4)


def _window_pool_model(kind, seed=31):
    """First-layer convolution (24 filters of 5: ``5 * 4 <= 24``, the GEMM input gradient's case) ->
    ReLU -> max pool of 4 -> conv (6) -> global max pool -> Dense(1). ``kind``: ``"L4"`` / ``"1L4"`` (Conv1D / Conv2D layout), ``"valid"`` (47 bp, valid
    padding: 43 positions, the last 3 after the last window), ``"two_readers"`` (a second convolution
    also reads the input, so the input gradient has two paths and no single first layer)."""
    import keras

    keras.utils.set_random_seed(seed)
    bias = keras.initializers.Constant(0.05)
    length = 47 if kind == "valid" else 48
    two_d = kind == "1L4"
    inp = keras.Input((1, length, 4) if two_d else (length, 4))
    if two_d:
        h = keras.layers.Conv2D(24, (1, 5), padding="same", activation="relu", bias_initializer=bias)(inp)
        h = keras.layers.MaxPooling2D((1, 4))(h)
        h = keras.layers.Conv2D(6, (1, 3), padding="same", activation="relu")(h)
        h = keras.layers.GlobalMaxPooling2D()(h)
    else:
        pad = "valid" if kind == "valid" else "same"
        h = keras.layers.Conv1D(24, 5, padding=pad, activation="relu", bias_initializer=bias)(inp)
        h = keras.layers.MaxPooling1D(4)(h)
        h = keras.layers.Conv1D(6, 3, padding="same", activation="relu")(h)
        h = keras.layers.GlobalMaxPooling1D()(h)
        if kind == "two_readers":
            side = keras.layers.Conv1D(3, 7, padding="same", activation="relu")(inp)
            h = keras.layers.Concatenate()([h, keras.layers.GlobalMaxPooling1D()(side)])
    return keras.Model(inp, keras.layers.Dense(1)(h)), length


@pytest.mark.parametrize("kind", ["L4", "1L4", "valid", "two_readers"])
def test_deepshap_window_hyp_kernel_equals_hypothetical_from_multipliers(kind):
    """Below a max pool over windows, the hypothetical contributions come straight from the pool's
    sparse gradient (``deeplift._window_hyp``); they must equal the ones computed from every pair's
    input gradient (``multipliers``, the plain path), for one-hot references with N stretches and
    for non-one-hot references, and the kernel must not be used when two layers read the input."""
    import tensorflow as tf

    km, length = _window_pool_model(kind)
    x = _with_ties(3, length, seed=32)
    shuffled = dinucleotide_shuffle(x, 4, seed=5)
    soft = np.random.default_rng(33).dirichlet(np.ones(4), size=(3, 2, length)).astype(np.float32)
    ds = DeepShap(km)
    for refs in (shuffled, np.concatenate([shuffled[:, :2], soft], 1)):
        res = ds.attribute(x, references=refs)
        m, score, ref_score = ds.multipliers(x, refs)
        expected = (m - (m * refs).sum(-1, keepdims=True)).mean(1)
        assert np.abs(expected).max() > 0.05
        np.testing.assert_allclose(res.hypothetical, expected, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(res.score, score, rtol=1e-6)
        np.testing.assert_allclose(res.ref_score, ref_score.mean(1), rtol=1e-5)
    fn = ds._deeplift_fn(hypothetical=True)
    graph = fn.get_concrete_function(tf.TensorSpec((3, length, 4)), tf.TensorSpec((12, length, 4))).graph
    used = any("window_hyp" in op.name for op in graph.get_operations())
    assert used == (kind != "two_readers")


def test_window_max_kernel_gives_first_argmax_and_cross_values():
    from interpret.attribution.deeplift import _window_max_kernel

    rng = np.random.default_rng(24)
    n, k, p, w, c = 3, 4, 5, 7, 6
    a = rng.integers(-3, 3, (n + n * k, p * w + 2, c)).astype(np.float32)  # ties; 2 positions after the last window
    for relu in (True, False):
        top, idx, a_top, ar_px, ax_pr = _window_max_kernel(a, p, w, relu, n, k)
        win = a[:, :p * w].reshape(len(a), p, w, c)
        h = np.maximum(win, 0) if relu else win
        ref_idx = h.argmax(2)  # numpy: the first of tied maxima
        np.testing.assert_array_equal(top, h.max(2))
        np.testing.assert_array_equal(idx, ref_idx)
        np.testing.assert_array_equal(a_top, np.take_along_axis(win, ref_idx[:, :, None], 2)[:, :, 0])
        seq = np.repeat(np.arange(n), k)  # reference row -> its sequence
        np.testing.assert_array_equal(ar_px, np.take_along_axis(win[n:], ref_idx[seq][:, :, None], 2)[:, :, 0])
        np.testing.assert_array_equal(ax_pr, np.take_along_axis(win[seq], ref_idx[n:][:, :, None], 2)[:, :, 0])
    assert (h.max(2) == 0).any() and (ref_idx > 0).any()  # all-zero windows and later argmaxes both occur


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_scattered_first_layer_gradient_equals_the_gemm(padding):
    """Below a global max pool the first convolution's input gradient is scattered from the
    pool's two non-zeros per channel; it must equal the GEMM of the dense gradient."""
    import tensorflow as tf

    from interpret.attribution.deeplift import _conv_input_grad, _sparse_conv_input_grad

    rng = np.random.default_rng(25)
    n, k, c, j, length = 3, 4, 16, 5, 20
    l_out = length if padding == "same" else length - j + 1
    kernel = rng.normal(size=(j, 4, c)).astype(np.float32)
    px = rng.integers(0, l_out, (n, 1, 1, c)).astype(np.int32)
    pr = rng.integers(0, l_out, (n, k, 1, c)).astype(np.int32)
    pr[0, 0, 0] = px[0, 0, 0]  # same argmax: both values land on one position
    px[1, 0, 0, :2], pr[1, 0, 0, 2:4] = 0, l_out - 1  # the edges
    val_x, val_r = (rng.normal(size=(n, k, 1, c)).astype(np.float32) for _ in range(2))
    val_r[2] = 0
    dense = np.zeros((n, k, l_out, c), np.float32)
    np.put_along_axis(dense, np.broadcast_to(px, pr.shape), val_x, 2)
    dense_r = np.zeros_like(dense)
    np.put_along_axis(dense_r, pr, val_r, 2)
    up = (dense + dense_r).reshape(n * k, l_out, c)
    gemm = _conv_input_grad(tf.constant(up), tf.constant(kernel), length, padding).numpy()
    sparse = _sparse_conv_input_grad(tuple(map(tf.constant, (px, val_x, pr, val_r))), tf.constant(kernel),
                                     length, padding).numpy()
    assert np.abs(gemm).max() > 1
    np.testing.assert_allclose(sparse, gemm, atol=1e-5)


@pytest.mark.parametrize("builder", [lambda: _pooled_relu_model("L4", False), _model_1l4_global])
def test_recorder_replay_set_after_pass_one_gives_the_same_multipliers(builder):
    """Pass 1 records the cross-max values only when it knows (n, k) as ints (``Recorder.replay``); a
    recorder told only before the replay, with (n, k) as tensors of a graph without static batch
    shapes (as layer-level passes do), reads them in the replay (and scatters the first layer's
    gradient with dynamic shapes, second model)."""
    import tensorflow as tf

    from interpret.attribution.deeplift import Recorder

    model = Model.from_keras(builder())
    length = model.seq_len
    x = _with_ties(3, length, seed=26)
    refs = dinucleotide_shuffle(x, 4, seed=4)
    spec = tf.TensorSpec((None, length, 4), tf.float32)

    @tf.function(input_signature=[spec, spec])
    def late(x, refs):
        n = tf.shape(x)[0]
        k = tf.shape(refs)[0] // n
        rec = Recorder()
        model.forward(tf.concat([x, refs], 0), "logit", rec.record)
        rec.replay = (n, k)
        u = tf.repeat(x, k, axis=0)
        with tf.GradientTape() as tape:
            tape.watch(u)
            out = model.forward(u, "logit", rec.replay_hook)[:, 0]  # target 0, as DeepShap's default
        return tape.gradient(out, u)

    m = late(x, refs.reshape(-1, length, 4)).numpy().reshape(refs.shape)
    np.testing.assert_allclose(m, DeepShap(model).multipliers(x, refs)[0], atol=1e-5)


# ------------------------------------------------------------------------------------------
# Batch and chunk invariance
# ------------------------------------------------------------------------------------------
def test_deepshap_same_result_at_any_batch_size_and_chunking():
    km = _model_l4_multitask()
    x = _onehot(7, seed=13)
    full = DeepShap(km, target=1).attribute(x, n_references=5, seed=2)
    small = DeepShap(km, target=1, batch_size=5).attribute(x, n_references=5, seed=2)  # one sequence per call
    np.testing.assert_allclose(small.hypothetical, full.hypothetical, atol=1e-5)
    chunks = list(iter_attribute(DeepShap(km, target=1), x, chunk_size=3, n_references=5, seed=2))
    assert [s for s, _ in chunks] == [0, 3, 6]
    np.testing.assert_allclose(np.concatenate([r.hypothetical for _, r in chunks]), full.hypothetical, atol=1e-5)
    np.testing.assert_allclose(np.concatenate([r.delta for _, r in chunks]), full.delta, atol=1e-5)
    alone = DeepShap(km, target=1).attribute(x[4:5], n_references=5, seed=2)
    np.testing.assert_allclose(alone.hypothetical[0], full.hypothetical[4], atol=1e-5)


def test_partial_batches_are_padded_to_few_shapes():
    from interpret.attribution.methods import _bucket, _padded

    # every batch of 1..51 rows runs at one of 7 shapes, never fewer rows than it has
    shapes = {_bucket(b, 51) for b in range(1, 52)}
    assert shapes == {1, 2, 4, 8, 16, 32, 51}
    assert all(b <= _bucket(b, 51) < 2 * b or _bucket(b, 51) == 51 for b in range(1, 52))
    a = np.arange(6, dtype=np.float32).reshape(3, 2)
    np.testing.assert_array_equal(_padded(a, 5), [[0, 1], [2, 3], [4, 5], [4, 5], [4, 5]])
    assert _padded(a, 3) is a


@pytest.mark.parametrize("cls", [GradientXInput, Saliency, IntegratedGradients, ISM])
def test_other_methods_same_result_at_any_batch_size(cls):
    km = _model_l4_multitask()
    x = _onehot(5, seed=14)
    a = cls(km, target=0).attribute(x)
    b = cls(km, target=0, batch_size=3).attribute(x)
    np.testing.assert_allclose(a.hypothetical, b.hypothetical, atol=1e-5)
    alone = cls(km, target=0).attribute(x[2:3])
    np.testing.assert_allclose(alone.hypothetical[0], a.hypothetical[2], atol=1e-5)


# ------------------------------------------------------------------------------------------
# Gradient methods, IG, ISM
# ------------------------------------------------------------------------------------------
def _smooth_model():
    import keras

    keras.utils.set_random_seed(15)
    inp = keras.Input((L, 4))
    h = keras.layers.Conv1D(4, 3, activation="tanh")(inp)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(2, activation="softplus")(h)
    return keras.Model(inp, out)


def test_gradxinput_matches_central_finite_differences():
    km = _smooth_model()
    model = Model.from_keras(km)
    x = _onehot(2, seed=16)
    res = GradientXInput(km, target=1, correct=False).attribute(x)
    eps = 1e-2
    fd = np.zeros_like(x)
    for i in range(L):
        for c in range(4):
            xp, xm = x.copy(), x.copy()
            xp[:, i, c] += eps
            xm[:, i, c] -= eps
            fd[:, i, c] = (model.predict(xp, 1).astype(np.float64) - model.predict(xm, 1)) / (2 * eps)
    assert np.abs(fd).max() > 0.05
    np.testing.assert_allclose(res.hypothetical, fd, atol=2e-3)
    np.testing.assert_allclose(res.contrib, fd * x, atol=2e-3)
    assert res.delta is None and res.method == "gradxinput"
    centred = GradientXInput(km, target=1).attribute(x)
    np.testing.assert_allclose(centred.hypothetical, fd - fd.mean(-1, keepdims=True), atol=2e-3)
    np.testing.assert_allclose(centred.hypothetical.sum(-1), 0, atol=1e-5)
    sal = Saliency(km, target=1, absolute=True, correct=False).attribute(x)
    np.testing.assert_allclose(sal.hypothetical, np.abs(fd), atol=2e-3)


def test_ism_matches_brute_force_loop():
    km = _model_1l4_softmax()
    model = Model.from_keras(km)
    x = _onehot(2, seed=17)
    x[1, 5] = 0  # N position: all four bases scored
    raw = ISM(km, target=3, centre=False).attribute(x)
    expected = np.zeros_like(x)
    for n in range(2):
        base = model.predict(x[n:n + 1], 3)[0]
        for i in range(L):
            for c in range(4):
                v = x[n:n + 1].copy()
                v[0, i] = np.eye(4)[c]
                expected[n, i, c] = model.predict(v, 3)[0] - base
    np.testing.assert_allclose(raw.hypothetical, expected, atol=1e-5)
    assert np.abs(expected).max() > 1e-3
    np.testing.assert_array_equal(raw.contrib, 0 * x)  # uncentred: observed base contributes 0
    centred = ISM(km, target=3).attribute(x)
    np.testing.assert_allclose(centred.hypothetical, expected - expected.mean(-1, keepdims=True), atol=1e-5)


def test_ig_delta_shrinks_as_steps_grow():
    km = _model_l4_multitask()
    x = _onehot(4, seed=18)
    deltas = [np.abs(IntegratedGradients(km, target=0, steps=s).attribute(x).delta).mean() for s in (2, 8, 64)]
    assert deltas[0] > deltas[1] > deltas[2]
    assert deltas[2] < 1e-3


def test_ig_with_uniform_reference_equals_centred_path_gradient_and_supports_shuffles():
    km = _smooth_model()
    x = _onehot(3, seed=19)
    ig = IntegratedGradients(km, target=0, steps=32)
    res = ig.attribute(x)
    np.testing.assert_allclose(res.hypothetical.sum(-1), 0, atol=1e-5)  # uniform reference -> centred
    assert np.abs(res.delta).max() < 1e-3
    shuf = ig.attribute(x, references="shuffle", n_references=3, seed=0)
    refs = dinucleotide_shuffle(x, 3, seed=0)
    fr = Model.from_keras(km).predict(refs.reshape(-1, L, 4), 0).reshape(3, 3).mean(1)
    np.testing.assert_allclose(shuf.ref_score, fr, atol=1e-5)
    assert np.abs(shuf.delta).max() < 1e-3


def test_probability_output_explains_sigmoid():
    km = _sequential_model()
    x = _onehot(3, seed=20)
    res = GradientXInput(km, output="probability").attribute(x)
    assert res.explained == "sigmoid probability of output 0"
    assert np.all((res.score > 0) & (res.score < 1))


# ------------------------------------------------------------------------------------------
# Errors, registry, result type, warnings
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["multiply", "layernorm"])
def test_unsupported_layer_raises_input_error_naming_it(kind):
    import keras

    inp = keras.Input((L, 4))
    if kind == "multiply":
        a = keras.layers.Conv1D(3, 3, padding="same")(inp)
        b = keras.layers.Conv1D(3, 3, padding="same")(inp)
        h = keras.layers.Multiply(name="gate_mul")([a, b])
    else:  # LSTMs have rules now (test_recurrent.py); normalisation over channels has none
        h = keras.layers.LayerNormalization(name="my_norm")(keras.layers.Conv1D(3, 3, padding="same")(inp))
    km = keras.Model(inp, keras.layers.Dense(1)(keras.layers.Flatten()(h)))
    name = "gate_mul" if kind == "multiply" else "my_norm"
    with pytest.raises(InputError, match=f"{name}.*integrated gradients"):
        DeepShap(km)
    # integrated gradients works on it
    res = IntegratedGradients(km, steps=4).attribute(_onehot(2))
    assert np.isfinite(res.hypothetical).all()


def test_softmax_probability_has_no_deepshap_rule():
    with pytest.raises(InputError, match="softmax"):
        DeepShap(_model_1l4_softmax(), output="probability")


def test_bad_inputs_raise_input_error():
    km = _sequential_model()
    with pytest.raises(InputError, match="length"):
        GradientXInput(km).attribute(_onehot(2, length=L + 1))
    with pytest.raises(InputError, match="out of range"):
        DeepShap(km, target=3)
    with pytest.raises(InputError, match="references"):
        DeepShap(km).attribute(_onehot(2), references=np.zeros((3, 2, L, 4)))


def test_registry_and_frozen_result():
    assert set(METHODS) == {"deepshap", "gradxinput", "saliency", "ig", "ism"}
    res = METHODS["saliency"](_sequential_model()).attribute(_onehot(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.method = "x"
    assert res.method == "saliency" and res.score.shape == (2,)


def test_large_delta_is_logged_with_sequence_rows(caplog):
    km = _model_l4_multitask()
    with caplog.at_level(logging.WARNING, logger="interpret.attribution"):
        chunks = list(iter_attribute(IntegratedGradients(km, steps=1), _onehot(6, seed=21), chunk_size=4))
    res = chunks[1][1]
    bad = np.flatnonzero(np.abs(res.delta) > 1e-3) + 4
    assert len(bad) and f"rows {', '.join(map(str, bad))}" in caplog.text
