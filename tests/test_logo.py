"""Logo geometry: letter heights are the IC-scaled probabilities (or the scores), stacked as logomaker does."""

from __future__ import annotations

import re
import time

import numpy as np
import pytest

from interpret.report import logo

PPM = np.array([[0.7, 0.1, 0.1, 0.1],
                [1.0, 0.0, 0.0, 0.0],
                [0.25, 0.25, 0.25, 0.25],
                [0.0, 0.5, 0.5, 0.0]])


def _uses(svg: str):
    """(letter, x, y, width, height) of every <use> in an SVG string (glyphs are 100 x 100)."""
    num = r"([-\d.eE+]+)"
    pat = re.compile(rf'<use href="#lg([ACGT])" transform="matrix\({num} 0 0 {num} {num} {num}\)"/>')
    out = []
    for m in pat.finditer(svg):
        a, d, e, f = map(float, m.groups()[1:])
        out.append((m.group(1), e, f, 100 * a, 100 * d))
    return out


def test_information_content_known_columns():
    ic = logo.information_content(PPM)
    expected0 = 2 + 0.7 * np.log2(0.7) + 3 * 0.1 * np.log2(0.1)      # 0.6432 bits
    assert ic == pytest.approx([expected0, 2.0, 0.0, 1.0], abs=1e-12)
    assert expected0 == pytest.approx(0.64322, abs=1e-5)


def test_letter_heights_are_ic_scaled_probabilities():
    b = logo.letter_boxes(PPM, "bits")
    heights = {(int(p), "ACGT"[a]): y1 - y0 for p, a, y0, y1 in zip(b.pos, b.letter, b.y0, b.y1)}
    assert heights[(0, "A")] == pytest.approx(0.7 * 0.64322, abs=1e-5)
    assert heights[(0, "C")] == pytest.approx(0.1 * 0.64322, abs=1e-5)
    assert heights[(1, "A")] == pytest.approx(2.0)
    assert heights[(3, "C")] == heights[(3, "G")] == pytest.approx(0.5)
    assert not [k for k in heights if k[0] == 2], "a uniform column has no letters"
    assert len(heights) == 4 + 1 + 2


def test_stack_tops_equal_information_content_and_biggest_on_top():
    b = logo.letter_boxes(PPM, "bits")
    ic = logo.information_content(PPM)
    for p in (0, 1, 3):
        sel = b.pos == p
        assert b.y0[sel].min() == pytest.approx(0.0)
        assert b.y1[sel].max() == pytest.approx(ic[p])
        top = b.letter[sel][np.argmax(b.y1[sel])]
        assert "ACGT"[top] == "ACGT"[int(np.argmax(PPM[p]))] or p == 3


def test_svg_letter_heights_in_pixels():
    height = 60.0
    svg = logo.logo_svg(PPM, "bits", height=height, col_width=10, defs=False, min_px=0)
    uses = _uses(svg)
    px_per_bit = height / 2.0
    got = sorted(round(u[4], 2) for u in uses)
    ic = logo.information_content(PPM)
    want = sorted(round(v, 2) for v in (PPM * ic[:, None] * px_per_bit).ravel() if v > 0)
    assert got == pytest.approx(want, abs=0.011)
    # the one-hot column: a single A, 2 bits = the full plot height, top at the plot's top
    a = [u for u in uses if u[0] == "A" and abs(u[4] - height) < 0.01]
    assert len(a) == 1 and a[0][2] == pytest.approx(1.0)       # top margin of 1 px
    assert a[0][3] == pytest.approx(logo.LETTER_WIDTH * 10, abs=0.01)


def test_contrib_letters_above_and_below_zero():
    v = np.array([[0.5, -0.2, 0.1, -0.4], [0.3, 0.2, -0.1, 0.0]])
    b = logo.letter_boxes(v, "contrib")
    boxes = {(int(p), "ACGT"[a]): (y0, y1) for p, a, y0, y1 in zip(b.pos, b.letter, b.y0, b.y1)}
    assert boxes[(0, "G")] == pytest.approx((0.0, 0.1))
    assert boxes[(0, "A")] == pytest.approx((0.1, 0.6))
    assert boxes[(0, "C")] == pytest.approx((-0.2, 0.0))
    assert boxes[(0, "T")] == pytest.approx((-0.6, -0.2))
    assert (1, "T") not in boxes
    svg = logo.logo_svg(v, "contrib", height=100, defs=False, axis=False, min_px=0)
    # ylim = (-0.6, 0.6): 1 data unit = 100 / 1.2 px; zero line at y = 1 + 50
    uses = _uses(svg)
    t = [u for u in _uses(svg) if u[0] == "T"][0]
    assert t[2] == pytest.approx(1 + 50 + 0.2 * 100 / 1.2, abs=0.01)
    assert t[4] == pytest.approx(0.4 * 100 / 1.2, abs=0.01)
    assert len(uses) == 7


