"""Across outputs, runs and planted truth: the motif x output matrix against numbers worked out from
the weights, families matched across sources, the compare table, the interpretability AUROC against
scikit-learn, and the two forms of a truth file."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, auc, precision_recall_curve, roc_auc_score

from interpret import io, simulate, stats
from interpret.errors import InputError
from interpret.evidence import across, edits, screen, truth

CTCF, CREB1, CEBPB = "MA0139.2", "MA0018.5", "MA0466.4"
WEIGHTS = np.array([[0.3, 0.0], [0.1, 0.25]])     # motif x output: CTCF -> output 0 only, CREB1 -> both
BIAS = np.array([-3.0, -1.0])


@pytest.fixture(scope="module")
def jaspar():
    return {m.id: m for m in io.load_motif_db()}


@pytest.fixture(scope="module")
def two_outputs():
    """CTCF and CREB1 log-odds PWMs as filters (both strands); two outputs weighing them by WEIGHTS."""
    return simulate.pwm_model([CTCF, CREB1], weights=WEIGHTS, bias=BIAS)




# ------------------------------------------------------------------------------------------------
# motif x output
# ------------------------------------------------------------------------------------------------
def test_motif_output_matrix_equals_the_values_worked_out_from_the_weights(two_outputs, at_backgrounds, jaspar,
                                                                          pwm_logits):
    bg = at_backgrounds
    ppms = [jaspar[CTCF].ppm, jaspar[CREB1].ppm]
    mat = screen.insertion_matrix(two_outputs, bg, ppms, seed=0)
    assert mat.effects.mean.shape == (2, 2) and list(mat.targets) == [0, 1]
    for t in (0, 1):   # the controls hold no site: each scores the output's bias
        one = screen.insertion_effects(two_outputs, bg, ppms, target=t, seed=0)
        np.testing.assert_allclose(one.with_control, BIAS[t], atol=1e-6)
        # column t is what the one-output experiment gives, from the same passes
        for key in ("mean", "se", "p"):
            np.testing.assert_allclose(getattr(mat.effects, key)[:, t], getattr(one.effects, key), atol=1e-6)
        np.testing.assert_allclose(mat.consensus_delta[:, t], one.consensus_delta, atol=1e-6)
    reverse, _ = screen.design(len(bg), 1)
    n_cons = max(2, len(bg) // 10)
    for j, ppm in enumerate(ppms):
        start = (101 - len(ppm)) // 2
        inst = edits.sample_instances(ppm, len(bg), edits.motif_seed(0, ppm))
        inst[reverse] = edits.reverse_complement(inst[reverse])
        want = (pwm_logits(two_outputs, edits.insert(bg, inst, start)) - BIAS).mean(axis=0)
        np.testing.assert_allclose(mat.effects.mean[j], want, atol=1e-5)
        cons = edits.consensus(ppm)
        seqs = np.stack([edits.insert(bg[c:c + 1], edits.reverse_complement(cons) if c % 2 else cons, start)[0]
                         for c in range(n_cons)])
        want = (pwm_logits(two_outputs, seqs) - BIAS).mean(axis=0)
        np.testing.assert_allclose(mat.consensus_delta[j], want, atol=1e-5)
    # CTCF's consensus fires its forward filter at half the best log-odds score; output 1 does not weigh it
    lo = np.log2((jaspar[CTCF].ppm + 0.01) / 0.26)
    assert mat.consensus_delta[0, 0] == pytest.approx(0.3 * 0.5 * lo.max(axis=1).sum(), abs=1e-5)
    assert mat.effects.mean[0, 1] == 0 and mat.effects.p[0, 1] == 1
    res = across.screen_matrix(mat, [CTCF, CREB1], ["CTCF", "CREB1"])
    for t in (0, 1):          # q over the database, per output
        np.testing.assert_allclose(res.q[:, t], stats.bh(mat.effects.p[:, t]))
    assert res.significant.tolist() == [[True, False], [True, True]]
    rows = res.rows()
    assert [(r["output"], r["id"]) for r in rows] == [(0, CTCF), (0, CREB1), (1, CREB1), (1, CTCF)]
    assert list(rows[0]) == across.SCREEN_COLUMNS


def test_sequential_matrix_stops_a_motif_once_every_output_is_settled(two_outputs, jaspar):
    """CTCF moves output 0 only: settled on both outputs early; FOXA2 moves nothing: settled at the
    first look; CTCF MA1929.2, near the floor, runs to the end with the full matrix's numbers. Every
    (motif, output) decision is the full matrix's."""
    rng = np.random.default_rng(0)
    bg = edits.backgrounds(np.eye(4, dtype=np.float32)[rng.choice([0, 3], size=(50, 101))], 40, seed=0)
    ids = [CTCF, CREB1, "MA0047.4", "MA1929.2"]
    ppms = [jaspar[i].ppm for i in ids]
    full = screen.insertion_matrix(two_outputs, bg, ppms, seed=0)
    seq = screen.insertion_matrix(two_outputs, bg, ppms, seed=0, sequential=True)
    f, s = (across.screen_matrix(m, ids, ids) for m in (full, seq))
    np.testing.assert_array_equal(s.significant, f.significant)
    np.testing.assert_array_equal(np.sign(seq.effects.mean)[s.significant], np.sign(full.effects.mean)[s.significant])
    n = seq.effects.n[:, 0]
    assert (seq.effects.n == n[:, None]).all() and (full.effects.n == 40).all()
    assert n[0] < 40 and s.significant[0].tolist() == [True, False] and n[2] == 10 and n[3] == 40
    for key in ("mean", "se", "p"):
        np.testing.assert_allclose(getattr(seq.effects, key)[3], getattr(full.effects, key)[3], rtol=1e-9)
    np.testing.assert_allclose(seq.delta_forward[3], full.delta_forward[3], rtol=1e-9)
    assert seq.forward_passes < full.forward_passes == full.forward_passes_full == seq.forward_passes_full
    assert [r["n_backgrounds"] for r in s.rows() if r["id"] == CTCF] == [n[0], n[0]]


