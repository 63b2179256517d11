"""The models people train besides the seed's: a DanQ-like recurrent model and a Koo-style
exponential-activation CNN give clean motif lists: one family per motif the model uses, trimmed
to its core, named, with the small clusters folded away (issue #16).

Both models read the seed-like planted data (``simulate.arch_data``: SOX2, REST and SP1 in random
101-bp background) through a first layer set to the three motifs' PWMs and a head trained on
400 sequences, so the motifs they can use are known. DeepSHAP has no rule for the LSTM: the
DanQ-like model is explained with integrated gradients, the Koo-style one with DeepSHAP.
"""

import numpy as np
import pytest

from interpret import io, simulate
from interpret.motifs import compare, modisco
from interpret.attribution.methods import DeepShap, IntegratedGradients
from interpret.model import Model

SOX2, REST, SP1 = simulate.ARCH_MOTIFS
# the planted motif's width, and the narrowest and widest trimmed core accepted for it
WIDTHS = {SOX2: (7, 6, 10), REST: (20, 12, 22), SP1: (9, 8, 12)}


@pytest.fixture(scope="module")
def arch_sim():
    return simulate.arch_data(n=400, seed=1)


def _families(model, method, sim):
    pos = np.flatnonzero(sim.y > 0.5)
    x = sim.x[pos]
    if method == "ig":
        hyp = IntegratedGradients(model, target=0).attribute(x).hypothetical
    else:
        hyp = DeepShap(model, target=0).attribute(x, n_references=10, seed=0).hypothetical
    res = modisco.discover(x, hyp, pos, method=method)
    fams = modisco.group_families(res.patterns, x, hyp, pos)
    names = compare.match_to_db([f.ppm for f in fams], io.load_motif_db())
    return res, fams, names, modisco.fold_minor(fams)


@pytest.fixture(scope="module")
def danq_run(arch_sim):
    km = simulate.danq_model()
    simulate.train(km, arch_sim.x, arch_sim.y, epochs=6, batch_size=64, seed=0)
    return _families(Model.from_keras(km), "ig", arch_sim)


@pytest.fixture(scope="module")
def koo_run(arch_sim):
    km = simulate.koo_model()
    simulate.train(km, arch_sim.x, arch_sim.y, epochs=15, batch_size=64, seed=0)
    return _families(Model.from_keras(km), "deepshap", arch_sim)


def _planted_id(match):
    """The planted motif a significant JASPAR match names: its own id, or any SOX for SOX2 (TOMTOM
    picks among the SOX family's near-identical ACAAT matrices by column strengths alone)."""
    if not match.significant:
        return None
    if match.id in WIDTHS:
        return match.id
    return SOX2 if match.name.upper().startswith("SOX") else match.id


def test_first_layers_scan_for_the_planted_pwms():
    kernel, bias, labels = simulate.pwm_kernel(simulate.ARCH_MOTIFS, 15, 32)
    # REST (20 bp) is covered by two overlapping 15-column pieces; the rest of the filters are zero
    assert labels == [f"{SOX2}[0:7]+", f"{SOX2}[0:7]-", f"{REST}[0:15]+", f"{REST}[0:15]-", f"{REST}[5:20]+",
                      f"{REST}[5:20]-", f"{SP1}[0:9]+", f"{SP1}[0:9]-"]
    assert not kernel[:, :, len(labels):].any() and not bias[len(labels):].any()
    rest = np.log2((simulate.jaspar_ppms([REST])[REST] + 0.01) / 0.26)
    np.testing.assert_allclose(kernel[:, :, 4], rest[5:20])
    np.testing.assert_allclose(kernel[:, :, 5], rest[5:20][::-1, ::-1])
    assert bias[4] == pytest.approx(-0.5 * rest[5:20].max(1).sum())


@pytest.mark.parametrize("run", ["danq_run", "koo_run"])
def test_one_named_trimmed_family_per_planted_motif(run, request):
    res, fams, names, minor = request.getfixturevalue(run)
    main = [(f, m) for f, m in zip(fams, names) if not minor[f.id]]
    found = {_planted_id(m): f for f, m in main}
    detail = [(f.id, f.members, f.n_seqlets, len(f.ppm), m.name, m.q) for f, m in zip(fams, names)]
    assert len(main) == 3 and set(found) == set(WIDTHS), detail
    for mid, fam in found.items():
        _, lo, hi = WIDTHS[mid]
        assert fam.sign > 0 and lo <= len(fam.ppm) <= hi, (mid, len(fam.ppm), detail)
    # every pattern was trimmed below modisco-lite's 30-bp window
    window = res.settings.trim_to_window_size + 2 * res.settings.initial_flank_to_add
    assert all(p.trim_end - p.trim_start < window for p in res.patterns)


@pytest.mark.parametrize("run", ["danq_run", "koo_run"])
def test_every_pattern_is_in_one_family_and_small_ones_are_folded(run, request):
    res, fams, _, minor = request.getfixturevalue(run)
    members = [m for f in fams for m in f.members]
    assert sorted(members) == sorted(p.id for p in res.patterns)
    for f in fams:
        assert bool(minor[f.id]) == (f.n_seqlets < modisco.MIN_FAMILY_SEQLETS)
