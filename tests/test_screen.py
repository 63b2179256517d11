"""Evidence for every claim: sequence edits, paired statistics, the known-motif screen and the
effect sizes of a run's own motifs and filters, checked against numbers worked out from the
weights (``simulate.pwm_model``) and against planted truth (``example_model``, ``peaks_model``)."""

import re

import numpy as np
import pytest
from scipy import stats as st

from interpret import io, simulate, stats
from interpret.evidence import edits, effects, screen
from interpret.errors import InputError

CTCF, CREB1, FOXA2 = "MA0139.2", "MA0018.5", "MA0047.4"
# The bZIP family (CEBPB is one, CREB1 another: CRE and AP-1 sites share the TGAC half site) and CTCF.
PLANTED_FAMILIES = re.compile(r"^(CEBP|CTCF|ATF|Atf|CREB|Creb|CREM|JUN|Jun|FOS|Fos|JDP|BATF|Batf|BACH|Bach|TEF|DBP|"
                              r"HLF|NFIL3|XBP)")


@pytest.fixture(scope="module")
def jaspar():
    return {m.id: m for m in io.load_motif_db()}


@pytest.fixture(scope="module")
def pwm():
    """CTCF and CREB1 log-odds PWMs as filters (both strands), a dense layer weighing all alike."""
    return simulate.pwm_model([CTCF, CREB1])


@pytest.fixture(scope="module")
def logit(pwm_logits):
    """The pwm model's logit (output 0) from its weights (conftest's ``pwm_logits``)."""
    return lambda model, x: pwm_logits(model, x)[:, 0]


# ------------------------------------------------------------------------------------------------
# edits and stats
# ------------------------------------------------------------------------------------------------
def test_edits_return_new_arrays_and_keep_what_they_promise():
    rng = np.random.default_rng(1)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (6, 40))]
    before = x.copy()
    ppm = np.array([[0.7, 0.1, 0.1, 0.1], [0, 0, 1, 0], [0.25, 0.25, 0.25, 0.25]])
    y = edits.insert(x, edits.consensus(ppm), 5)
    assert (y[:, 5:8].argmax(-1) == [0, 2, 0]).all() and (y[:, :5] == x[:, :5]).all() and (y[:, 8:] == x[:, 8:]).all()
    np.testing.assert_array_equal(edits.reverse_complement(edits.consensus(ppm)).argmax(-1), [3, 1, 3])
    sampled = edits.sample_instances(ppm, 20000, np.random.default_rng(0))
    np.testing.assert_allclose(sampled.mean(axis=0), ppm, atol=0.015)
    shuffled = edits.shuffle_spans(x, [0, 4], [3, 30], [12, 40], n=5, seed=0)          # (2, 5, 40, 4)
    for s, (r, a, b) in enumerate([(0, 3, 12), (4, 30, 40)]):
        assert (shuffled[s, :, :a] == x[r, :a]).all() and (shuffled[s, :, b:] == x[r, b:]).all()
        np.testing.assert_array_equal(shuffled[s, :, a:b].sum(axis=1), np.repeat(x[r, a:b].sum(0)[None], 5, 0))
    bg = edits.backgrounds(x, 9, seed=2)
    rows = np.resize(np.random.default_rng(2).permutation(6), 9)
    from interpret.attribution.shuffle import dinucleotide_counts

    np.testing.assert_array_equal(dinucleotide_counts(bg), dinucleotide_counts(x[rows]))
    assert len({b.tobytes() for b in bg}) == 9                           # rows used twice get two shuffles
    ctrl = edits.gc_matched(12, np.arange(13), np.random.default_rng(3))
    np.testing.assert_array_equal(ctrl[..., 1:3].sum(axis=(1, 2)), np.arange(13))
    np.testing.assert_array_equal(edits.insertion_starts(101, 10, 1), [45])
    np.testing.assert_array_equal(edits.insertion_starts(101, 11, 3), [22, 45, 68])
    np.testing.assert_array_equal(x, before)
    with pytest.raises(InputError, match="at least 2"):
        edits.backgrounds(x, 1)


