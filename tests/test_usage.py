"""Which first-layer filters build each motif (interpret.attribution.usage): the chain-rule split of DeepSHAP
and gradient x input contributions over the first convolution's filters.

Every number is checked against something independent of the split: the input-level
attributions of :class:`DeepShap` / :class:`GradientXInput` (completeness), planted motifs in a
model whose filters are set by hand (the filter set to a motif must carry it), and a model that
sees a motif only through two half-site filters (both must carry it, although TOMTOM ties
neither to it).
"""

import numpy as np
import pytest

from interpret import filters, simulate
from interpret.motifs import compare
from interpret.attribution.methods import DeepShap, GradientXInput
from interpret.model import Model
from interpret.attribution.usage import filter_contributions, motif_usage

TOL = 1e-5


def _random_windows(rng, n_rows, length, n):
    starts = rng.integers(0, length - 1, n)
    ends = np.minimum(length, starts + rng.integers(1, 20, n))
    return np.stack([rng.integers(0, n_rows, n), starts, ends], axis=1)


def _window_sums(contrib, win):
    c = contrib.sum(-1)
    return np.array([c[r, a:b].sum() for r, a, b in win])


# ------------------------------------------------------------------------------------------
# Completeness: the split adds up to the method's own contributions
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["deepshap", "gradxinput"])
def test_filter_shares_add_up_to_each_windows_contribution(example_model, example_sim, method):
    x = example_sim.x[:12]
    rng = np.random.default_rng(0)
    win = np.concatenate([_random_windows(rng, len(x), x.shape[1], 40), [[3, 0, x.shape[1]]]])
    if method == "deepshap":
        res = DeepShap(example_model).attribute(x, n_references=20, seed=0)
    else:
        res = GradientXInput(example_model).attribute(x)
    fc = filter_contributions(example_model, x, win, method=method, n_references=20, seed=0, batch_size=256)
    assert fc.contrib.shape == (len(win), 32)
    np.testing.assert_allclose(fc.total, _window_sums(res.contrib, win), atol=TOL)
    if method == "deepshap":  # the whole sequence: f(x) - mean f(refs), DeepSHAP's completeness
        assert abs(fc.total[-1] - (res.score[3] - res.ref_score[3])) < TOL
    # many filters share the work: the split is not one filter taking everything
    assert (np.abs(fc.contrib) > 1e-3).sum(axis=1).mean() > 3


def test_per_filter_maps_sum_over_filters_to_the_contrib(example_model, example_sim):
    """Windows of one position: the (L, F) per-filter map of a sequence, summed over filters,
    is its (L,) DeepSHAP contribution, position by position (N positions included)."""
    x = example_sim.x[5:7].copy()
    x[1, 40:43] = 0.0  # N bases contribute nothing, through any filter
    length = x.shape[1]
    win = np.array([(r, i, i + 1) for r in range(2) for i in range(length)])
    maps = filter_contributions(example_model, x, win, seed=3).contrib.reshape(2, length, -1)
    contrib = DeepShap(example_model).attribute(x, seed=3).contrib.sum(-1)
    np.testing.assert_allclose(maps.sum(-1), contrib, atol=TOL)
    assert np.abs(maps[1, 40:43]).max() == 0.0