def test_boxes_match_logomaker():
    """Same floors and ceilings as logomaker's glyphs (a second implementation)."""
    import matplotlib

    matplotlib.use("Agg")
    import logomaker
    import matplotlib.pyplot as plt
    import pandas as pd

    rng = np.random.default_rng(0)
    v = rng.normal(size=(12, 4))
    fig, ax = plt.subplots()
    try:
        lm = logomaker.Logo(pd.DataFrame(v, columns=list("ACGT")), ax=ax, flip_below=False)
        b = logo.letter_boxes(v, "contrib")
        for p, a, y0, y1 in zip(b.pos, b.letter, b.y0, b.y1):
            g = lm.glyph_df.loc[int(p), "ACGT"[a]]
            assert (g.floor, g.ceiling) == pytest.approx((y0, y1), abs=1e-12)
        assert len(b.pos) == 48
    finally:
        plt.close(fig)


def test_glyphs_fill_the_unit_box():
    for a in "ACGT":
        ext = logo.glyph_path(a).get_extents()
        assert [ext.x0, ext.y0, ext.x1, ext.y1] == pytest.approx([0, 0, 1, 1], abs=1e-9)
        assert logo.glyph_svg_d(a).startswith("M")


def test_standalone_svg_defines_glyphs_and_page_mode_refers():
    alone = logo.logo_svg(PPM)
    assert alone.count('<path id="lg') == 4
    page = logo.logo_svg(PPM, defs=False)
    assert '<path id="lg' not in page and 'href="#lgA"' in page
    assert logo.glyph_defs_svg().count('<path id="lg') == 4


def test_draw_logo_matplotlib_patch_extents():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.path import Path

    fig, ax = plt.subplots()
    try:
        coll = logo.draw_logo(ax, PPM, "bits")
        paths = coll.get_paths()
        b = logo.letter_boxes(PPM, "bits")
        present = sorted(set(b.letter.tolist()))
        assert len(paths) == len(present) == 4
        n_letters = 0
        for a, path in zip(present, paths):
            g = len(logo.glyph_path("ACGT"[a]).vertices)
            sel = np.flatnonzero(b.letter == a)
            assert len(path.vertices) == g * len(sel)
            for k, i in enumerate(sel):      # each glyph copy fills its box exactly
                ext = Path(path.vertices[k * g:(k + 1) * g], path.codes[k * g:(k + 1) * g]).get_extents()
                assert [ext.y0, ext.y1] == pytest.approx([b.y0[i], b.y1[i]], abs=1e-9)
                assert ext.x0 == pytest.approx(b.pos[i] - 0.5 + (1 - logo.LETTER_WIDTH) / 2, abs=1e-9)
                n_letters += 1
        assert n_letters == 7
        assert ax.get_ylim() == (0.0, 2.0)
    finally:
        plt.close(fig)


def test_spans_and_ticks():
    svg = logo.logo_svg(np.zeros((30, 4)), "contrib", spans=[(3, 10, "m0", "#c00")], xticks=10, x_offset=100)
    assert svg.count("<rect") == 1 and ">m0<" in svg
    assert [t for t in re.findall(r">(\d+)</text>", svg) if int(t) >= 100] == ["100", "110", "120"]


def test_rejects_bad_shapes_and_kinds():
    with pytest.raises(ValueError, match=r"\(W, 4\)"):
        logo.logo_svg(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="unknown logo kind"):
        logo.letter_heights(PPM, "weird")


def test_nan_values_are_drawn_as_zero():
    v = PPM.copy()
    v[0, 0] = np.nan
    assert "NaN" not in logo.logo_svg(v, "contrib") and "nan" not in logo.logo_svg(v, "contrib")


def test_256_logos_well_under_a_second():
    rng = np.random.default_rng(1)
    ppms = rng.dirichlet(np.full(4, 0.4), size=(256, 24))
    t = time.perf_counter()
    for p in ppms:
        logo.logo_svg(p, "bits", defs=False)
    assert time.perf_counter() - t < 2.0
