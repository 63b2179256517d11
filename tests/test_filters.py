"""Kernel logos on hand-set first layers: PPM recovery, exact windows, layouts, influence."""

import numpy as np
import pytest

from interpret import simulate
from interpret.filters import information_content, kernel_logos
from interpret.model import Model

L = 40


def _build(kernel, bias, layout="L4", padding="same", activation="relu", dense=None, length=L,
           bn_exp=False, head="global"):
    """conv (kernel (W, 4, F), bias (F,)) -> global max pool -> Dense(1, sigmoid).

    ``head="flatten"``: Flatten -> Dense; ``"pool"``: MaxPooling1D(4) -> Flatten -> Dense
    (Conv1D only); the dense weights are then random (seeded).
    """
    import keras

    kernel = np.asarray(kernel, np.float32)
    w, _, f = kernel.shape
    keras.utils.set_random_seed(0)
    if layout == "L4":
        inp = keras.Input((length, 4))
        conv = keras.layers.Conv1D(f, w, padding=padding, activation=None if bn_exp else activation)
        h = conv(inp)
        k = kernel
    elif layout == "4L":
        inp = keras.Input((4, length))
        conv = keras.layers.Conv1D(f, w, padding=padding, activation=activation, data_format="channels_first")
        h = conv(inp)
        k = kernel
    else:
        inp = keras.Input((1, length, 4))
        conv = keras.layers.Conv2D(f, (1, w), padding=padding, activation=activation)
        h = conv(inp)
        k = kernel[None]
    if bn_exp:
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Activation("exponential")(h)
    if head != "global":
        if head == "pool":
            h = keras.layers.MaxPooling1D(4, padding="same")(h)
        h = keras.layers.Flatten()(h)
        out = keras.layers.Dense(1, activation="sigmoid")(h)
        model = keras.Model(inp, out)
        conv.set_weights([k, np.asarray(bias, np.float32)])
        return Model.from_keras(model)
    if layout == "1L4":
        h = keras.layers.GlobalMaxPooling2D()(h)
    elif layout == "4L":
        h = keras.layers.GlobalMaxPooling1D(data_format="channels_first")(h)
    else:
        h = keras.layers.GlobalMaxPooling1D()(h)
    out_layer = keras.layers.Dense(1, activation="sigmoid")
    out = out_layer(h)
    model = keras.Model(inp, out)
    conv.set_weights([k, np.asarray(bias, np.float32)])
    dense = np.ones(f) if dense is None else np.asarray(dense)
    out_layer.set_weights([dense.reshape(f, 1).astype(np.float32), np.zeros(1, np.float32)])
    return Model.from_keras(model)


def _onehot(seq):
    return np.eye(4, dtype=np.float32)[["ACGT".index(c) for c in seq]]


@pytest.fixture(scope="module")
def cebpb():
    ppm = simulate.jaspar_ppms(["MA0466.4"])["MA0466.4"]
    sim = simulate.planted({"MA0466.4": ppm}, n=300, length=L, seed=0)
    return ppm, sim


def _log_odds(ppm):
    return np.log2((ppm + 0.01) / (1 + 0.04) / 0.25)


def test_planted_pwm_log_odds_filter_recovers_pwm_r_above_0_9(cebpb):
    ppm, sim = cebpb
    lo = _log_odds(ppm)
    kernel = np.stack([lo, -np.ones_like(lo)], axis=2)          # filter 1 never fires
    model = _build(kernel, [-0.5 * lo.max(axis=1).sum(), 0.0])
    res = kernel_logos(model, sim.x)
    r = np.corrcoef(res.ppm[0].ravel(), ppm.ravel())[0, 1]
    assert r > 0.9
    assert res.n_sites[0] >= 100
    top = kernel_logos(model, sim.x, top_k=50, influence=False)
    assert top.n_sites[0] == 50
    assert np.corrcoef(top.ppm[0].ravel(), ppm.ravel())[0, 1] > 0.9
    assert np.isnan(top.threshold) and top.top_k == 50


