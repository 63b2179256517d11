"""TF-MoDISco on 101-bp attributions: planted motifs come back, the decoy does not, seqlets sit on
the planted instances, runs are deterministic, settings adapt to short inputs.

Two models of the seed's architecture explain 1,000 positives of ``example_sim`` with DeepSHAP:

* ``example_model`` (conftest, trained 20 epochs on CREB1, CEBPB and CTCF with a FOXA2 decoy).
  All three planted motifs drive it (replacing their sites moves the logit, measured in
  ``test_trained_model_recovers_every_planted_motif``); all three must come back.
* ``handset_model``: six filters set to the log-odds PWMs of the three motifs (both strands),
  so all three drive the output by construction; all three must come back with their exact id.

TF-MoDISco and TOMTOM compile with numba on first use; the DeepSHAP + modisco fixtures are
session-scoped and each runs once.
"""

import time
from dataclasses import replace

import h5py
import numpy as np
import pytest

from interpret import io, simulate
from interpret.motifs import compare, modisco
from interpret.errors import InputError

SHORT, CEBPB, CTCF = simulate.EXAMPLE_MOTIFS      # CREB1 (8 bp), CEBPB (10 bp), CTCF (15 bp)
FOXA2 = simulate.EXAMPLE_DECOY
PLANTED = [SHORT, CEBPB, CTCF]


def handset_model(length=101, width=24):
    """Seed architecture; filters = log-odds PWMs of the three predictive motifs on both strands."""
    return simulate.pwm_model(PLANTED, length, width)


@pytest.fixture(scope="session")
def db():
    return io.load_motif_db()


@pytest.fixture(scope="session")
def widths():
    return {k: len(v) for k, v in simulate.jaspar_ppms(PLANTED + [FOXA2]).items()}


@pytest.fixture(scope="session")
def positives(example_sim):
    return np.flatnonzero(example_sim.y > 0.5)[:1000]  # the size users have


def _deepshap(model, x):
    from interpret.attribution.methods import DeepShap

    return DeepShap(model, target=0).attribute(x, n_references=20, seed=0).hypothetical


@pytest.fixture(scope="session")
def timed_discover():
    """discover() that records its wall time; the first call includes numba compilation."""
    times = []

    def run(*args, **kwargs):
        t = time.perf_counter()
        res = modisco.discover(*args, **kwargs)
        times.append(time.perf_counter() - t)
        return res

    run.times = times
    return run


@pytest.fixture(scope="session")
def trained_inputs(example_sim, example_model, positives):
    x = example_sim.x[positives]
    return x, _deepshap(example_model, x)


@pytest.fixture(scope="session")
def trained_run(trained_inputs, positives, timed_discover):
    x, hyp = trained_inputs
    return timed_discover(x, hyp, positives, method="deepshap", seed=0)


@pytest.fixture(scope="session")
def handset_inputs(example_sim, positives):
    x = example_sim.x[positives]
    return x, _deepshap(handset_model(), x)


@pytest.fixture(scope="session")
def handset_run(handset_inputs, positives, timed_discover):
    x, hyp = handset_inputs
    return timed_discover(x, hyp, positives, method="deepshap", seed=0)


def _matches(result, db):
    return compare.match_to_db([p.ppm for p in result.patterns], db) if result.patterns else []


def _found(result, db, same_consensus=False):
    """{JASPAR id: (pattern, match)} for patterns whose best match is significant with q < 0.05.

    ``same_consensus``: also file a match under each planted id whose JASPAR matrix has exactly
    the same consensus (either strand) and width, e.g. CEBPG MA0838.1 and CEBPE MA0837.3 for CEBPB
    MA0466.4 (all ATTGCGCAAT); TOMTOM's choice among them follows column strengths only.
    """
    cons = {m.id: "".join("ACGT"[i] for i in m.ppm.argmax(1)) for m in db}
    rc = {k: v[::-1].translate(str.maketrans("ACGT", "TGCA")) for k, v in cons.items()}
    out = {}
    for p, m in zip(result.patterns, _matches(result, db)):
        if not (m.significant and m.q < 0.05):
            continue
        ids = [m.id]
        if same_consensus:
            ids += [k for k in PLANTED + [FOXA2] if cons[m.id] in (cons[k], rc[k])]
        for i in ids:
            out.setdefault(i, (p, m))
    return out