def test_paired_effects_equal_scipys_t_test_and_bh_equals_the_hand_computed_q():
    rng = np.random.default_rng(4)
    d = rng.normal(0.3, 1.0, size=(5, 40))
    e = stats.paired_effects(d)
    ref = st.ttest_1samp(d, 0.0, axis=1)
    np.testing.assert_allclose(e.z, ref.statistic, rtol=1e-12)
    np.testing.assert_allclose(e.p, ref.pvalue, rtol=1e-10)
    np.testing.assert_allclose(e.se, d.std(axis=1, ddof=1) / np.sqrt(40), rtol=1e-12)
    zero = stats.paired_effects(np.zeros((1, 10)))
    assert zero.mean[0] == 0 and zero.z[0] == 0 and zero.p[0] == 1
    # p = 0.01, 0.04, 0.03, 0.2 -> sorted q: 0.04, min(0.06, 0.0533), 0.0533, 0.2
    np.testing.assert_allclose(stats.bh([0.01, 0.04, 0.03, 0.2]), [0.04, 0.16 / 3, 0.16 / 3, 0.2])
    np.testing.assert_array_equal(stats.responds([0.01, 0.01, 0.2, np.nan], [0.5, 0.1, 3.0, 1.0]),
                                  [True, False, False, False])


# ------------------------------------------------------------------------------------------------
# Hand-set weights: effects worked out from the weights
# ------------------------------------------------------------------------------------------------
def test_consensus_insertion_effect_equals_the_value_worked_out_from_the_weights(pwm, at_backgrounds, jaspar, logit):
    ppms = [jaspar[CTCF].ppm, jaspar[CREB1].ppm]
    res = screen.insertion_effects(pwm, at_backgrounds, ppms, seed=0)
    n_cons = res.consensus.shape[1]
    for j, ppm in enumerate(ppms):
        cons = edits.consensus(ppm)
        start = (101 - len(cons)) // 2
        seqs = np.stack([edits.insert(at_backgrounds[c:c + 1], edits.reverse_complement(cons) if c % 2 else cons,
                                      start)[0] for c in range(n_cons)])
        np.testing.assert_allclose(res.consensus[j], logit(pwm, seqs), atol=1e-5)
    # no filter fires on A/T backgrounds or their GC-matched controls: every control scores the dense bias
    np.testing.assert_allclose(res.consensus_control, -3.0, atol=1e-6)
    # CTCF's forward filter scores its consensus at sum(max log-odds) + bias = half that sum; nothing else fires
    lo = np.log2((jaspar[CTCF].ppm + 0.01) / 0.26)
    assert res.consensus_delta[0] == pytest.approx(0.2 * 0.5 * lo.max(axis=1).sum(), abs=1e-5)
    # sampled instances, through the same bookkeeping
    reverse, _ = screen.design(len(at_backgrounds), 1)
    inst = edits.sample_instances(ppms[0], len(at_backgrounds), edits.motif_seed(0, ppms[0]))
    inst[reverse] = edits.reverse_complement(inst[reverse])
    want = logit(pwm, edits.insert(at_backgrounds, inst, (101 - len(inst[0])) // 2))
    np.testing.assert_allclose(res.with_instance[0], want, atol=1e-5)
    assert res.effects.mean[0] > 0.5 and res.effects.p[0] < 1e-4


def test_screen_positions_spread_the_instances_over_k_points(pwm, at_backgrounds, jaspar, logit):
    ppm = jaspar[CTCF].ppm
    res = screen.insertion_effects(pwm, at_backgrounds, [ppm], positions=3, seed=0, consensus=False)
    starts = edits.insertion_starts(101, len(ppm), 3)
    np.testing.assert_array_equal(res.starts[len(ppm)], starts)
    np.testing.assert_array_equal(res.position, (np.arange(20) // 2) % 3)
    inst = edits.sample_instances(ppm, 20, edits.motif_seed(0, ppm))
    inst[res.reverse] = edits.reverse_complement(inst[res.reverse])
    want = logit(pwm, edits.insert(at_backgrounds, inst, starts[res.position]))
    np.testing.assert_allclose(res.with_instance[0], want, atol=1e-5)


def test_a_motif_no_filter_detects_has_effect_zero(pwm, at_backgrounds, jaspar):
    res = screen.screen(pwm, at_backgrounds, [jaspar[CTCF], jaspar[FOXA2]], seed=0)
    foxa2 = {r["id"]: r for r in res.rows()}[FOXA2]
    assert foxa2["mean_delta"] == 0 and foxa2["se"] == 0 and foxa2["consensus_delta"] == 0
    assert foxa2["p"] == 1 and foxa2["q"] == 1 and not foxa2["effect_significant"]
    assert res.rows()[0]["id"] == CTCF and res.rows()[0]["effect_significant"]


def test_ablation_and_insertion_effects_of_the_runs_own_motifs_and_filters(pwm, at_backgrounds, jaspar):
    """CTCF consensus planted in A/T sequences (rows 1000+ of the user's data): shuffling it away
    drops the logit by what its filter adds, 0.1 x sum of its max log-odds; a FOXA2 pattern on
    A/T spans is ignored."""
    from types import SimpleNamespace

    rng = np.random.default_rng(5)
    x = np.eye(4, dtype=np.float32)[rng.choice([0, 3], size=(12, 101))]
    cons = edits.consensus(jaspar[CTCF].ppm)
    starts = rng.integers(0, 101 - len(cons), 12)
    x = np.stack([edits.insert(x[i:i + 1], cons, s)[0] for i, s in enumerate(starts)])
    index = np.arange(12) + 1000

    def pattern(pid, ppm, spans):
        return SimpleNamespace(id=pid, ppm=ppm, seqlets=[SimpleNamespace(seq_index=1000 + i, start=a, end=b)
                                                         for i, (a, b) in enumerate(spans)])

    ctcf = pattern("p_ctcf", jaspar[CTCF].ppm, [(s, s + len(cons)) for s in starts])
    foxa2 = pattern("p_foxa2", jaspar[FOXA2].ppm, [((s + 40) % 90, (s + 40) % 90 + 8) for s in starts])
    me = effects.motif_effects(pwm, x, index, [ctcf, foxa2], at_backgrounds, seed=0)
    lo = np.log2((jaspar[CTCF].ppm + 0.01) / 0.26)
    assert me.ablation.mean[0] == pytest.approx(0.1 * lo.max(axis=1).sum(), abs=1e-5)
    assert me.ablation.n[0] == 12 and me.significant.tolist() == [True, False]
    # float32 round-off between batches of different sizes, nothing more
    assert abs(me.ablation.mean[1]) < 1e-6 and me.insertion.effects.mean[1] == 0
    rows = me.rows()
    assert set(rows["p_ctcf"]) == set(effects.MOTIF_COLUMNS)
    fe = effects.filter_effects(pwm, at_backgrounds, np.stack([np.full((24, 4), 0.25), _padded(jaspar[CTCF].ppm)]),
                                [0, 30], seed=0)
    assert np.isnan(fe.effects.mean[0]) and not fe.significant[0]
    assert fe.effects.mean[1] > 0.5 and fe.significant[1]


def _padded(ppm):
    """A PPM centred in a 24-bp window of uniform columns, as a 24-bp filter's activation PPM would be."""
    out = np.full((24, 4), 0.25)
    off = (24 - len(ppm)) // 2
    out[off:off + len(ppm)] = ppm / ppm.sum(axis=1, keepdims=True)
    return out


# ------------------------------------------------------------------------------------------------
# Sequential screen: stopping early, against the full screen
# ------------------------------------------------------------------------------------------------
def test_the_stopping_rule_contradicts_the_full_test_at_its_error_rate():
    """Normal differences, 20,000 tests of 100 each, every test's full mean set exactly at the floor
    (just under it): a look after 10 settles "no response" ("responds") in error / 2 of them, the
    chance that the prediction interval misses the full mean on that side; clear cases are settled."""
    rng = np.random.default_rng(7)
    error, floor = 0.05, stats.min_effect()
    for sd, full_mean, side in ((0.1, floor, -1), (0.1, floor - 1e-9, 1)):
        d = rng.normal(0.0, sd, size=(20000, 100))
        d += full_mean - d.mean(axis=1, keepdims=True)
        decided = stats.settled(stats.paired_effects(d[:, :10]), 100, 1, error=error)
        assert 0.021 < (decided == side).mean() < 0.029, (side, (decided == side).mean())
    for mu, sd, side in ((0.0, 0.2, -1), (0.8, 0.5, 1)):
        d = rng.normal(mu, sd, size=(20000, 10))
        assert (stats.settled(stats.paired_effects(d), 100, 20, error=error) == side).mean() > 0.5
    # exactly zero every time: settled as no response; p must clear Bonferroni over the family to respond
    zero = stats.paired_effects(np.zeros((1, 10)))
    assert stats.settled(zero, 100, 1000).tolist() == [-1]
    strong = stats.Effects(np.array([1.0]), np.array([0.1]), np.array([10.0]), np.array([1e-3]), np.array([10]))
    assert stats.settled(strong, 100, 10).tolist() == [1] and stats.settled(strong, 100, 1000).tolist() == [0]


@pytest.fixture(scope="module")
def at40():
    """40 shuffles of A/T-only sequences (as ``at_backgrounds``): looks after 10, 12, 16, ..., 40."""
    rng = np.random.default_rng(0)
    return edits.backgrounds(np.eye(4, dtype=np.float32)[rng.choice([0, 3], size=(50, 101))], 40, seed=0)


@pytest.fixture(scope="module")
def small_db(jaspar):
    """CTCF and CREB1 (the pwm model's own), FOXA2 (nothing fires), ATF3 (CRE, a strong response),
    CTCF MA1929.2 (0.21 on the pwm model: at the floor) and CREB1 with its columns half flattened."""
    blurred = io.Motif("CREB1_blurred", 0.5 * jaspar[CREB1].ppm + 0.125, "CREB1_blurred", 10)
    return [jaspar[i] for i in (CTCF, CREB1, FOXA2, "MA0605.3", "MA1929.2")] + [blurred]


def test_sequential_screen_stops_clear_motifs_early_and_decides_as_the_full_screen(pwm, at40, small_db):
    full = screen.screen(pwm, at40, small_db, seed=0, sequential=False)
    seq = screen.screen(pwm, at40, small_db, seed=0)
    np.testing.assert_array_equal(screen.stages(40), [10, 12, 16, 20, 24, 28, 32, 36, 40])
    by_full = {r["id"]: r for r in full.rows()}
    by_seq = {r["id"]: r for r in seq.rows()}
    assert all(r["n_backgrounds"] == 40 for r in full.rows())
    # the planted CTCF stops early and responds; FOXA2, which no filter sees, stops at the first look
    assert by_seq[CTCF]["n_backgrounds"] < 40 and by_seq[CTCF]["effect_significant"]
    assert by_seq[FOXA2]["n_backgrounds"] == 10 and not by_seq[FOXA2]["effect_significant"]
    # every decision (and sign) is the full screen's
    for mid, r in by_full.items():
        assert (r["effect_significant"], np.sign(r["mean_delta"])) == (by_seq[mid]["effect_significant"],
                                                                    np.sign(by_seq[mid]["mean_delta"])), mid
    # the motif at the floor runs to the end and gets the full screen's numbers
    edge = by_seq["MA1929.2"]
    assert edge["n_backgrounds"] == 40 and edge["effect_significant"]
    # (its consensus rows ran in batches of other sizes: float32 round-off, nothing more)
    same = by_full["MA1929.2"]
    assert {k: v for k, v in edge.items() if k != "consensus_delta"} == {k: v for k, v in same.items()
                                                                        if k != "consensus_delta"}
    assert edge["consensus_delta"] == pytest.approx(same["consensus_delta"], abs=1e-6)
    # a stopped motif's numbers are those of its first n backgrounds
    n = by_seq[CTCF]["n_backgrounds"]
    i = [m.id for m in small_db].index(CTCF)
    d = full.insertion.deltas[i, :n]
    assert by_seq[CTCF]["mean_delta"] == pytest.approx(d.mean()) and by_seq[CTCF]["se"] == pytest.approx(
        d.std(ddof=1) / np.sqrt(n))
    assert np.isnan(seq.insertion.with_instance[i, n:]).all()
    assert seq.insertion.forward_passes < 0.8 * full.insertion.forward_passes
    assert full.insertion.forward_passes == full.insertion.forward_passes_full == seq.insertion.forward_passes_full


def test_the_consensus_guard_keeps_a_rare_response_from_stopping_as_none(pwm, at40, jaspar):
    """CREB1 with its columns a fifth flattened, instances drawn with seed 3: none of the first 10
    fires the CREB1 filter (ten zeros, SE 0: the interval alone settles "no response"), yet a
    quarter of all 40 do and the full screen calls a response; its consensus fires, so the motif
    goes on and both screens agree."""
    blurred = io.Motif("CREB1_blurred", 0.78 * jaspar[CREB1].ppm + (1 - 0.78) * 0.25, "CREB1_blurred", 10)
    full = screen.screen(pwm, at40, [blurred], seed=3, sequential=False)
    seq = screen.screen(pwm, at40, [blurred], seed=3)
    first = stats.paired_effects(full.insertion.deltas[:, :10])
    assert first.mean[0] == 0 and first.se[0] == 0 and stats.settled(first, 40, 1).tolist() == [-1]
    assert full.significant[0] and seq.significant[0] and seq.insertion.effects.n[0] > 10
    assert seq.insertion.consensus_delta[0] > 1


# ------------------------------------------------------------------------------------------------
# Trained models: planted truth
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def example_screen(example_model, example_sim):
    x = example_sim.x[example_sim.y > 0.5]
    return screen.screen(example_model, edits.backgrounds(x, 100, seed=0), io.load_motif_db(), seed=0)


def test_planted_families_top_the_screen_and_the_decoy_is_not_a_response(example_screen):
    rows = example_screen.rows()
    top = [r["name"] for r in rows[:20]]
    assert all(PLANTED_FAMILIES.match(n) for n in top), top
    rank = {r["id"]: k for k, r in enumerate(rows)}
    assert rank["MA0466.4"] < 3 and rank[CTCF] < 10                          # CEBPB, CTCF themselves
    by_id = {r["id"]: r for r in rows}
    assert all(by_id[i]["effect_significant"] and by_id[i]["mean_delta"] > 1 for i in simulate.EXAMPLE_MOTIFS)
    assert not by_id[FOXA2]["effect_significant"] and abs(by_id[FOXA2]["mean_delta"]) < stats.min_effect()


def test_same_seed_gives_the_same_screen_byte_for_byte(example_model, example_sim, tmp_path):
    x = example_sim.x[example_sim.y > 0.5]
    db = io.load_motif_db()[::20]
    paths = []
    for k, seed in enumerate((3, 3, 4)):
        res = screen.screen(example_model, edits.backgrounds(x, 30, seed=seed), db, seed=seed)
        paths.append(tmp_path / f"screen_{k}.tsv")
        io.write_tsv(paths[-1], res.rows(), screen.COLUMNS)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()


def test_peaks_like_screen_shows_tp53_and_maf_and_ignores_pou5f1_sox2(peaks_model, peaks_sim):
    """Real-peak-like data: TP53 (co-factor) and the MAF family (weak and half sites) are
    responses; Pou5f1::Sox2, planted in both classes, is not a positive one; GC-rich database
    motifs do not ride on the model's GC preference."""
    x = peaks_sim.x[peaks_sim.y > 0.5]
    keep = {simulate.PEAKS_MOTIF, simulate.PEAKS_COFACTOR, simulate.PEAKS_IGNORED}
    db = [m for k, m in enumerate(io.load_motif_db()) if k % 4 == 0 or m.id in keep or m.name == "SP1"
          or re.match(r"^(MAF|Maf|TP[567])", m.name)]                       # a quarter of JASPAR, for time
    res = screen.screen(peaks_model, edits.backgrounds(x, 100, seed=0), db, seed=0)
    rows = res.rows()
    by_id = {r["id"]: r for r in rows}
    assert rows[0]["id"] == simulate.PEAKS_COFACTOR
    maf = [r for r in rows[:30] if re.match(r"^(MAF|Maf|Bach1::Mafk|MAF::NFE2)", r["name"]) and r["effect_significant"]]
    assert by_id[simulate.PEAKS_MOTIF]["effect_significant"] and maf, [r["name"] for r in rows[:30]]
    ignored = by_id[simulate.PEAKS_IGNORED]
    assert not (ignored["effect_significant"] and ignored["mean_delta"] > 0)
    sp1 = next(r for r in rows if r["name"] == "SP1")
    assert sp1["raw_delta"] > 1 and not sp1["effect_significant"]             # the GC mirage, removed


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------
def test_bad_screen_options_are_one_line_errors(tmp_path, capsys):
    from interpret.cli import main

    km = simulate.seed_model(filters=4, width=5, layout="L4", seed=0)
    km.save(tmp_path / "m.keras")
    np.savez(tmp_path / "d.npz", x=np.eye(4, dtype=np.float32)[np.random.default_rng(0).integers(0, 4, (20, 101))])
    wide = tmp_path / "wide.meme"
    io.write_meme(wide, [io.Motif("WIDE1", np.full((120, 4), 0.25), "too_wide", 10)])
    cases = [(["--screen-backgrounds", "1"], "--screen-backgrounds must be an integer of at least 2"),
             (["--screen-positions", "0"], "--screen-positions must be an integer of at least 1"),
             (["--motif-db", str(wide)], "motif WIDE1 is 120 bp, wider than the 101-bp sequences")]
    for args, message in cases:
        out = tmp_path / "out"
        code = main(["run", str(tmp_path / "m.keras"), str(tmp_path / "d.npz"), "--out", str(out), "-q", *args])
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert code == 2 and len(err) == 1 and message in err[0], (args, err)
        assert not out.exists()