def test_filter_that_never_fires_gives_zero_sites_and_uniform_ppm(cebpb):
    ppm, sim = cebpb
    lo = _log_odds(ppm)
    kernel = np.stack([lo, -np.ones_like(lo), np.zeros_like(lo)], axis=2)
    model = _build(kernel, [0.0, -1.0, 0.0])
    for top_k in (None, 10):
        res = kernel_logos(model, sim.x, top_k=top_k)
        assert res.n_sites[1] == 0 and res.n_sites[2] == 0
        np.testing.assert_array_equal(res.ppm[1:], 0.25)
        np.testing.assert_allclose(res.ic[1:], 0.0, atol=1e-9)
        assert res.max_activation[1] == 0.0
        assert np.isfinite(res.influence).all()


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kmer", ["GATTACA", "GATTAC"])
def test_kmer_filter_gives_exactly_the_kmer_one_hot(kmer, padding):
    rng = np.random.default_rng(1)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (60, L))]
    starts = [0, L - len(kmer)] + list(rng.integers(0, L - len(kmer) + 1, 58))
    for i, s in enumerate(starts):
        x[i, s:s + len(kmer)] = _onehot(kmer)
    w = len(kmer)
    kernel = _onehot(kmer)[:, :, None] * 2.0 - 1.0                   # +1 match, -1 mismatch
    model = _build(kernel, [-(w - 1.5)])                                # fires (0.5) only on the exact k-mer
    res = kernel_logos(model, x, threshold=0.9, pseudocount=0.0)
    np.testing.assert_array_equal(res.ppm[0], _onehot(kmer))
    assert res.n_sites[0] >= 60


B = [0.25] * 4
G, T = [0, 0, 1, 0], [0, 0, 0, 1]


@pytest.mark.parametrize("layout", ["L4", "1L4"])
@pytest.mark.parametrize("width, padding, column, g_pos, expected", [
    # 'same' pads (W-1)//2 on the left, the rest on the right; padding counts as background
    (5, "same", 2, 0, [B, B, G, T, T]),
    (5, "same", 2, L - 1, [T, T, G, B, B]),
    (6, "same", 2, 0, [B, B, G, T, T, T]),
    (6, "same", 2, L - 1, [T, T, G, B, B, B]),
    (6, "same", 3, L - 1, [T, T, T, G, B, B]),
    (6, "same", 1, 0, [B, G, T, T, T, T]),
    (5, "valid", 2, 2, [T, T, G, T, T]),
    (6, "valid", 5, L - 1, [T, T, T, T, T, G]),
])
def test_window_alignment_exact_with_padding_as_background(layout, width, padding, column, g_pos, expected):
    x = np.zeros((3, L, 4), np.float32)
    x[:, :, 3] = 1                                                      # all T
    x[:, g_pos] = G                                                     # one G
    kernel = np.zeros((width, 4, 1), np.float32)
    kernel[column, 2, 0] = 1.0                                          # fires where the G sits under `column`
    model = _build(kernel, [-0.5], layout=layout, padding=padding)
    res = kernel_logos(model, x, threshold=0.9, pseudocount=0.0, influence=False)
    assert res.n_sites[0] == 3
    np.testing.assert_allclose(res.ppm[0], np.array(expected), atol=1e-7)


def test_conv2d_and_conv1d_models_give_identical_results(cebpb):
    ppm, sim = cebpb
    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(len(ppm), 4, 6)).astype(np.float32)
    kernel[:, :, 0] = _log_odds(ppm)
    bias = np.zeros(6)
    results = [kernel_logos(_build(kernel, bias, layout=lay), sim.x, batch_size=64) for lay in ("L4", "1L4", "4L")]
    for other in results[1:]:
        np.testing.assert_allclose(other.ppm, results[0].ppm, atol=1e-6)
        np.testing.assert_array_equal(other.n_sites, results[0].n_sites)
        np.testing.assert_array_equal(other.weights, results[0].weights)
        np.testing.assert_allclose(other.influence, results[0].influence, atol=1e-4)
    np.testing.assert_array_equal(results[0].weights, np.transpose(kernel, (2, 0, 1)))
    centred = results[0].weight_logo()
    np.testing.assert_allclose(centred.sum(axis=2), 0, atol=1e-6)