def _ism_delta(model, sim, mid, width, seed=0):
    """Mean logit drop when every planted ``mid`` instance is replaced by random bases."""
    rng = np.random.default_rng(seed)
    rows, xs = [], []
    for i, sites in enumerate(sim.sites):
        for k, st, _ in sites:
            if k == mid:
                xx = sim.x[i].copy()
                xx[st:st + width] = np.eye(4, dtype=np.float32)[rng.integers(0, 4, width)]
                rows.append(i)
                xs.append(xx)
    return float(np.mean(model.predict(sim.x[rows], target=0) - model.predict(np.array(xs), target=0)))


# ------------------------------------------------------------------------------------------
# Recovery of planted motifs
# ------------------------------------------------------------------------------------------
def test_handset_model_all_three_planted_motifs_match_their_jaspar_id(handset_run, db):
    found = _found(handset_run, db)
    assert set(PLANTED) <= set(found), {p.id: (m.id, m.q) for p, m in zip(handset_run.patterns, _matches(handset_run, db))}
    assert found[SHORT][0].n_seqlets >= 30          # the 8-bp motif is a real cluster, not a stray
    assert len(found[SHORT][0].ppm) <= 12            # trimmed to the motif, not the 20-bp core


def test_trained_model_recovers_every_planted_motif(trained_run, example_model, example_sim, widths, db):
    used = {m: _ism_delta(example_model, example_sim, m, widths[m]) for m in PLANTED}
    assert all(d > 0.25 for d in used.values()), used   # the model really uses all three
    found = _found(trained_run, db, same_consensus=True)
    assert set(PLANTED) <= set(found), (used, {p.id: (m.id, m.q) for p, m in
                                               zip(trained_run.patterns, _matches(trained_run, db))})


@pytest.mark.parametrize("run", ["handset_run", "trained_run"])
def test_decoy_foxa2_does_not_come_back_as_a_motif(run, request, db):
    res = request.getfixturevalue(run)
    assert FOXA2 not in _found(res, db, same_consensus=True)


# ------------------------------------------------------------------------------------------
# Seqlets: user rows, positions, strands
# ------------------------------------------------------------------------------------------
def test_seqlets_sit_on_the_planted_instance_in_the_users_row(handset_run, example_sim, widths, db):
    found = _found(handset_run, db)
    for mid in PLANTED:
        pattern, match = found[mid]
        on, same_strand = 0, 0
        for s in pattern.seqlets:
            assert s.end - s.start == len(pattern.ppm)
            hits = [(st, strand) for k, st, strand in example_sim.sites[s.seq_index]
                    if k == mid and s.start < st + widths[mid] and st < s.end]
            on += bool(hits)
            # pattern read on s.strand; match.strand says how the pattern reads against JASPAR
            want = s.strand if match.strand == "+" else {"+": "-", "-": "+"}[s.strand]
            same_strand += any(strand == want for _, strand in hits)
        n = len(pattern.seqlets)
        ppm = simulate.jaspar_ppms([mid])[mid]
        # CEBPB and CREB1 read the same on both strands: their strand carries no information
        palindrome = np.corrcoef(ppm.ravel(), ppm[::-1, ::-1].ravel())[0, 1] > 0.7  # CREB1 0.76, CTCF -0.02
        # the rest are chance matches in the random background, which the PWM filters also fire on
        # random coordinates would overlap a planted instance ~15% of the time
        assert on / n >= 0.75, (mid, on, n)
        assert palindrome or same_strand / on >= 0.95, (mid, same_strand, on)


def test_seqlet_rows_are_user_rows_not_positions_in_the_explained_subset(handset_run, positives):
    rows = {r["seq_index"] for r in handset_run.seqlet_rows}
    assert rows <= set(positives.tolist())
    assert max(rows) > len(positives)                # the identity mapping would stay below N
    assert set(handset_run.seqlet_rows[0]) == {"seq_index", "start", "end", "strand", "motif", "method",
                                                "contribution"}