def test_influence_on_every_output_from_one_pass_equals_each_outputs_own(two_outputs, example_sim):
    from interpret import filters

    x = example_sim.x[:64]
    both = filters.kernel_logos(two_outputs, x, target=0, outputs=[0, 1])
    for t in (0, 1):
        own = filters.kernel_logos(two_outputs, x, target=t)
        np.testing.assert_allclose(both.influence_outputs[:, t], own.influence, atol=1e-6)
    # silencing the CTCF filters cannot move output 1, which does not weigh them
    np.testing.assert_array_equal(both.influence_outputs[:2, 1], 0.0)
    assert (both.influence_outputs[:2, 0] > 0).all()


# ------------------------------------------------------------------------------------------------
# families across sources, runs side by side
# ------------------------------------------------------------------------------------------------
def test_families_of_several_sources_are_matched_by_tomtom(jaspar):
    def ref(source, fid, mid, n, dilute=0.0, sign=1, rc=False):
        ppm = (1 - dilute) * jaspar[mid].ppm + dilute / 4
        return across.FamilyRef(source, fid, sign, ppm[::-1, ::-1] if rc else ppm, n_seqlets=n,
                                jaspar_name=jaspar[mid].name)

    fams = [ref(0, "a", CTCF, 50), ref(0, "b", CEBPB, 40), ref(1, "c", CEBPB, 60, dilute=0.2),
            ref(1, "d", CREB1, 30), ref(1, "e", CTCF, 20, rc=True), ref(1, "f", CTCF, 5, sign=-1),
            ref(1, "g", CEBPB, 8)]
    matches = across.match_families(fams)
    assert len(matches) == 4
    pos = [m for m in matches if m.sign > 0]
    assert {m.name: {s: f.id for s, f in m.members.items()} for m in pos} == {
        "CEBPB": {1: "c", 0: "b"}, "CTCF": {0: "a", 1: "e"}, "CREB1": {1: "d"}}
    cebpb = next(m for m in pos if m.name == "CEBPB")
    assert cebpb.representative.id == "c" and [f.id for f in cebpb.of(1)] == ["c", "g"]   # g: the same source again
    assert [m.id for m in matches][:2] == ["family_0", "family_1"] and len(matches[0].members) == 2
    # the negative CTCF family joins no positive one
    assert any(m.sign < 0 and list(m.members) == [1] for m in matches)
    key = (("Conv1D", "(101, 8)", "relu", 160),)
    shared = across.shared_by_design(matches, [key, key])
    assert shared == {"design_0": {"runs": [0, 1], "n_families": 4, "in_every_run": 2, "share": 0.5}}
    assert across.shared_by_design(matches, [key, ()]) == {}