def test_results_do_not_depend_on_batch_size(cebpb):
    ppm, sim = cebpb
    rng = np.random.default_rng(2)
    kernel = rng.normal(size=(10, 4, 8)).astype(np.float32)
    model = _build(kernel, np.zeros(8))
    a = kernel_logos(model, sim.x[:100], batch_size=7)
    b = kernel_logos(model, sim.x[:100], batch_size=100)
    np.testing.assert_allclose(a.ppm, b.ppm, atol=1e-9)
    np.testing.assert_allclose(a.influence, b.influence, atol=1e-5)
    np.testing.assert_allclose(a.max_activation, b.max_activation, rtol=1e-6)


def test_influence_ignored_filter_zero_important_first_and_equals_brute_force(cebpb):
    ppm, sim = cebpb
    gata = simulate.jaspar_ppms(["MA0035.5"])["MA0035.5"]
    lo = _log_odds(ppm)
    lo_g = np.zeros_like(lo)
    lo_g[:len(gata)] = _log_odds(gata)[:len(lo)]
    rng = np.random.default_rng(3)
    kernel = np.stack([lo, lo_g, 0.3 * rng.normal(size=lo.shape)], axis=2).astype(np.float32)
    bias = [-0.5 * lo.max(axis=1).sum(), 0.0, 0.0]
    model = _build(kernel, bias, dense=[1.0, 0.0, 0.2])
    res = kernel_logos(model, sim.x)
    assert abs(res.influence[1]) < 1e-6                                   # the dense layer ignores filter 1
    assert res.influence_rank()[0] == 1
    assert res.influence[0] > 0.5
    # Second implementation: set the filter's kernel to 0 and its bias to its mean activation.
    base = model.predict(sim.x, target=0)
    for f in (0, 2):
        k2, b2 = kernel.copy(), np.array(bias, np.float32)
        k2[:, :, f] = 0
        b2[f] = res.mean_activation[f]
        ablated = _build(k2, b2, dense=[1.0, 0.0, 0.2]).predict(sim.x, target=0)
        assert res.influence[f] == pytest.approx(float(np.mean(base - ablated)), abs=1e-4)


def test_512_exponential_filters_behind_batchnorm(cebpb):
    ppm, sim = cebpb
    rng = np.random.default_rng(4)
    kernel = (0.3 * rng.normal(size=(19, 4, 512))).astype(np.float32)
    model = _build(kernel, np.zeros(512), bn_exp=True)
    res = kernel_logos(model, sim.x[:200], batch_size=128)
    assert res.activation_layer.startswith("activation")
    assert res.ppm.shape == (512, 19, 4) and res.weights.shape == (512, 19, 4)
    assert np.isfinite(res.influence).all() and np.isfinite(res.ppm).all()
    assert (res.n_sites > 0).all()
    np.testing.assert_allclose(res.ppm.sum(axis=2), 1.0, atol=1e-9)
    np.testing.assert_allclose(res.ic, information_content(res.ppm).sum(axis=1))


def test_bad_input_raises_input_error(cebpb):
    from interpret.errors import InputError

    ppm, sim = cebpb
    model = _build(np.ones((5, 4, 1)), [0.0])
    with pytest.raises(InputError):
        kernel_logos(model, sim.x[:, :30])
    with pytest.raises(InputError):
        kernel_logos(model, sim.x, threshold=0)


@pytest.mark.parametrize("head", ["flatten", "pool"])
def test_influence_equals_brute_force_behind_flatten_and_pooling(cebpb, head):
    ppm, sim = cebpb
    rng = np.random.default_rng(6)
    kernel = rng.normal(size=(8, 4, 5)).astype(np.float32)
    bias = np.zeros(5, np.float32)
    model = _build(kernel, bias, head=head)
    res = kernel_logos(model, sim.x[:80], batch_size=32)
    base = model.predict(sim.x[:80], target=0)
    weights = model.keras_model.get_weights()
    for f in range(5):
        k2, b2 = kernel.copy(), bias.copy()
        k2[:, :, f] = 0
        b2[f] = res.mean_activation[f]
        other = _build(k2, b2, head=head)
        other.keras_model.set_weights([k2, b2] + weights[2:])
        ablated = other.predict(sim.x[:80], target=0)
        assert res.influence[f] == pytest.approx(float(np.mean(base - ablated)), abs=1e-4)