def test_cwm_is_the_mean_contribution_of_the_patterns_seqlets(handset_run, handset_inputs, positives):
    x, hyp = handset_inputs
    row_of = {int(r): i for i, r in enumerate(positives)}
    p = handset_run.patterns[0]
    segs = []
    for s in p.seqlets:
        seg = (x * hyp)[row_of[s.seq_index], s.start:s.end]
        segs.append(seg[::-1, ::-1] if s.strand == "-" else seg)
    np.testing.assert_allclose(np.mean(segs, axis=0), p.cwm, atol=1e-5)
    np.testing.assert_allclose(p.ppm.sum(axis=1), 1.0, atol=1e-9)


# ------------------------------------------------------------------------------------------
# Trimming, negative patterns, modisco.h5
# ------------------------------------------------------------------------------------------
def _cwm(profile):
    """A (W, 4) CWM whose net contribution per position is ``profile`` (all on A)."""
    cwm = np.zeros((len(profile), 4))
    cwm[:, 0] = profile
    return cwm


def _modisco_report_trim(cwm):
    """``modisco report``'s rule, the one trim_bounds replaced: summed |CWM| >= 0.3 x max."""
    keep = np.flatnonzero(np.abs(cwm).sum(axis=1) >= 0.3 * np.abs(cwm).sum(axis=1).max())
    return int(keep[0]), int(keep[-1]) + 1


def test_trim_keeps_the_block_above_a_raised_baseline():
    # a diffuse map: every position carries 0.4, the motif 12:20 carries 1.0
    profile = np.full(30, 0.4)
    profile[12:20] = 1.0
    assert _modisco_report_trim(_cwm(profile)) == (0, 30)
    # the 3-bp running mean gives each neighbour of a step edge a third of the step, above 0.3 of
    # the peak's height over the baseline: a sharp edge gains one base on each side
    assert modisco.trim_bounds(_cwm(profile)) == (11, 21)
    # negative patterns are trimmed on their own sign
    assert modisco.trim_bounds(-_cwm(profile), sign=-1) == (11, 21)
    assert modisco.trim_bounds(-_cwm(profile)) == (11, 21)


def test_trim_bridges_one_weak_position_and_keeps_two_cores_as_parts():
    profile = np.full(30, 0.1)
    profile[5:12] = profile[15:22] = 1.0   # a gapped motif: 3 weak columns between two strong halves
    profile[8] = 1.2
    # smoothed: 0.4 at 12 and 14, 0.1 at 13 (below the cut 0.1 + 0.3 x 0.97 = 0.39): bridged, one core
    assert modisco.trim_cores(_cwm(profile)) == (4, 23, ((0, 19),))
    profile[15] = 0.1                      # 4 weak columns: 13 and 14 both fail, two cores
    # the old rule kept the peak's core alone, (4, 13): a dimer lost a half (issue #30)
    assert modisco.trim_cores(_cwm(profile)) == (4, 23, ((0, 9), (11, 19)))
    assert modisco.trim_bounds(_cwm(profile)) == (4, 23)


def test_a_second_core_is_kept_only_where_most_seqlets_support_it():
    # 40 seqlets: core A (5:12) in all; core B (18:25) in a share of them, noise 0.3 everywhere
    rng = np.random.default_rng(0)
    for share, kept in ((0.8, True), (0.3, False)):
        per_seqlet = rng.normal(0, 0.3, size=(40, 32))
        per_seqlet[:, 5:12] += 1.0
        per_seqlet[:int(share * 40), 18:25] += 1.0
        start, end, parts = modisco.trim_cores(_cwm(per_seqlet.mean(axis=0)), seqlet_profiles=per_seqlet)
        assert (len(parts) == 2) == kept, (share, parts)
        assert (end >= 25) == kept and start <= 5
    # a narrow bump (3 bp after smoothing) is not a core, however many seqlets carry it
    profile = np.full(30, 0.05)
    profile[5:13] = 1.0
    profile[22] = 0.9
    assert modisco.trim_cores(_cwm(profile)) == (4, 14, ((0, 10),))


def test_trim_keeps_a_motif_that_fills_most_of_its_window():
    profile = np.full(30, 0.05)
    profile[3:27] = 1.0           # 24 of 30 columns: the 25th percentile lies inside the motif,
    profile[14] = 1.1             # the outermost columns give the baseline
    assert modisco.trim_bounds(_cwm(profile)) == (2, 28)