def test_compare_row_counts_named_and_building_filters():
    arch = [{"name": "input", "type": "InputLayer", "output_shape": "(101, 4)", "activation": "", "params": 0},
            {"name": "c", "type": "Conv1D", "output_shape": "(101, 4)", "activation": "exponential", "params": 160},
            {"name": "d", "type": "Dense", "output_shape": "(1,)", "activation": "sigmoid", "params": 5}]
    summary = {"model": {"path": "m.h5", "architecture": arch},
               "model_quality": {"available": True, "all": {"auroc": 0.91}, "explained": {"auroc": None}},
               "truth": {"methods": {"deepshap": {"auroc": 0.8, "aupr": 0.6}}}}
    filters = [{"filter": f"filter_{i}", "jaspar_id": j} for i, j in enumerate(["MA1", "", "", "MA2"])]
    usage = [{"motif": "m0", "filter": "filter_1", "share": "0.5"}, {"motif": "m0", "filter": "filter_0", "share": "0.05"},
             {"motif": "m1", "filter": "filter_1", "share": "0.2"}, {"motif": "m1", "filter": "filter_3", "share": "0.1"}]
    families = [{"family": "f0", "minor": ""}, {"family": "f1", "minor": "fewer than 20 seqlets"}]
    row = across.run_row("exp", summary, filters, families, usage)
    assert row == {"run": "exp", "model": "m.h5", "architecture": "Conv1D(4) exponential > Dense(1) sigmoid",
                   "n_filters": 4, "filters_named": 0.5, "filters_building": 0.5, "n_families": 1, "model_auroc": 0.91,
                   "auroc_deepshap": 0.8, "aupr_deepshap": 0.6}
    assert across.design_key(summary) == across.design_key({"model": {"architecture": [dict(a, name="x") for a in arch]}})


# ------------------------------------------------------------------------------------------------
# planted truth and model quality
# ------------------------------------------------------------------------------------------------
SPANS = [(0, 5, 13, "A"), (0, 30, 38, "B"), (1, 2, 12, "A"), (3, 20, 28, "B"), (3, 22, 26, "A")]


def _hand_map(n=5, length=40, seed=0):
    """A one-hot input and contributions that are higher, but not always, inside the planted spans."""
    rng = np.random.default_rng(seed)
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (n, length))]
    planted = np.zeros((n, length), bool)
    for s, a, b, _ in SPANS:
        planted[s, a:b] = True
    score = rng.normal(size=(n, length)) + 1.2 * planted
    score[4] = np.round(score[4])                  # ties, which both implementations count half
    return x * score[..., None], planted


def test_interpretability_auroc_equals_scikit_learns_on_a_hand_built_map():
    contrib, planted = _hand_map()
    roc, pr = truth.interpretability(contrib, planted)
    score = contrib.sum(axis=2)
    for i in range(len(planted)):
        if planted[i].any() and not planted[i].all():
            assert roc[i] == pytest.approx(roc_auc_score(planted[i], score[i]), abs=1e-12)
            precision, recall, _ = precision_recall_curve(planted[i], score[i])
            assert pr[i] == pytest.approx(auc(recall, precision), abs=1e-12)
        else:
            assert np.isnan(roc[i]) and np.isnan(pr[i])
    assert np.isnan(roc[2]) and np.isfinite(roc[[0, 1, 3]]).all()
    # signed, as Koo & Ploenzke sum it: a map that puts the planted bases lowest scores 0, not 1
    flipped, _ = truth.interpretability(-np.abs(contrib) * planted[..., None] + 0.0, planted)
    assert flipped[0] == pytest.approx(roc_auc_score(planted[0], -(np.abs(contrib[0]).sum(1) * planted[0])))