def _small_model(padding, width, head, seed):
    """Conv1D(6, width) -> [BatchNorm -> Activation(exponential) | ReLU] -> MaxPool(2) ->
    Conv1D(4, 3) -> GlobalMaxPool -> Dense(2), random weights, BN statistics set away from identity."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((40, 4))
    if head == "bn_exp":
        h = keras.layers.Conv1D(6, width, padding=padding)(inp)
        h = keras.layers.BatchNormalization()(h)
        h = keras.layers.Activation("exponential")(h)
    else:
        h = keras.layers.Conv1D(6, width, padding=padding, activation="relu")(inp)
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.Conv1D(4, 3, padding="same", activation="relu")(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    km = keras.Model(inp, keras.layers.Dense(2)(h))
    rng = np.random.default_rng(seed)
    for layer in km.layers:
        if type(layer).__name__ == "BatchNormalization":
            layer.set_weights([rng.uniform(0.5, 1.5, 6), rng.normal(0, 0.3, 6), rng.normal(0, 0.3, 6),
                               rng.uniform(0.5, 2.0, 6)])
        if type(layer).__name__ == "Conv1D" and head == "bn_exp" and layer.kernel.shape[1] == 4:
            layer.set_weights([w * 0.3 for w in layer.get_weights()])  # exp of small values
    return Model.from_keras(km)


@pytest.mark.parametrize("padding,width,head", [("valid", 8, "relu"), ("same", 5, "bn_exp")])
def test_split_is_complete_for_padding_widths_batchnorm_and_exponential(padding, width, head):
    model = _small_model(padding, width, head, seed=width)
    rng = np.random.default_rng(width)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (6, 40))]
    win = np.concatenate([_random_windows(rng, 6, 40, 25), [[0, 0, 40], [5, 0, 3], [5, 37, 40]]])
    res = DeepShap(model, target=1).attribute(x, n_references=8, seed=1)
    fc = filter_contributions(model, x, win, target=1, n_references=8, seed=1)
    np.testing.assert_allclose(fc.total, _window_sums(res.contrib, win), atol=TOL)
    assert np.abs(fc.total).max() > 1e-2  # the windows carry something to split
    g = GradientXInput(model, target=1).attribute(x)
    np.testing.assert_allclose(filter_contributions(model, x, win, method="gradxinput", target=1).total,
                               _window_sums(g.contrib, win), atol=TOL)


def test_conv2d_on_1_l_4_and_the_same_conv1d_give_the_same_shares():
    seq2d = simulate.seed_model(length=60, filters=16, width=11, layout="1L4", seed=4)
    seq1d = simulate.seed_model(length=60, filters=16, width=11, layout="L4", seed=9)
    k, b = seq2d.layers[1].get_weights()
    seq1d.layers[1].set_weights([k[0], b])
    seq1d.layers[-1].set_weights(seq2d.layers[-1].get_weights())
    rng = np.random.default_rng(2)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (5, 60))]
    win = _random_windows(rng, 5, 60, 20)
    a = filter_contributions(seq2d, x, win, seed=2).contrib
    c = filter_contributions(seq1d, x, win, seed=2).contrib
    np.testing.assert_allclose(a, c, atol=TOL)
    assert np.abs(a).max() > 1e-3


# ------------------------------------------------------------------------------------------
# Planted truth
# ------------------------------------------------------------------------------------------
def test_hand_set_pwm_filters_carry_their_own_planted_motif():
    """simulate.pwm_model: filters 2j and 2j + 1 are motif j's PWM on the forward and the reverse
    strand. The planted instances of each motif are carried >= 95% by the pair set to it (CREB1
    is a palindrome, so which of the two carries a site is not asserted)."""
    ids = simulate.EXAMPLE_MOTIFS
    model = simulate.pwm_model(ids)
    sim = simulate.planted(simulate.jaspar_ppms(ids), n=240, frac_positive=1.0, max_per_seq=1, seed=5)
    width = {m: len(p) for m, p in simulate.jaspar_ppms(ids).items()}
    win, motif, strand = [], [], []
    for i, sites in enumerate(sim.sites):
        for mid, start, st in sites:
            win.append((i, start, start + width[mid]))
            motif.append(ids.index(mid))
            strand.append(st)
    win, motif, strand = np.array(win), np.array(motif), np.array(strand)
    c = filter_contributions(model, sim.x, win, seed=0).contrib
    mu = motif_usage(c, motif, ids, [1, 1, 1], strand == "-")
    for j, mid in enumerate(ids):
        assert mu.share[j, 2 * j] + mu.share[j, 2 * j + 1] >= 0.95, (mid, mu.share[j])
        assert set(mu.building(j)) <= {2 * j, 2 * j + 1}, (mid, mu.share[j])


def _partial_model(ppm, length=101):
    """Two half-site filters (log-odds of the motif's halves, each firing within 25% of its best
    score) feed a second layer that fires only when both sit side by side; a third filter is the
    whole motif's PWM but the second layer ignores it (weight 0): it resembles, it does not build."""
    import keras

    w, half = len(ppm), len(ppm) // 2
    lo = np.log2((ppm + 0.01) / 0.26)
    inp = keras.Input((length, 4))
    h = keras.layers.Conv1D(3, w, padding="valid", activation="relu")(inp)
    h = keras.layers.Conv1D(1, half + 1, padding="valid", activation="relu")(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    km = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(h))
    k = np.zeros((w, 4, 3), np.float32)
    k[:half, :, 0], k[:w - half, :, 1], k[:, :, 2] = lo[:half], lo[half:], lo
    best = np.array([lo[:half].max(1).sum(), lo[half:].max(1).sum(), lo.max(1).sum()])
    km.layers[1].set_weights([k, (-0.75 * best).astype(np.float32)])
    k2 = np.zeros((half + 1, 3, 1), np.float32)
    k2[0, 0, 0] = k2[half, 1, 0] = 1.0
    km.layers[2].set_weights([k2, np.array([-0.6 * 0.25 * best[:2].sum()], np.float32)])  # needs both halves
    km.layers[-1].set_weights([np.ones((1, 1), np.float32), np.array([-1.0], np.float32)])
    return Model.from_keras(km)