def test_trim_of_a_weak_noisy_pattern_finds_its_core():
    # 15 seqlets, baseline 0.5, motif 12:20 only 0.8 above it, per-seqlet noise 1.0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        per_seqlet = 0.5 + rng.normal(0, 1.0, size=(15, 30))
        per_seqlet[:, 12:20] += 0.8
        cwm = _cwm(per_seqlet.mean(axis=0))
        assert _modisco_report_trim(cwm)[1] - _modisco_report_trim(cwm)[0] >= 23
        start, end = modisco.trim_bounds(cwm, seqlet_profiles=per_seqlet)
        assert 10 <= start <= 12 and 20 <= end <= 21, (seed, start, end)


def test_trim_of_pure_noise_stops_at_the_noise_floor():
    widths = []
    for seed in range(8):
        rng = np.random.default_rng(seed)
        per_seqlet = 0.5 + rng.normal(0, 1.0, size=(15, 30))
        start, end = modisco.trim_bounds(_cwm(per_seqlet.mean(axis=0)), seqlet_profiles=per_seqlet)
        widths.append(end - start)
    assert max(widths) <= modisco.MIN_CORE_WIDTH + 2, widths


def test_trim_widens_a_narrow_core_and_keeps_flat_patterns_whole():
    profile = np.zeros(30)
    profile[20] = 1.0
    assert modisco.trim_bounds(_cwm(profile)) == (17, 23)     # the 3-bp smoothing spans 19:22, widened to 6
    profile[:] = 0.0
    profile[0] = 1.0
    assert modisco.trim_bounds(_cwm(profile)) == (0, 6)
    assert modisco.trim_bounds(np.zeros((5, 4))) == (0, 5)
    assert modisco.trim_bounds(_cwm(np.full(12, 0.3))) == (0, 12)


def test_every_pattern_exported_trimmed_and_ids_follow_sign(trained_run):
    assert trained_run.patterns
    for p in trained_run.patterns:
        tag = "pos" if p.sign > 0 else "neg"
        assert p.id.startswith(f"deepshap_{tag}_")
        assert p.ppm.shape == p.cwm.shape == p.hcwm.shape == (p.trim_end - p.trim_start, 4)
        assert np.sign(p.cwm.sum()) == p.sign
        assert p.n_seqlets == len(p.seqlets)
    n_neg = len(trained_run.neg_patterns or [])
    assert sum(p.sign < 0 for p in trained_run.patterns) == n_neg


def test_modisco_h5_in_modisco_lite_layout(trained_run, tmp_path):
    path = tmp_path / "modisco.h5"
    io.write_modisco_h5(path, trained_run.pos_patterns, trained_run.neg_patterns,
                        trained_run.settings.sliding_window_size)
    with h5py.File(path) as f:
        assert len(f["pos_patterns"]) == len(trained_run.pos_patterns)
        g = f["pos_patterns/pattern_0"]
        assert g["sequence"].shape == g["contrib_scores"].shape
        assert int(g["seqlets/n_seqlets"][0]) == trained_run.patterns[0].n_seqlets


# ------------------------------------------------------------------------------------------
# Determinism and settings
# ------------------------------------------------------------------------------------------
def test_negative_patterns_clustered_beside_the_positive_ones_equal_those_clustered_here(trained_inputs,
                                                                                       trained_run):
    """_cluster_both clusters the negative sign in a forked child beside the positive sign's first
    clustering (modisco-lite 3, when Leiden leaves a core free); its patterns are the ones this
    process computes alone, seqlet for seqlet. The trained model's negative seqlets form no pattern,
    so the attributions are negated: its motifs become 400 negative seqlets."""
    import numba

    assert numba.threading_layer() in ("tbb", "workqueue")  # the layers modisco-lite forks under
    x, hyp = trained_inputs
    s = replace(trained_run.settings, max_seqlets_per_metacluster=400)
    track_set, pos, neg = modisco.extract(x, -hyp, s)
    _, beside, _, n_neg = modisco._cluster_both(pos, neg, track_set, s, seed=0)
    here = modisco._cluster(modisco._sample(neg, -1, s, 0), track_set, -1, s)
    assert n_neg == min(len(neg), 400)
    assert len(beside) == len(here) >= 2

    def coords(p):
        return sorted((q.example_idx, q.start, q.end, q.is_revcomp) for q in p.seqlets)

    for a, b in zip(beside, here):
        assert coords(a) == coords(b)
        np.testing.assert_allclose(a.contrib_scores, b.contrib_scores, rtol=0, atol=1e-12)


