"""Sequence logos drawn fast: SVG strings for the report, matplotlib patches for figures.

One glyph outline per letter (A C G T, DejaVu Sans Bold, from matplotlib's ``TextPath``) is
computed once and normalised to a unit box; every letter of every logo is then a scaled copy
of it. In SVG the outlines are defined once per document (:func:`glyph_defs`, ``<defs>``)
and each letter is a ``<use>`` with a transform, so a logo costs a few hundred bytes and well under a
millisecond. ``logomaker`` remains available (``backend="logomaker"``) for comparison and for
anyone who wants its exact look; it takes about half a second per logo.

Matrices are positions x letters, ``(W, 4)`` in A C G T order, as everywhere in the package.
Three kinds of logo:

``"bits"``
    A position probability matrix scaled by information content: each letter's height is
    ``p * IC`` with ``IC = 2 - H`` bits (uniform background), so a column is at most 2 bits.
``"probability"``
    The PPM itself; every column is 1 high.
``"contrib"``
    Signed values (contribution scores, mean-centred kernels): positive letters stacked up
    from zero, negative letters stacked down from zero, larger ones further out. Negative
    letters are drawn upright (not flipped, unlike logomaker's default).

Within a stack the smallest letter sits nearest the baseline, as in logomaker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from html import escape

import numpy as np

logger = logging.getLogger(__name__)

ALPHABET = "ACGT"
#: logomaker's "classic" scheme: A green, C blue, G orange, T red.
COLORS = {"A": "#008000", "C": "#0000ff", "G": "#ffa500", "T": "#ff0000"}
KINDS = ("bits", "probability", "contrib")
#: Fraction of a column's width a letter takes (the rest is the gap between columns).
LETTER_WIDTH = 0.9
GLYPH_PREFIX = "lg"


# --------------------------------------------------------------------------------------
# Glyphs
# --------------------------------------------------------------------------------------
@lru_cache(maxsize=None)
def glyph_path(letter: str):
    """Outline of ``letter`` as a matplotlib ``Path`` filling the unit box (y up).

    Parameters
    ----------
    letter : str
        One of A, C, G, T.

    Returns
    -------
    matplotlib.path.Path
        Vertices in ``[0, 1] x [0, 1]``: the glyph is stretched to fill the box, as logomaker
        does, so a letter of height h covers exactly h.
    """
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path as MplPath
    from matplotlib.textpath import TextPath

    if letter not in ALPHABET:
        raise ValueError(f"no glyph for {letter!r}; letters are {ALPHABET}.")
    tp = TextPath((0, 0), letter, size=1, prop=FontProperties(family="DejaVu Sans", weight="bold"))
    verts = np.array(tp.vertices, dtype=np.float64)
    ext = tp.get_extents()  # of the curves themselves, not of their control points
    lo, hi = np.array([ext.x0, ext.y0]), np.array([ext.x1, ext.y1])
    return MplPath((verts - lo) / (hi - lo), tp.codes)


@lru_cache(maxsize=None)
def glyph_svg_d(letter: str) -> str:
    """SVG path data of ``letter`` in a 100 x 100 box, y pointing down (SVG convention)."""
    from matplotlib.path import Path as MplPath

    path = glyph_path(letter)
    cmd = {MplPath.MOVETO: "M", MplPath.LINETO: "L", MplPath.CURVE3: "Q", MplPath.CURVE4: "C"}
    out = []
    for verts, code in path.iter_segments(simplify=False, curves=True):
        if code == MplPath.CLOSEPOLY:
            out.append("Z")
            continue
        pts = np.asarray(verts, dtype=np.float64).reshape(-1, 2)
        coords = " ".join(f"{100 * x:.2f} {100 * (1 - y):.2f}" for x, y in pts)
        out.append(f"{cmd[code]}{coords}")
    return "".join(out)


def glyph_defs(prefix: str = GLYPH_PREFIX) -> str:
    """``<defs>`` with one ``<path>`` per letter (ids ``{prefix}A`` ...), to include once.

    Each path fills the box ``[0, 100] x [0, 100]`` (y down) in its letter's colour; a letter
    is ``<use href="#{prefix}A" transform="matrix(w/100 0 0 h/100 x y)"/>``. In an HTML page
    put the defs in one hidden ``<svg>`` (:func:`glyph_defs_svg`); every logo drawn with
    ``defs=False`` in that page refers to them.
    """
    paths = "".join(f'<path id="{prefix}{a}" d="{glyph_svg_d(a)}" fill="{COLORS[a]}"/>' for a in ALPHABET)
    return f"<defs>{paths}</defs>"


def glyph_defs_svg(prefix: str = GLYPH_PREFIX) -> str:
    """A zero-size ``<svg>`` holding :func:`glyph_defs`, for the top of an HTML page."""
    return (f'<svg width="0" height="0" style="position:absolute" aria-hidden="true" '
            f'xmlns="http://www.w3.org/2000/svg">{glyph_defs(prefix)}</svg>')


# --------------------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------------------
def information_content(ppm) -> np.ndarray:
    """Information content (bits) of each row of a PPM against a uniform background.

    Parameters
    ----------
    ppm : array_like, shape (W, 4)
        Rows are normalised to sum to 1 first (all-zero rows give 0 bits).

    Returns
    -------
    ndarray, shape (W,)
        ``2 + sum(p log2 p)``, between 0 and 2.
    """
    p = _normalise(np.asarray(ppm, dtype=np.float64))
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log2(p), 0.0)
    return np.clip(2.0 + plogp.sum(axis=1), 0.0, 2.0) * (p.sum(axis=1) > 0)


def letter_heights(values, kind: str = "bits") -> np.ndarray:
    """Signed height of every letter, in data units.

    Parameters
    ----------
    values : array_like, shape (W, 4)
        A PPM for ``"bits"`` / ``"probability"``, signed scores for ``"contrib"``.
    kind : {"bits", "probability", "contrib"}

    Returns
    -------
    ndarray, shape (W, 4)
        ``p * IC`` for bits, ``p`` for probability, the values themselves for contrib.
    """
    v = _check_matrix(values)
    if kind == "bits":
        p = _normalise(v)
        return p * information_content(p)[:, None]
    if kind == "probability":
        return _normalise(v)
    if kind == "contrib":
        return v
    raise ValueError(f"unknown logo kind {kind!r}; use one of {', '.join(KINDS)}.")


@dataclass(frozen=True)
class Letters:
    """Every letter box of a logo, in data units (x in positions, y in bits or scores).

    Attributes
    ----------
    pos : ndarray, shape (n,), int
        Column of each letter.
    letter : ndarray, shape (n,), int
        0..3 for A C G T.
    y0, y1 : ndarray, shape (n,), float
        Bottom and top of each letter (``y1 - y0`` is its height, always >= 0).
    """

    pos: np.ndarray
    letter: np.ndarray
    y0: np.ndarray
    y1: np.ndarray


def letter_boxes(values, kind: str = "bits", min_height: float = 0.0) -> Letters:
    """Stack the letters of each column: smallest nearest the baseline, zero-height dropped.

    Parameters
    ----------
    values : array_like, shape (W, 4)
    kind : {"bits", "probability", "contrib"}
    min_height : float
        Letters with ``|height| <= min_height`` (data units) are left out.

    Returns
    -------
    Letters
    """
    h = letter_heights(values, kind)
    w = h.shape[0]
    pos_h = np.where(h > 0, h, 0.0)
    neg_h = np.where(h < 0, -h, 0.0)
    # order letters by magnitude within a column; cumulative sums give stack offsets
    order = np.argsort(np.abs(h), axis=1, kind="stable")
    cols = np.arange(w)[:, None]
    ph, nh = pos_h[cols, order], neg_h[cols, order]
    p_top = np.cumsum(ph, axis=1)
    n_bot = np.cumsum(nh, axis=1)
    y0 = np.where(ph > 0, p_top - ph, -n_bot)
    y1 = np.where(ph > 0, p_top, -n_bot + nh)
    mag = ph + nh
    keep = mag > min_height
    pos = np.broadcast_to(cols, order.shape)[keep]
    return Letters(pos=pos.astype(int), letter=order[keep].astype(int), y0=y0[keep], y1=y1[keep])


def y_range(values, kind: str = "bits") -> tuple[float, float]:
    """Default y limits: (0, 2) bits, (0, 1) probability, the stacked extent for contrib."""
    if kind == "bits":
        return 0.0, 2.0
    if kind == "probability":
        return 0.0, 1.0
    h = letter_heights(values, kind)
    top = float(np.where(h > 0, h, 0).sum(axis=1).max(initial=0.0))
    bot = -float(np.where(h < 0, -h, 0).sum(axis=1).max(initial=0.0))
    if top == bot == 0.0:
        return -1.0, 1.0
    return bot, top


# --------------------------------------------------------------------------------------
# SVG
# --------------------------------------------------------------------------------------
def logo_svg(values, kind: str = "bits", *, width: float | None = None, height: float = 60,
             col_width: float = 10, ylim: tuple[float, float] | None = None, axis: bool = True,
             defs: bool = True, prefix: str = GLYPH_PREFIX, css_class: str = "logo",
             title: str | None = None, spans=(), xticks: int | None = None, x_offset: int = 0,
             faded: bool = False, attrs: dict | None = None, min_px: float = 0.3,
             backend: str = "svg") -> str:
    """Draw a sequence logo as an SVG element string.

    Parameters
    ----------
    values : array_like, shape (W, 4)
        PPM (``"bits"``, ``"probability"``) or signed scores (``"contrib"``), A C G T.
    kind : {"bits", "probability", "contrib"}
    width : float, optional
        Width of the plot area in px; default ``col_width * W``.
    height : float
        Height of the plot area in px (an axis adds a margin on the left; ticks at the bottom).
    col_width : float
        Width of one position in px, when ``width`` is not given.
    ylim : (float, float), optional
        Data range drawn; default :func:`y_range`. Contrib logos always include 0.
    axis : bool
        Draw a left axis with its two limits and, for contrib, the zero line.
    defs : bool
        Embed the glyph ``<symbol>`` s (a standalone SVG). With ``False`` the logo refers to
        symbols the page defines once with :func:`glyph_defs_svg` (same ``prefix``).
    title : str, optional
        Tooltip (``<title>``).
    spans : iterable of (start, end, label, colour)
        Highlighted position ranges ``[start, end)`` drawn behind the letters (e.g. seqlets).
    xticks : int, optional
        Label every ``xticks``-th position under the logo, numbered from ``x_offset``.
    faded : bool
        Draw at low opacity (e.g. a filter that never fires).
    attrs : dict, optional
        Extra attributes of the ``<svg>`` element (``data-*`` for tests and scripts).
    min_px : float
        Letters lower than this many px are not drawn (invisible anyway; fewer elements).
    backend : {"svg", "logomaker"}
        ``"logomaker"`` renders with logomaker through matplotlib (about 0.5 s a logo).

    Returns
    -------
    str
        One ``<svg>`` element. Each letter is ``<use href="#{prefix}X" transform="matrix(a 0 0 d e f)">``
        placing the 100 x 100 glyph: ``100 d`` px high (its data height times
        ``height / (ylim[1] - ylim[0])``), ``100 a`` px wide, top-left corner at ``(e, f)``.
    """
    v = _check_matrix(values)
    if backend == "logomaker":
        return _logomaker_svg(v, kind, width or col_width * len(v), height, ylim, css_class, attrs)
    if backend != "svg":
        raise ValueError(f"unknown logo backend {backend!r}; use 'svg' or 'logomaker'.")
    n = len(v)
    plot_w = float(width) if width is not None else col_width * max(n, 1)
    lo, hi = ylim if ylim is not None else y_range(v, kind)
    if kind == "contrib":
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi <= lo:
        hi = lo + 1.0
    left = 22.0 if axis else 0.0
    top = 1.0
    bottom = 12.0 if xticks else 1.0
    total_w, total_h = left + plot_w + 1.0, top + height + bottom
    sx = plot_w / max(n, 1)
    sy = height / (hi - lo)

    def ypx(y):
        return top + (hi - y) * sy

    parts = []
    cls = css_class + (" faded" if faded else "")
    extra = "".join(f' {k}="{escape(str(val))}"' for k, val in (attrs or {}).items())
    parts.append(f'<svg xmlns="http://www.w3.org/2000/svg" class="{cls}" width="{total_w:.0f}" '
                 f'height="{total_h:.0f}" viewBox="0 0 {total_w:.1f} {total_h:.1f}"{extra}>')
    if title:
        parts.append(f"<title>{escape(title)}</title>")
    if defs:
        parts.append(glyph_defs(prefix))
    for span in spans:
        start, end, label, colour = (tuple(span) + (None, None))[:4]
        s, e = max(0, int(start)), min(n, int(end))
        if e <= s:
            continue
        colour = colour or "#999"
        parts.append(f'<rect x="{left + s * sx:.1f}" y="{top:.1f}" width="{(e - s) * sx:.1f}" '
                     f'height="{height:.1f}" fill="{colour}" fill-opacity="0.15" stroke="{colour}" '
                     f'stroke-opacity="0.6" stroke-width="0.8">'
                     + (f"<title>{escape(str(label))}</title>" if label else "") + "</rect>")
        if label:
            parts.append(f'<text x="{left + s * sx + 1:.1f}" y="{top + 8:.1f}" font-size="8" '
                         f'fill="{colour}">{escape(str(label))}</text>')
    if axis:
        parts.append(f'<g font-size="8" fill="#555" font-family="sans-serif" text-anchor="end">'
                     f'<text x="{left - 3:.0f}" y="{top + 7:.1f}">{_fmt_tick(hi)}</text>'
                     f'<text x="{left - 3:.0f}" y="{top + height:.1f}">{_fmt_tick(lo)}</text></g>'
                     f'<path d="M{left - 0.5:.1f} {top:.1f}V{top + height:.1f}" stroke="#999" stroke-width="1"/>')
    if kind == "contrib":
        parts.append(f'<path d="M{left:.1f} {ypx(0):.2f}H{left + plot_w:.1f}" stroke="#bbb" stroke-width="0.6"/>')
    box = letter_boxes(v, kind, min_height=min_px / sy)
    if len(box.pos):
        y0 = np.clip(box.y0, lo, hi)
        y1 = np.clip(box.y1, lo, hi)
        xs = left + (box.pos + (1 - LETTER_WIDTH) / 2) * sx
        ys = ypx(y1)
        hs = (y1 - y0) * sy
        lw = LETTER_WIDTH * sx
        ok = hs > min_px
        w100 = f"{lw / 100:.5g}"
        uses = [f'<use href="#{prefix}{ALPHABET[a]}" transform="matrix({w100} 0 0 {h / 100:.5g} {x:.2f} {y:.2f})"/>'
                for a, x, y, h in zip(box.letter[ok].tolist(), xs[ok].tolist(), ys[ok].tolist(), hs[ok].tolist())]
        parts.append("<g>" + "".join(uses) + "</g>")
    if xticks:
        ticks = [i for i in range(n) if (i + x_offset) % xticks == 0]
        parts.append('<g font-size="8" fill="#555" font-family="sans-serif" text-anchor="middle">'
                     + "".join(f'<text x="{left + (i + 0.5) * sx:.1f}" y="{top + height + 10:.1f}">{i + x_offset}</text>'
                               for i in ticks) + "</g>")
    parts.append("</svg>")
    return "".join(parts)


def track_svg(contrib, spans=(), x_offset: int = 0, attrs: dict | None = None, title: str | None = None) -> str:
    """An attribution track of a sequence: a ``"contrib"`` logo of ``contrib`` ``(L, 4)``, 70 px high,
    symmetric about 0, 4-9 px per position (900 px at most), a tick every 10 bp from ``x_offset``,
    ``spans`` boxed (as :func:`logo_svg`), the page's glyphs."""
    contrib = np.asarray(contrib)
    lim = float(np.abs(contrib).sum(axis=1).max()) if contrib.size else 1.0
    return logo_svg(contrib, "contrib", height=70, col_width=max(4.0, min(9.0, 900.0 / max(len(contrib), 1))),
                    ylim=(-lim, lim) if lim > 0 else (-1, 1), defs=False, spans=spans, xticks=10,
                    x_offset=x_offset, attrs=attrs, title=title)