def test_npz_and_tsv_truth_give_the_same_numbers(tmp_path):
    contrib, planted = _hand_map()
    tsv = tmp_path / "planted.tsv"
    tsv.write_text("seq_index\tstart\tend\tmotif\tstrand\n" + "".join(f"{s}\t{a}\t{b}\t{m}\t+\n" for s, a, b, m in SPANS))
    bits = np.where(planted, 1.5, 0.0).astype(np.float32)
    bits[0, 5] = 0.005                              # a column of the PWM under 0.01 bits is not planted ...
    np.savez(tmp_path / "planted.npz", positions=bits)
    t_tsv, t_npz = io.read_truth(tsv, 5, 40), io.read_truth(tmp_path / "planted.npz", 5, 40)
    assert t_tsv.form == "instances" and t_npz.form == "positions"
    lab_tsv, lab_npz = truth.planted_labels(t_tsv.positions), truth.planted_labels(t_npz.positions)
    assert (lab_tsv != lab_npz).sum() == 1 and not lab_npz[0, 5]
    bits[0, 5] = 0.02                               # ... one over 0.01 is
    np.savez(tmp_path / "planted.npz", positions=bits)
    t_npz = io.read_truth(tmp_path / "planted.npz", 5, 40)
    a, b = truth.interpretability(contrib, truth.planted_labels(t_tsv.positions)), \
        truth.interpretability(contrib, truth.planted_labels(t_npz.positions))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    # seqlets (or hits) against the instances: half the shorter span must be shared
    found = {"seq_index": [0, 0, 1, 3, 4], "start": [9, 50, 0, 21, 0], "end": [20, 60, 4, 23, 10]}
    ov = truth.overlap_scores(t_tsv.instances, found)
    # (0,5,13) shares 4 of 8 bp with (0,9,20): found; (1,2,12) shares 2 of 4 with (1,0,4): found;
    # (3,20,28) and (3,22,26) share 2 of 2 with (3,21,23): found; (0,30,38) is missed
    assert ov.truth_found.tolist() == [True, False, True, True, True] and ov.recall == 0.8
    assert ov.found_true.tolist() == [True, False, True, True, False] and ov.precision == 0.6
    assert ov.recall_by_motif == {"A": 1.0, "B": 0.5}


def test_truth_files_are_checked_up_front_with_one_line_errors(tmp_path):
    def tsv(body, header="seq_index\tstart\tend\tmotif"):
        p = tmp_path / f"t{len(list(tmp_path.glob('*.tsv')))}.tsv"
        p.write_text(header + "\n" + body)
        return p

    np.savez(tmp_path / "wrong.npz", positions=np.zeros((4, 40)))
    np.savez(tmp_path / "nokey.npz", x=np.zeros((5, 40)))
    cases = [(tmp_path / "wrong.npz", "shape (4, 40) but the input has 5 sequences of 40 bp"),
             (tmp_path / "nokey.npz", "no 'positions' array"),
             (tsv("0\t3\t9\tA\n", header="seq\tstart\tend\tmotif"), "no column seq_index"),
             (tsv("0\t3\t9\tA\n5\t1\t4\tA\n"), "line 3: seq_index 5 is not a row of the input"),
             (tsv("0\t35\t41\tA\n"), "line 2: span 35-41 is not inside the 40-bp sequence"),
             (tsv("0\t9\t9\tA\n"), "span 9-9"), (tsv("0\tx\t9\tA\n"), "must be integers"),
             (tmp_path / "absent.tsv", "does not exist")]
    for path, message in cases:
        with pytest.raises(InputError) as exc:
            io.read_truth(path, 5, 40)
        assert message in str(exc.value) and "\n" not in str(exc.value), (path, str(exc.value))


def test_model_quality_equals_scikit_learn_and_warns_under_0_7():
    rng = np.random.default_rng(3)
    y = (rng.random((200, 2)) < 0.4).astype(np.float32)
    pred = np.clip(0.5 + 0.35 * (y - 0.5) * np.array([1.0, 0.2]) + rng.normal(0, 0.2, (200, 2)), 0, 1)
    index = np.flatnonzero(y[:, 0] > 0)            # --explain auto: the positives of output 0
    q = truth.model_quality("sigmoid", y, pred, 0, index)
    assert q["all"]["auroc"] == pytest.approx(roc_auc_score(y[:, 0], pred[:, 0]), abs=1e-12)
    assert q["all"]["accuracy"] == pytest.approx(accuracy_score(y[:, 0], pred[:, 0] >= 0.5))
    assert q["explained"]["auroc"] is None and q["explained"]["n"] == len(index) and not q["warning"]
    weak = truth.model_quality("sigmoid", y, pred, 1, index)
    assert weak["all"]["auroc"] < 0.7 and weak["warning"]
    assert not truth.model_quality("sigmoid", y * 3, pred, 0, index)["available"]
    soft = truth.model_quality("softmax", y, pred, 0, index)                    # called: the largest output
    assert soft["all"]["accuracy"] == pytest.approx(accuracy_score(y[:, 0], pred.argmax(axis=1) == 0))