def test_same_inputs_and_seed_give_identical_patterns(handset_inputs, positives, timed_discover):
    x, hyp = handset_inputs
    sub = slice(0, 300)
    a = timed_discover(x[sub], hyp[sub], positives[sub], seed=3)
    b = timed_discover(x[sub].copy(), hyp[sub].copy(), positives[sub], seed=3)
    assert len(a.patterns) == len(b.patterns) >= 1
    for p, q in zip(a.patterns, b.patterns):
        assert p.id == q.id and p.seqlets == q.seqlets
        np.testing.assert_array_equal(p.cwm, q.cwm)
    print(f"discover wall times (s), first includes numba compile: {[round(t, 1) for t in timed_discover.times]}")


def test_auto_settings_for_101_bp_fit_motifs_near_the_ends():
    s = modisco.auto_settings(1000, 101)
    assert (s.sliding_window_size, s.flank_size, s.effective_suppress) == (14, 5, 12)
    assert (s.trim_to_window_size, s.initial_flank_to_add) == (20, 5)
    # a pattern (core + 2 flanks) keeps instances whose centre lies in this fraction of the sequence
    assert (101 - (s.trim_to_window_size + 2 * s.initial_flank_to_add)) / 101 > 0.69
    assert s.min_passing_windows_frac == pytest.approx(24 / 88)
    assert (s.min_metacluster_size, s.final_min_cluster_size) == (50, 10)


def test_auto_settings_are_modisco_defaults_for_long_inputs():
    assert modisco.auto_settings(5000, 1000) == modisco.ModiscoSettings()


def test_neighbour_graph_is_sized_to_the_seqlets_clustered():
    # 1 in 20 of min(sequences, seqlet cap) per sign, 100..500
    assert modisco.auto_settings(1000, 101).nearest_neighbors_to_compute == 100
    assert modisco.auto_settings(5000, 101).nearest_neighbors_to_compute == 250
    assert modisco.auto_settings(20000, 101).nearest_neighbors_to_compute == 500
    capped = modisco.resolve_settings({"max_seqlets_per_metacluster": 2000}, 5000, 101)
    assert (capped.nearest_neighbors_to_compute, capped.max_seqlets_per_metacluster) == (100, 2000)
    given = modisco.resolve_settings({"max_seqlets_per_metacluster": 2000, "nearest_neighbors_to_compute": 300},
                                    5000, 101)
    assert given.nearest_neighbors_to_compute == 300


def test_leiden_runs_follow_the_seqlets_clustered_not_the_input():
    # 4 runs while min(sequences, seqlet cap) x length <= 5e6 bp; modisco-lite's 50 above
    assert modisco.auto_settings(5000, 101).n_leiden_runs == 4
    assert modisco.auto_settings(20000, 300).n_leiden_runs == 50
    assert modisco.auto_settings(100000, 101).n_leiden_runs == 4  # the 20,000-seqlet cap: 2.02e6 bp
    assert modisco.auto_settings(100000, 300, max_seqlets=2000).n_leiden_runs == 4
    assert modisco.auto_settings(100000, 300).n_leiden_runs == 50
    given = modisco.resolve_settings({"max_seqlets_per_metacluster": 2000, "n_leiden_runs": 10}, 100000, 101)
    assert given.n_leiden_runs == 10


def test_settings_dict_overrides_single_fields_of_auto():
    s = modisco.resolve_settings({"sliding_window_size": 11, "target_seqlet_fdr": None}, 1000, 101)
    assert s.sliding_window_size == 11
    assert s.target_seqlet_fdr == modisco.auto_settings(1000, 101).target_seqlet_fdr
    with pytest.raises(InputError, match="unknown TF-MoDISco setting"):
        modisco.resolve_settings({"window": 11}, 1000, 101)