def _fmt_tick(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 10 or float(v).is_integer():
        return f"{v:.0f}"
    return f"{v:.2g}"


def _logomaker_svg(v, kind, width, height, ylim, css_class, attrs) -> str:
    import io as _io

    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(width / 72, height / 72), dpi=72)
    try:
        draw_logo(ax, v, kind, ylim=ylim, backend="logomaker")
        ax.set_axis_off()
        fig.subplots_adjust(0, 0, 1, 1)
        buf = _io.StringIO()
        fig.savefig(buf, format="svg")
    finally:
        plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    extra = "".join(f' {k}="{escape(str(val))}"' for k, val in (attrs or {}).items())
    return text.replace("<svg", f'<svg class="{css_class}"{extra}', 1)


# --------------------------------------------------------------------------------------
# matplotlib
# --------------------------------------------------------------------------------------
def draw_logo(ax, values, kind: str = "bits", *, ylim: tuple[float, float] | None = None,
              backend: str = "fast", min_height: float = 0.0):
    """Draw a logo into a matplotlib axes (for the PDF/SVG figures).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    values : array_like, shape (W, 4)
    kind : {"bits", "probability", "contrib"}
    ylim : (float, float), optional
        Default :func:`y_range`.
    backend : {"fast", "logomaker"}
        ``"fast"`` adds one ``PatchCollection`` of the precomputed glyphs, one compound path
        per letter colour (a few ms);
        ``"logomaker"`` uses ``logomaker.Logo`` (about 0.5 s a logo).

    Returns
    -------
    The ``PatchCollection`` (fast; its paths are the A, C, G, T glyphs present, each the
    letter's boxes in :func:`letter_boxes` order) or the ``logomaker.Logo``.
    """
    v = _check_matrix(values)
    lo, hi = ylim if ylim is not None else y_range(v, kind)
    if kind == "contrib":
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if backend == "logomaker":
        import logomaker
        import pandas as pd

        df = pd.DataFrame(letter_heights(v, kind), columns=list(ALPHABET))
        logo = logomaker.Logo(df, ax=ax, color_scheme="classic", flip_below=False,
                              font_name="DejaVu Sans")
        ax.set_ylim(lo, hi)
        return logo
    if backend != "fast":
        raise ValueError(f"unknown logo backend {backend!r}; use 'fast' or 'logomaker'.")
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as MplPath

    box = letter_boxes(v, kind, min_height=min_height)
    patches, colours = [], []
    for a, letter in enumerate(ALPHABET):
        sel = box.letter == a
        if not sel.any():
            continue
        g = glyph_path(letter)
        n = len(sel.nonzero()[0])
        # one compound path per colour: the glyph scaled into each of its boxes, in box order
        scale = np.stack([np.full(n, LETTER_WIDTH), box.y1[sel] - box.y0[sel]], axis=1)
        shift = np.stack([box.pos[sel] - 0.5 + (1 - LETTER_WIDTH) / 2, box.y0[sel]], axis=1)
        verts = (g.vertices[None] * scale[:, None] + shift[:, None]).reshape(-1, 2)
        patches.append(PathPatch(MplPath(verts, np.tile(g.codes, n))))
        colours.append(COLORS[letter])
    coll = PatchCollection(patches, facecolors=colours, edgecolors="none", linewidths=0)
    ax.add_collection(coll)
    ax.set_xlim(-0.5, len(v) - 0.5)
    ax.set_ylim(lo, hi)
    if kind == "contrib":
        ax.axhline(0, color="#bbb", lw=0.5, zorder=0)
    return coll


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def reverse_complement(values) -> np.ndarray:
    """``(W, 4)`` matrix of the other strand (positions reversed, A<->T, C<->G)."""
    return _check_matrix(values)[::-1, ::-1].copy()


def _check_matrix(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != 4:
        raise ValueError(f"a logo needs a (W, 4) matrix in A C G T order; got shape {v.shape}.")
    if not np.isfinite(v).all():
        v = np.nan_to_num(v, nan=0.0, posinf=0.0, neginf=0.0)
    return v


def _normalise(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 0.0, None)
    s = p.sum(axis=1, keepdims=True)
    return np.divide(p, s, out=np.zeros_like(p), where=s > 0)
