"""interpret.motifs.tomtom against a brute-force enumeration of TOMTOM's null, and its conventions.

The brute force below is written from the definition (Gupta et al. 2007, complete score, with
memelite's binned median and integer scale), with loops and no shared code: every column score,
every alignment, and for the p-value every joint draw of the independent span scores.
"""

import itertools
import math

import numpy as np
import pytest

from interpret import simulate
from interpret.errors import InputError
from interpret.io import load_motif_db
from interpret.motifs.tomtom import best_p, tomtom


def _brute(query, targets, n_bins, n_median_bins=1000):
    """p, score, best offsets (all offsets reaching the best sum) of ``query`` against every target,
    one strand, no merging of target columns."""
    cols = [c for t in targets for c in t]
    nq = len(query)
    rows = []
    for x in query:
        s = [-math.sqrt(sum((a - b) ** 2 for a, b in zip(x, y))) for y in cols]
        lo, hi = min(s), max(s)
        if hi == lo:
            med = lo
        else:
            bins = [[] for _ in range(n_median_bins)]
            for v in s:
                bins[int((v - lo) / (hi - lo) * (n_median_bins - 1))].append(v)
            run = 0
            for b in bins:
                run += len(b)
                if run >= len(s) / 2:
                    med = sum(b) / len(b)
                    break
        rows.append((s, lo - med, hi - med, med))
    i_min = math.floor(min(r[1] for r in rows))
    scale = math.floor(n_bins / max(max(r[2] for r in rows) - i_min, 1.0))
    zero = -i_min * scale
    level = [[math.floor((v - med - i_min) * scale + 0.5) for v in s] for s, _, _, med in rows]
    f = [np.bincount(lv, minlength=n_bins + 1) / len(cols) for lv in level]

    out, col0 = [], 0
    for t in targets:
        nt = len(t)
        sums = {o: sum(level[i][col0 + i + o] - zero for i in range(nq) if 0 <= i + o < nt)
                for o in range(-(nq - 1), nt)}
        best = max(sums.values())
        spans = [[i for i in range(nq) if 0 <= i + o < nt] for o in sums]
        draws = [i for span in spans for i in span]
        p = 0.0
        for levels in itertools.product(range(n_bins + 1), repeat=len(draws)):
            prob = math.prod(f[i][v] for i, v in zip(draws, levels))
            if prob == 0:
                continue
            k, top = 0, -math.inf
            for span in spans:
                top = max(top, sum(levels[k + j] - zero for j in range(len(span))))
                k += len(span)
            if top >= best:
                p += prob
        out.append((p, best + nq * zero, [o for o, v in sums.items() if v == best]))
        col0 += nt
    return out


@pytest.mark.parametrize("nq,widths,seed", [(2, (1, 2, 3), 0), (3, (2, 1, 2), 1), (2, (3, 3, 2), 2)])
def test_p_values_equal_a_brute_force_enumeration_of_the_null(nq, widths, seed):
    rng = np.random.default_rng(seed)
    query = rng.dirichlet(np.full(4, 0.5), nq)
    targets = [rng.dirichlet(np.full(4, 0.5), w) for w in widths]
    p, score, offset, overlap, strand = tomtom([query], targets, n_score_bins=4, n_target_bins=None,
                                               reverse_complement=False)
    for j, (bp, bs, offs) in enumerate(_brute(query, targets, 4)):
        assert p[0, j] == pytest.approx(bp, rel=1e-12)
        assert score[0, j] == bs
        assert offset[0, j] in offs
        o = offset[0, j]
        assert overlap[0, j] == sum(0 <= i + o < widths[j] for i in range(nq))
    assert (strand == 0).all()


def test_merged_target_columns_count_as_often_as_they_occur():
    """Hashing merges equal columns; counted with their multiplicity, nothing changes."""
    rng = np.random.default_rng(3)
    base = [rng.dirichlet(np.full(4, 0.5), w) for w in (4, 6, 5)]
    targets = [np.vstack([b, b[:2]]) for b in base]       # every target repeats two of its columns
    queries = [rng.dirichlet(np.full(4, 0.5), w) for w in (3, 5)]
    a = tomtom(queries, targets, n_target_bins=None)
    b = tomtom(queries, targets, n_target_bins=10 ** 6)   # merges the repeated (identical) columns only
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_sub_motif_aligns_at_its_offset_on_both_strands():
    db = load_motif_db()
    ctcf = simulate.jaspar_ppms(["MA0139.2"])["MA0139.2"]
    core = ctcf[4:14]
    p, score, offset, overlap, strand = tomtom([core, core[::-1, ::-1]], [m.ppm for m in db])
    j = [m.id for m in db].index("MA0139.2")
    assert p[:, j].max() < 1e-8 and (p[:, j] == p.min(axis=1)).all()
    assert (offset[0, j], overlap[0, j], strand[0, j]) == (4, 10, 0)
    # The reverse complement of the core sits at len - 14 on the target's reverse complement.
    assert (offset[1, j], overlap[1, j], strand[1, j]) == (len(ctcf) - 14, 10, 1)
    assert p[0, j] == pytest.approx(p[1, j], rel=1e-9)


def test_a_query_gets_the_same_row_alone_or_in_any_batch():
    rng = np.random.default_rng(4)
    targets = [rng.dirichlet(np.full(4, 0.3), int(w)) for w in rng.integers(5, 15, 40)]
    queries = [rng.dirichlet(np.full(4, 0.3), int(w)) for w in rng.integers(4, 9, 30)]
    together = tomtom(queries, targets)
    for i in (0, 7, 29):
        alone = tomtom([queries[i]], targets)
        # The span convolutions are blocked by the widest column support in the batch, so p
        # can differ in the last bits; scores and alignments are integers and equal.
        np.testing.assert_allclose(together[0][i], alone[0][0], rtol=1e-12)
        for x, y in zip(together[1:], alone[1:]):
            np.testing.assert_array_equal(x[i], y[0])


def test_best_p_is_the_smallest_p_over_the_targets():
    """best_p takes one p-value per target length (its best score): the same numbers as the
    minimum of the full table, for queries of several widths, strong matches and random ones."""
    rng = np.random.default_rng(5)
    db = [m.ppm for m in load_motif_db()][:300]
    queries = [rng.dirichlet(np.full(4, 0.3), int(w)) for w in rng.integers(4, 16, 24)]
    queries += [db[7][2:12], db[40][::-1, ::-1], db[41][3:9]]
    full = tomtom(queries, db)[0].min(axis=1)
    np.testing.assert_array_equal(best_p(queries, db), full)
    assert full[-3:].max() < 1e-6 and np.median(full[:24]) > 1e-3   # both kinds are in the test


def test_bad_input_raises_input_error():
    with pytest.raises(InputError, match="shape"):
        tomtom([np.ones(4)], [np.full((3, 4), 0.25)])
    with pytest.raises(InputError, match="all zero"):
        tomtom([np.zeros((3, 4))], [np.full((3, 4), 0.25)])