def test_settings_that_do_not_fit_the_sequence_are_refused():
    x = np.eye(4, dtype=np.float32)[np.zeros((5, 40), int)]
    with pytest.raises(InputError, match="does not fit"):
        modisco.discover(x, x, settings={"sliding_window_size": 21, "flank_size": 10})
    with pytest.raises(InputError, match="must match"):
        modisco.discover(x, x[:, :30])


# ------------------------------------------------------------------------------------------
# Motif families: offsets and reverse complements of one motif, pooled
# ------------------------------------------------------------------------------------------
def _family_inputs():
    """40-bp sequences: CTCF at 10:25 (+) in rows 0-19, at 12:27 (-) in rows 20-29; SP1 at 28:37 in 0-19.

    Hypothetical contributions are the motifs' log-odds at their sites (oriented with the
    site) and small noise elsewhere, so contributions sit on the planted bases.
    """
    rng = np.random.default_rng(0)
    ppms = simulate.jaspar_ppms(["MA0139.2", "MA0079.5"])
    ctcf, sp1 = (np.log2((p + 0.01) / 0.26) for p in ppms.values())
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(30, 40))]
    hyp = rng.normal(0, 0.02, size=x.shape).astype(np.float32)
    onehot = lambda m: np.eye(4, dtype=np.float32)[m.argmax(1)]   # noqa: E731
    for r in range(30):
        if r < 20:
            x[r, 10:25], hyp[r, 10:25] = onehot(ctcf), ctcf
            x[r, 28:37], hyp[r, 28:37] = onehot(sp1), sp1
        else:
            x[r, 12:27], hyp[r, 12:27] = onehot(ctcf)[::-1, ::-1], ctcf[::-1, ::-1]
    return x, hyp


def _pattern(pid, x, hyp, sites, sign=1):
    """A Pattern whose matrices are the means over ``sites`` ``(row, start, end, strand)``, as modisco's are."""
    segs = [(x[r, a:b], hyp[r, a:b]) if st == "+" else (x[r, a:b][::-1, ::-1], hyp[r, a:b][::-1, ::-1])
            for r, a, b, st in sites]
    ppm = np.mean([s for s, _ in segs], axis=0)
    cwm = np.mean([s * h for s, h in segs], axis=0)
    hcwm = np.mean([h for _, h in segs], axis=0)
    seqlets = tuple(modisco.Seqlet(r, a, b, st, pid, 0.0) for r, a, b, st in sites)
    return modisco.Pattern(pid, "m", sign, len(sites), ppm, cwm, hcwm, 0, len(ppm), seqlets)


def test_offset_and_reverse_complement_copies_form_one_family_with_pooled_seqlets():
    x, hyp = _family_inputs()
    whole = _pattern("m_pos_0", x, hyp, [(r, 10, 25, "+") for r in range(20)])
    # CTCF columns 0-12 of the rows where it sits on the - strand, read on the + strand: the
    # reverse complement of the first 13 columns
    part = _pattern("m_pos_1", x, hyp, [(r, 14, 27, "+") for r in range(20, 30)])
    sp1 = _pattern("m_pos_2", x, hyp, [(r, 28, 37, "+") for r in range(12)])
    same, sim, off, rc = modisco.same_motif(whole, part, x, hyp)
    assert same and rc and off == 0 and sim > 0.99
    fams = modisco.group_families([sp1, part, whole], x, hyp)
    assert [f.members for f in fams] == [("m_pos_0", "m_pos_1"), ("m_pos_2",)]
    ctcf = fams[0]
    assert ctcf.id == "m_pos_family_0" and ctcf.strands == ("+", "-") and ctcf.offsets == (0, 0)
    assert ctcf.n_seqlets == 30
    # pooled: every CTCF site over the union of the aligned cores (the whole motif), on its strand
    segs = [(x * hyp)[r, 10:25] for r in range(20)] + [(x * hyp)[r, 12:27][::-1, ::-1] for r in range(20, 30)]
    np.testing.assert_allclose(ctcf.cwm, np.mean(segs, axis=0), atol=1e-6)
    np.testing.assert_allclose(ctcf.ppm.argmax(1), simulate.jaspar_ppms(["MA0139.2"])["MA0139.2"].argmax(1))
    # a family of one is its pattern
    np.testing.assert_allclose(fams[1].cwm, sp1.cwm, atol=1e-6)
    assert fams[1].n_seqlets == 12


