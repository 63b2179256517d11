"""Shared fixtures: tiny planted-motif data and models trained once per session."""

import os
from pathlib import Path

import pytest

# TensorFlow turns its oneDNN CPU kernels on by default on some x86 CPUs only (on for the Intel Xeon
# these tests were written on, off for an AMD EPYC). Without them it cannot run a channels-first
# convolution on the CPU, and its floats differ in the last bits, enough to change the peaks-like
# screen test's call on the GC-run SP1 effect (README, "Troubleshooting"). The suite runs one kernel
# library on every CPU: set before anything imports TensorFlow, and inherited by the CLI children.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

# What `interpret run` does first (interpret.jit.start): a fork-safe numba threading layer, so
# modisco-lite forks its workers in the tests as it does in a run, whichever test starts numba first.
from interpret.motifs import modisco  # noqa: E402

modisco.use_forksafe_layer()


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """../shared beside the project root; the tests that need it fail (never skip) without it."""
    if not (SHARED / "crosscheck" / "crosscheck.npz").exists():
        pytest.fail(f"{SHARED}/crosscheck is missing: these tests need ../shared beside the project root")
    return SHARED


@pytest.fixture(scope="session")
def example_sim():
    """4,000 x 101 bp: CREB1, CEBPB, CTCF predictive (about 2,000 positives), FOXA2 decoy."""
    from interpret import simulate

    return simulate.example(n=4000, seed=1)


@pytest.fixture(scope="session")
def example_model(example_sim):
    """The seed's Conv2D (1, L, 4) model with 32 filters, trained on ``example_sim``."""
    from interpret import simulate
    from interpret.model import Model

    km = simulate.seed_model(filters=32, width=24, layout="1L4", seed=0)
    simulate.train(km, example_sim.x, example_sim.y, epochs=20, seed=0)
    return Model.from_keras(km)


@pytest.fixture(scope="session")
def peaks_sim():
    """4,000 x 200 bp shaped like real peaks (``simulate.peaks_like``): GC-biased, CpG-depleted
    background, GC-rich stretches in 30% of positives, weak and half MAFK instances, a TP53
    co-factor, and Pou5f1::Sox2 in both classes alike."""
    from interpret import simulate

    return simulate.peaks_like(n=4000, length=200, seed=1)


@pytest.fixture(scope="session")
def peaks_model(peaks_sim):
    """``simulate.pooled_model`` (Conv-MaxPool-Conv-GlobalMax, 200 bp) trained 30 epochs on
    ``peaks_sim`` (about 12 s). Measured: scrambling its instances lowers the logit by 4.8 for
    the GC stretches, 3.7 for TP53, 0.84 for MAFK, 0.26 for half MAFK sites, and raises it by 0.46
    for Pou5f1::Sox2 (AT-rich, like the negatives' background)."""
    from interpret import simulate
    from interpret.model import Model

    km = simulate.pooled_model(200, 1, seed=0)
    simulate.train(km, peaks_sim.x, peaks_sim.y, epochs=30, seed=0)
    return Model.from_keras(km)


@pytest.fixture(scope="session")
def at_backgrounds():
    """20 shuffles of A/T-only sequences: no filter of ``simulate.pwm_model`` (CTCF, CREB1) fires
    anywhere in them, nor in their GC-matched controls."""
    import numpy as np

    from interpret.evidence import edits

    rng = np.random.default_rng(0)
    return edits.backgrounds(np.eye(4, dtype=np.float32)[rng.choice([0, 3], size=(50, 101))], 20, seed=0)


def _pwm_logits(model, x):
    """Every output's logit of a ``simulate.pwm_model``, ``(N, T)``, worked out with numpy from its
    weights: 'same' convolution, ReLU, max over positions, dense layer."""
    import numpy as np

    km = model.keras_model
    conv = next(l for l in km.layers if type(l).__name__ == "Conv2D")
    kernel, bias = (np.asarray(w, np.float64) for w in conv.get_weights())
    dense_w, dense_b = (np.asarray(w, np.float64) for w in km.layers[-1].get_weights())
    kernel = kernel[0]                                                   # (W, 4, F)
    width = len(kernel)
    xp = np.pad(x.astype(np.float64), ((0, 0), ((width - 1) // 2, width // 2), (0, 0)))
    windows = np.stack([xp[:, j:j + x.shape[1]] for j in range(width)], axis=2)   # (N, L, W, 4)
    act = np.maximum(np.einsum("nlwc,wcf->nlf", windows, kernel) + bias, 0).max(axis=1)
    return act @ dense_w + dense_b


@pytest.fixture(scope="session")
def pwm_logits():
    """:func:`_pwm_logits`: a ``simulate.pwm_model``'s logits from its weights, ``(N, T)``."""
    return _pwm_logits