def test_partial_filters_build_a_motif_that_tomtom_cannot_tie_to_them():
    """ASCL1 (MA1100.3, 8 bp) seen through its two 4-bp E-box halves, as a deeper model sees MAX
    or Yy1 through partial filters. (Crisp halves of MAX and Yy1 themselves are still tied to the
    whole motif by TOMTOM at q 0.005-0.02; the E-box halves are common to so many JASPAR columns
    that they are not, which is what makes them a fair stand-in for the fuzzy partial filters
    of a trained model.)"""
    ppm = simulate.jaspar_ppms(["MA1100.3"])["MA1100.3"]
    model = _partial_model(ppm)
    rng = np.random.default_rng(0)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (300, 101))]
    win = []
    for i in range(150):
        s = int(rng.integers(0, 101 - 12))
        x[i, s:s + 8] = simulate.sample_instance(ppm, rng, "+")
        win.append((i, s, s + 8))
    c = filter_contributions(model, x, np.array(win), seed=0).contrib
    mu = motif_usage(c, np.zeros(len(win), int), ["ascl1"], [1], np.zeros(len(win), bool))
    assert mu.share[0, 0] >= 0.3 and mu.share[0, 1] >= 0.3, mu.share
    assert abs(mu.share[0, 2]) < 1e-6  # the look-alike the model does not use carries nothing
    assert sorted(mu.building(0)) == [0, 1]
    ppms = filters.kernel_logos(model, x, influence=False).ppm
    q = [r["tomtom_q"] for r in compare.compare_sets(list(ppms), [ppm])]
    assert q[0] >= 0.05 and q[1] >= 0.05, q   # neither half resembles the motif ...
    assert q[2] < 0.05, q                       # ... the unused whole-motif filter does


# ------------------------------------------------------------------------------------------
# Per-motif summaries
# ------------------------------------------------------------------------------------------
def test_motif_usage_shares_top3_orientation_and_main_motif_by_hand():
    c = np.array([[3.0, 1.0, 0.0, 0.0],     # motif a (positive), + strand: T = 4
                  [1.0, 1.0, 0.0, 0.0],     # motif a, - strand: T = 2
                  [0.0, 0.0, -2.0, 0.5],    # motif b (negative), +: T = -1.5
                  [0.0, -0.5, -1.0, 0.0]])  # motif b, -: T = -1.5
    mu = motif_usage(c, np.array([0, 0, 1, 1]), ["a", "b"], [1, -1], np.array([False, True, False, True]))
    np.testing.assert_allclose(mu.share, [[4 / 6, 2 / 6, 0, 0], [0, 1 / 6, 1, -1 / 6]])
    np.testing.assert_allclose(mu.share_mean, [[0.625, 0.375, 0, 0], [0, 1 / 6, 1, -1 / 6]])
    np.testing.assert_allclose(mu.mean_contribution, [[2, 1, 0, 0], [0, -0.25, -1.5, 0.25]])
    np.testing.assert_array_equal(mu.n_seqlets, [2, 2])
    assert mu.n_top3[0, 0] == mu.n_top3[1, 2] == 2 and mu.n_top3[0, 1] == 2
    # b on its - seqlet: filter 1 carries 0.5 (0 on +), filter 3 works against it less (0 vs -0.5)
    np.testing.assert_array_equal(mu.reverse, [[False] * 4, [False, True, False, True]])
    np.testing.assert_array_equal(mu.main_motif, [0, 0, 1, -1])  # filter 3 only works against b
    np.testing.assert_allclose(mu.filter_share, np.array([4, 2.5, 3, -0.5]) / 9)
    assert list(mu.building(0)) == [0, 1] and list(mu.building(0, 0.6)) == [0]
    assert list(mu.building(1)) == [2]