def test_families_never_mix_signs_and_compare_with_the_representative_only():
    x, hyp = _family_inputs()
    pos = _pattern("m_pos_0", x, hyp, [(r, 10, 25, "+") for r in range(20)])
    neg = _pattern("m_neg_0", x, -hyp, [(r, 10, 25, "+") for r in range(20, 30)], sign=-1)
    fams = modisco.group_families([pos, neg], x, hyp)
    assert [(f.id, f.members) for f in fams] == [("m_pos_family_0", ("m_pos_0",)), ("m_neg_family_0", ("m_neg_0",))]


def test_a_short_motif_resembling_part_of_a_long_one_stays_apart():
    # SP1's GC box GGGGCGGGG looks like a part of CTCF (CCGCGNGGNGGCAG): cores alone call them one
    x, hyp = _family_inputs()
    ctcf = _pattern("m_pos_0", x, hyp, [(r, 10, 25, "+") for r in range(20)])
    sp1 = _pattern("m_pos_1", x, hyp, [(r, 28, 37, "+") for r in range(12)])
    sim, off, rc = modisco.align_cores(ctcf.cwm, sp1.cwm)
    assert sim >= modisco.FAMILY_SIMILARITY
    # but the SP1 sites do not carry the rest of CTCF
    assert not modisco.same_motif(ctcf, sp1, x, hyp)[0]


def test_fold_minor_by_size_and_by_effect():
    x, hyp = _family_inputs()
    big = _pattern("m_pos_0", x, hyp, [(r, 10, 25, "+") for r in range(20)])
    small = _pattern("m_pos_1", x, hyp, [(r, 28, 37, "+") for r in range(12)])
    fams = modisco.group_families([big, small], x, hyp)
    assert modisco.fold_minor(fams) == {"m_pos_family_0": "", "m_pos_family_1": "fewer than 20 seqlets"}
    assert modisco.fold_minor(fams, min_seqlets=10) == {"m_pos_family_0": "", "m_pos_family_1": ""}
    effect = {"m_pos_0": False, "m_pos_1": None}
    assert modisco.fold_minor(fams, significant=effect) == {
        "m_pos_family_0": "no significant effect", "m_pos_family_1": "fewer than 20 seqlets"}
    assert modisco.fold_minor(fams, 10, {"m_pos_0": True, "m_pos_1": False})["m_pos_family_1"] == "no significant effect"


# Samples on large runs
# ------------------------------------------------------------------------------------------
def test_samples_are_seeded_sorted_and_only_taken_over_the_cap():
    assert modisco.sequence_sample(100_000, 200) is None  # 2e7 bp: everything is read
    rows = modisco.sequence_sample(1_000_000, 200, seed=1)
    assert len(rows) == 100_000 and np.all(np.diff(rows) > 0) and rows.max() > 900_000
    np.testing.assert_array_equal(rows, modisco.sequence_sample(1_000_000, 200, seed=1))
    assert not np.array_equal(rows, modisco.sequence_sample(1_000_000, 200, seed=2))
    assert len(modisco.sequence_sample(5000, 101, max_sequences=300)) == 300
    assert modisco.seqlet_sample(50, 50, +1, 0) is None
    pos, neg = modisco.seqlet_sample(1000, 100, +1, 0), modisco.seqlet_sample(1000, 100, -1, 0)
    assert len(pos) == 100 and np.all(np.diff(pos) > 0) and not np.array_equal(pos, neg)


def test_seqlets_over_the_cap_are_a_seeded_sample_from_every_sequence(handset_inputs, positives):
    """modisco-lite keeps the first seqlets in sequence order (the start of the file only); a seeded
    sample spans all sequences, and says how many it clustered."""
    x, hyp = handset_inputs
    res = modisco.discover(x[:300], hyp[:300], positives[:300], settings={"max_seqlets_per_metacluster": 120}, seed=5)
    assert res.n_clustered["pos"] == 120 < res.n_seqlets["pos"]
    rows = sorted({s.seq_index for p in res.patterns if p.sign > 0 for s in p.seqlets})
    assert rows and rows[-1] > positives[200], rows[-5:]
