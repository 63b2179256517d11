"""Simulated sequences with known motifs planted, and the seed's model, for examples and tests.

Everything here is seeded: the same arguments give the same arrays and the same trained
weights (on CPU).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Simulation:
    """Planted-motif data set.

    Attributes
    ----------
    x : ndarray, shape (N, L, 4), float32
        One-hot sequences.
    y : ndarray, shape (N,) or (N, T), float32
        Labels (1 = carries a predictive motif).
    sites : list of list of tuple
        For each sequence, ``(motif_id, start, strand)`` of every planted instance
        (``strand`` is ``"+"`` or ``"-"``; the instance occupies ``start:start + width``).
    motif_ids : list of str
        Ids of the predictive motifs, in task order for multi-task data.
    decoy_ids : list of str
        Ids of motifs planted at the same rate in both classes.
    gc_runs : list of list of tuple, or None
        :func:`peaks_like` only: ``(start, end)`` of every GC-rich stretch of each sequence.
    instances : dict of str -> ndarray, or None
        :func:`composite_like`, :func:`dimer_like` and :func:`instances_like`: the planted
        instance table, one entry per instance, columns ``seq_index``, ``motif`` (JASPAR id),
        ``start``, ``end`` (the span inside the sequence, 0-based half-open), ``strand``
        (``"+"``/``"-"``: the JASPAR matrix reads forward / reverse-complemented there), ``kind``
        (what was planted, see each function) and ``group`` (instances planted as one arrangement
        share it; -1 for a lone instance).
    """

    x: np.ndarray
    y: np.ndarray
    sites: list
    motif_ids: list
    decoy_ids: list
    gc_runs: list | None = None
    instances: dict | None = None


def sample_instance(ppm: np.ndarray, rng: np.random.Generator, strand: str) -> np.ndarray:
    """One motif instance ``(W, 4)`` one-hot, sampled from ``ppm`` ``(W, 4)``, on ``strand``."""
    p = ppm / ppm.sum(axis=1, keepdims=True)
    idx = np.array([rng.choice(4, p=row) for row in p])
    inst = np.eye(4, dtype=np.float32)[idx]
    return inst[::-1, ::-1] if strand == "-" else inst


def planted(motifs: dict, n: int = 2000, length: int = 101, frac_positive: float = 0.5,
            decoys: dict | None = None, decoy_rate: float = 0.3, multitask: bool = False,
            max_per_seq: int = 2, seed: int = 0) -> Simulation:
    """Random background with motifs planted on either strand.

    Parameters
    ----------
    motifs : dict of str -> ndarray (W, 4)
        Predictive motifs (id → PPM). In binary mode each positive gets 1..``max_per_seq``
        of them; in multi-task mode each sequence gets a random subset and task ``t`` is
        1 where motif ``t`` was planted.
    n, length : int
        Number of sequences and their length.
    frac_positive : float
        Binary mode: fraction of sequences that carry a predictive motif.
    decoys : dict, optional
        Motifs planted in any sequence with probability ``decoy_rate``, whatever its label.
    seed : int
    """
    rng = np.random.default_rng(seed)
    ids = list(motifs)
    decoys = decoys or {}
    x = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, length))]
    sites = [[] for _ in range(n)]
    y = np.zeros((n, len(ids)) if multitask else n, dtype=np.float32)
    for i in range(n):
        occupied = np.zeros(length, bool)
        if multitask:
            chosen = [m for m in ids if rng.random() < frac_positive / max(1, len(ids) / 2)]
        elif rng.random() < frac_positive:
            k = rng.integers(1, max_per_seq + 1)
            chosen = list(rng.choice(ids, size=min(k, len(ids)), replace=False))
        else:
            chosen = []
        for mid in chosen:
            if _plant(x[i], motifs[mid], mid, rng, occupied, sites[i]):
                if multitask:
                    y[i, ids.index(mid)] = 1
                else:
                    y[i] = 1
        for did, ppm in decoys.items():
            if rng.random() < decoy_rate:
                _plant(x[i], ppm, did, rng, occupied, sites[i])
    return Simulation(x, y, sites, ids, list(decoys))


def _plant(seq, ppm, mid, rng, occupied, record) -> bool:
    w = len(ppm)
    for _ in range(50):
        start = int(rng.integers(0, len(seq) - w + 1))
        if not occupied[start:start + w].any():
            strand = "+" if rng.random() < 0.5 else "-"
            seq[start:start + w] = sample_instance(ppm, rng, strand)
            occupied[start:start + w] = True
            record.append((mid, start, strand))
            return True
    return False


def pooled_model(length: int, n_outputs: int = 1, seed: int = 0, dense: int = 64):
    """Koo & Eddy (2019)-style CNN: ``Conv1D(32, 19) -> MaxPool(4) -> Conv1D(64, 7) -> GlobalMaxPool
    -> Dense(dense) -> Dense(n_outputs, sigmoid)`` on ``(length, 4)``. First-layer filters see
    through a small pool, so they tend to learn motif parts; the second layer assembles them."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((length, 4))
    h = keras.layers.Conv1D(32, 19, padding="same", activation="relu")(inp)
    h = keras.layers.MaxPooling1D(4)(h)
    h = keras.layers.Conv1D(64, 7, padding="same", activation="relu")(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    h = keras.layers.Dense(dense, activation="relu")(h)
    out = keras.layers.Dense(n_outputs, activation="sigmoid")(h)
    return keras.Model(inp, out)


def activation_model(activation: str = "relu", length: int = 101, filters: int = 24, seed: int = 0):
    """Koo & Ploenzke's (2021) test of first-layer activations on a small CNN:
    ``Conv1D(filters, 19, same) -> activation -> MaxPool(2) -> Conv1D(16, 5, relu) -> GlobalMaxPool
    -> Dense(1, sigmoid)`` on ``(length, 4)``, with ``activation`` ``"relu"`` or ``"exponential"``.

    The small first pool lets later layers assemble motifs from parts, so ReLU filters tend to learn
    partial motifs; an exponential activation answers only to strong matches, and its filters tend
    to learn whole ones (their Figure 2).
    """
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((length, 4))
    h = keras.layers.Activation(activation)(keras.layers.Conv1D(filters, 19, padding="same")(inp))
    h = keras.layers.MaxPooling1D(2)(h)
    h = keras.layers.Conv1D(16, 5, padding="same", activation="relu")(h)
    h = keras.layers.GlobalMaxPooling1D()(h)
    return keras.Model(inp, keras.layers.Dense(1, activation="sigmoid")(h))


def seed_model(length: int = 101, filters: int = 128, width: int = 24, layout: str = "1L4",
               n_outputs: int = 1, seed: int = 0, pool: str = "max"):
    """The seed's architecture: conv (ReLU, ``same``) → global max pool → Dense(sigmoid).

    ``layout="1L4"`` builds ``Conv2D(filters, (1, width))`` on ``(1, L, 4)``; ``"L4"`` builds
    the equivalent ``Conv1D`` on ``(L, 4)``. ``pool="mean"`` pools by the mean over positions
    instead, so that every site a filter fires on counts, not only its best one.
    """
    import keras

    keras.utils.set_random_seed(seed)
    if pool not in ("max", "mean"):
        raise ValueError(f"pool must be 'max' or 'mean', not {pool!r}")
    if layout == "1L4":
        inp = keras.Input((1, length, 4))
        h = keras.layers.Conv2D(filters, (1, width), padding="same", activation="relu")(inp)
        h = (keras.layers.GlobalMaxPooling2D() if pool == "max" else keras.layers.GlobalAveragePooling2D())(h)
    elif layout == "L4":
        inp = keras.Input((length, 4))
        h = keras.layers.Conv1D(filters, width, padding="same", activation="relu")(inp)
        h = (keras.layers.GlobalMaxPooling1D() if pool == "max" else keras.layers.GlobalAveragePooling1D())(h)
    else:
        raise ValueError(f"layout must be '1L4' or 'L4', not {layout!r}")
    out = keras.layers.Dense(n_outputs, activation="sigmoid")(h)
    return keras.Model(inp, out)


def train(keras_model, x: np.ndarray, y: np.ndarray, epochs: int = 10, batch_size: int = 64,
          seed: int = 0, validation_split: float = 0.1, verbose: int = 0, learning_rate: float = 1e-3):
    """Fit with Adam and binary cross-entropy, seeded. ``x`` is ``(N, L, 4)``; reshaped to the model's input."""
    import keras

    keras.utils.set_random_seed(seed)
    shape = tuple(keras_model.inputs[0].shape[1:])
    xin = x.reshape((len(x),) + shape) if len(shape) == 3 else (np.transpose(x, (0, 2, 1)) if shape[0] == 4 else x)
    keras_model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="binary_crossentropy",
                        metrics=[keras.metrics.AUC(name="auroc")])
    return keras_model.fit(xin, y, epochs=epochs, batch_size=batch_size, shuffle=True,
                           validation_split=validation_split, verbose=verbose)


def jaspar_ppms(ids: list[str]) -> dict:
    """PPMs ``(W, 4)`` of the bundled JASPAR motifs with these ids (e.g. ``"MA0035.5"``)."""
    from .io import load_motif_db

    db = {m.id: m.ppm for m in load_motif_db()}
    missing = [i for i in ids if i not in db]
    if missing:
        raise KeyError(f"not in the bundled JASPAR: {missing}")
    return {i: db[i] for i in ids}


# The example's planted motifs: three widths (8, 10, 15 bp) and a non-predictive decoy.
# The short one is CREB1 (11.2 bits) rather than GATA1 (9.8 bits): in random 101-bp
# background GATA1's chance matches are so common that the seed's model barely uses it
# (replacing its sites moves the logit by 0.24 against 3.0 for CEBPB; CREB1: 1.6), and an
# interpretation tool can only show what the model learned.
EXAMPLE_MOTIFS = ["MA0018.5", "MA0466.4", "MA0139.2"]  # CREB1, CEBPB, CTCF
EXAMPLE_DECOY = "MA0047.4"  # FOXA2, planted at the same rate in both classes


def example(n: int = 4000, length: int = 101, seed: int = 0) -> Simulation:
    """The example data set: CREB1, CEBPB and CTCF predictive (one per positive), FOXA2 as a decoy."""
    return planted(jaspar_ppms(EXAMPLE_MOTIFS), n=n, length=length,
                   decoys=jaspar_ppms([EXAMPLE_DECOY]), max_per_seq=1, seed=seed)


def pwm_model(motif_ids, length: int = 101, width: int = 24, pool: str = "max", threshold=0.5, weights=None,
              bias=None):
    """The seed's architecture with its filters *set* to motifs' log-odds PWMs, both strands.

    Two filters per motif (forward and reverse complement), centred in ``width``, bias at
    ``threshold`` times the best score (a filter fires on sites scoring more), and a dense layer
    that weighs every filter alike: the output depends on each motif by construction, which makes
    it a ground truth for attribution and motif tests. ``pool="max"`` (the seed's) counts each
    filter's best site; ``"sum"`` adds every site it fires on (a mean pool, the dense weights
    scaled by ``length``), so that every instance carries attribution.

    Parameters
    ----------
    motif_ids : list of str, or dict of str -> ndarray (W, 4)
        JASPAR ids of the bundled database, or PPMs by name (e.g. a composite: two motifs with
        uniform columns between them, which weigh nothing).
    length, width : int
        Input length and kernel width (bp); every motif must fit in ``width``.
    pool : {"max", "sum"}
    threshold : float, or dict of str -> float
        Fraction of a filter's best score its bias cancels (per motif, by name, with a dict; a
        negative one makes a filter fire everywhere, a weak dense preference like real models have).
    weights : array-like, shape (n_motifs, T), optional
        ``T`` outputs: output ``t`` weighs both filters of motif ``m`` by ``weights[m, t]`` (a
        motif × output design known exactly). Default: one output weighing every filter 0.2.
    bias : array-like, shape (T,), optional
        The outputs' biases (default -3).

    Returns
    -------
    interpret.model.Model
    """
    from .model import Model

    ppms = jaspar_ppms(list(motif_ids)) if not isinstance(motif_ids, dict) else dict(motif_ids)
    if pool not in ("max", "sum"):
        raise ValueError(f"pool must be 'max' or 'sum', not {pool!r}")
    dense_w = np.full((len(ppms), 1), 0.2) if weights is None else np.asarray(weights, dtype=np.float32)
    dense_b = np.full(dense_w.shape[1], -3.0) if bias is None else np.asarray(bias, dtype=np.float32)
    km = seed_model(length=length, filters=2 * len(ppms), width=width, layout="1L4", n_outputs=dense_w.shape[1],
                    seed=0, pool="max" if pool == "max" else "mean")
    conv = [layer for layer in km.layers if layer.__class__.__name__ == "Conv2D"][0]
    k = np.zeros((1, width, 4, 2 * len(ppms)), np.float32)
    b = np.zeros(2 * len(ppms), np.float32)
    for j, (name, p) in enumerate(ppms.items()):
        lo = np.log2((p + 0.01) / 0.26)
        off = (width - len(p)) // 2
        for s, m in enumerate((lo, lo[::-1, ::-1])):
            k[0, off:off + len(p), :, 2 * j + s] = m
            b[2 * j + s] = -(threshold[name] if isinstance(threshold, dict) else threshold) * lo.max(1).sum()
    conv.set_weights([k, b])
    scale = length if pool == "sum" else 1  # a mean pool divides every site's activation by the length
    km.layers[-1].set_weights([np.repeat(dense_w * scale, 2, axis=0).astype(np.float32), dense_b.astype(np.float32)])
    return Model.from_keras(km)


def pwm_fires(model, sim: Simulation, motif_ids: list) -> np.ndarray:
    """Whether a :func:`pwm_model`'s filter for each planted instance's motif fires on it.

    Filters ``2j`` and ``2j + 1`` scan for ``motif_ids[j]`` (both strands); an instance of
    ``sim.instances`` counts as seen when either fires (ReLU above 0) within 3 bp of it: the
    instances the model responds to, which alone carry attribution. Returns ``(n_instances,)`` bool.
    """
    import keras

    km = model.keras_model
    conv = [layer for layer in km.layers if layer.__class__.__name__ == "Conv2D"][0]
    act = keras.Model(km.inputs, conv.output)(sim.x[:, None]).numpy()[:, 0]
    t = sim.instances
    return np.array([act[i, max(0, a - 3):b + 3, 2 * motif_ids.index(m):2 * motif_ids.index(m) + 2].max() > 0
                     for i, m, a, b in zip(t["seq_index"], t["motif"], t["start"], t["end"])], dtype=bool)


# Real ChIP-seq peaks, in miniature: what simulations usually leave out.
PEAKS_MOTIF = "MA0496.4"      # MAFK: the factor's own motif, in most but not all positives
PEAKS_COFACTOR = "MA0106.3"   # TP53: a palindromic co-factor in a quarter of the positives
PEAKS_IGNORED = "MA0142.1"    # Pou5f1::Sox2: in both classes alike, so a model has no reason to use it


def genomic_background(n: int, length: int, gc: np.ndarray, rng: np.random.Generator,
                       cpg_depletion: float = 0.25) -> np.ndarray:
    """One-hot ``(n, length, 4)`` background with a GC fraction per sequence and depleted CpG.

    A first-order Markov chain: base ``b`` follows base ``a`` with probability proportional to
    its share at that sequence's GC fraction (``gc`` ``(n,)``), times ``cpg_depletion`` for a G
    after a C (vertebrate genomes hold about a quarter of the CpGs their GC content predicts).
    """
    gc = np.asarray(gc, dtype=np.float64)
    p = np.stack([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2], axis=1)          # (n, 4) A C G T
    trans = np.repeat(p[:, None, :], 4, axis=1)                                  # (n, from, to)
    trans[:, 1, 2] *= cpg_depletion
    trans /= trans.sum(axis=2, keepdims=True)
    cum = np.cumsum(trans, axis=2)
    u = rng.random((n, length))
    idx = np.empty((n, length), np.int64)
    idx[:, 0] = (u[:, :1] > np.cumsum(p, axis=1)).sum(axis=1)
    rows = np.arange(n)
    for i in range(1, length):
        idx[:, i] = (u[:, i:i + 1] > cum[rows, idx[:, i - 1]]).sum(axis=1)
    return np.eye(4, dtype=np.float32)[np.minimum(idx, 3)]


def peaks_like(n: int = 2000, length: int = 200, seed: int = 0) -> Simulation:
    """A binary data set shaped like ChIP-seq peaks against genomic background.

    What real peaks have and :func:`planted` leaves out:

    * **GC bias**: every sequence is :func:`genomic_background` (CpG depleted); positives are
      GC-richer on average (GC ~ Beta, mean 0.52 against 0.42), and 30% of them hold a
      20-40 bp stretch at 75% GC (CpG-island-like; ``gc_runs``), which a model can learn as a
      signal with no motif in it.
    * **Weak and partial instances**: 80% of positives carry the factor's motif
      (:data:`PEAKS_MOTIF`, MAFK): half of them sampled from its PPM, a quarter from a PPM
      flattened towards the background (``0.5 ppm + 0.5 background``), a quarter as one half of
      the motif only. 25% of positives carry a co-factor (:data:`PEAKS_COFACTOR`, TP53).
    * **A motif the model has no reason to use**: :data:`PEAKS_IGNORED` (Pou5f1::Sox2) in 30% of
      sequences of both classes (``decoy_ids``).

    Half the sequences are positive. ``sites`` records ``(motif_id, start, strand)`` of full and
    weak instances and ``(motif_id + ":half", start, strand)`` of partial ones.
    """
    rng = np.random.default_rng(seed)
    ppms = jaspar_ppms([PEAKS_MOTIF, PEAKS_COFACTOR, PEAKS_IGNORED])
    y = (rng.random(n) < 0.5).astype(np.float32)
    gc = np.where(y > 0, rng.beta(13, 12, n), rng.beta(21, 29, n))
    x = genomic_background(n, length, gc, rng)
    sites: list = [[] for _ in range(n)]
    runs: list = [[] for _ in range(n)]
    bg = np.full(4, 0.25)
    for i in range(n):
        occupied = np.zeros(length, bool)
        if y[i] > 0:
            if rng.random() < 0.3:
                w = int(rng.integers(20, 41))
                start = int(rng.integers(0, length - w + 1))
                run = genomic_background(1, w, np.array([0.75]), rng, cpg_depletion=1.0)[0]
                x[i, start:start + w] = run
                runs[i].append((start, start + w))
                occupied[start:start + w] = True
            if rng.random() < 0.8:
                ppm, kind = ppms[PEAKS_MOTIF], rng.random()
                mid = PEAKS_MOTIF
                if kind < 0.25:
                    ppm = 0.5 * ppm + 0.5 * bg
                elif kind < 0.5:
                    half = len(ppm) // 2
                    ppm = ppm[:half] if rng.random() < 0.5 else ppm[half:]
                    mid = PEAKS_MOTIF + ":half"
                _plant(x[i], ppm, mid, rng, occupied, sites[i])
            if rng.random() < 0.25:
                _plant(x[i], ppms[PEAKS_COFACTOR], PEAKS_COFACTOR, rng, occupied, sites[i])
        if rng.random() < 0.3:
            _plant(x[i], ppms[PEAKS_IGNORED], PEAKS_IGNORED, rng, occupied, sites[i])
    return Simulation(x, y, sites, [PEAKS_MOTIF, PEAKS_COFACTOR], [PEAKS_IGNORED], runs)


# Grammar: motifs that count only together, dimers, and instances placed position by position
# (issue #30). Each returns the planted instance table (``Simulation.instances``).
COMPOSITE_PARTS = ("MA0035.5", "MA0091.2")   # GATA1 (7 bp), TAL1::TCF3 (10 bp)
COMPOSITE_SPACING = 20                      # GATA1's start to TAL1::TCF3's start, same strand
COMPOSITE_ALONE = "MA0139.2"                # CTCF: raises the score on its own
TABLE_COLUMNS = ("seq_index", "motif", "start", "end", "strand", "kind", "group")


def _table(rows: list) -> dict:
    """Columns of :data:`TABLE_COLUMNS` from ``(seq_index, motif, start, end, strand, kind, group)`` rows."""
    cols = list(zip(*rows)) if rows else [()] * len(TABLE_COLUMNS)
    dtypes = (np.int64, object, np.int64, np.int64, object, object, np.int64)
    return {c: np.array(v, dtype=d) for c, v, d in zip(TABLE_COLUMNS, cols, dtypes)}


def _plant_block(seq, occupied, parts, rng, strand=None, start=None):
    """Plant motifs at fixed places relative to each other, the block on either strand.

    ``parts``: ``(name, one-hot (w, 4), offset, strand)`` on the block's forward strand (offsets may
    be negative). The block goes at a random free place (or at ``start``, the block's first base,
    if free) and is reverse-complemented as a whole on ``"-"``. Returns ``[(name, start, end,
    strand)]`` in sequence coordinates, or ``[]`` when it does not fit.
    """
    lo = min(off for _, _, off, _ in parts)
    width = max(off + len(m) for _, m, off, _ in parts) - lo
    block = np.zeros((width, 4), np.float32)
    mask = np.zeros(width, bool)
    for _, m, off, st in parts:
        block[off - lo:off - lo + len(m)] = m[::-1, ::-1] if st == "-" else m
        mask[off - lo:off - lo + len(m)] = True
    strand = strand or ("+" if rng.random() < 0.5 else "-")
    if strand == "-":
        block, mask = block[::-1, ::-1], mask[::-1]
    starts = [start] if start is not None else rng.integers(0, len(seq) - width + 1, size=50)
    for a in starts:
        a = int(a)
        if 0 <= a <= len(seq) - width and not (occupied[a:a + width] & mask).any():
            seq[a:a + width][mask] = block[mask]
            occupied[a:a + width] |= mask
            out = []
            for name, m, off, st in parts:
                o = off - lo
                if strand == "-":
                    o, st = width - o - len(m), ("-" if st == "+" else "+")
                out.append((name, a + o, a + o + len(m), st))
            return out
    return []


def composite_like(n: int = 2000, length: int = 200, spacing: int = COMPOSITE_SPACING, seed: int = 0) -> Simulation:
    """GATA1 and TAL1::TCF3 that count only together, at one spacing, in peak-like background.

    The label needs GATA1 (:data:`COMPOSITE_PARTS`, MA0035.5) with TAL1::TCF3 (MA0091.2) starting
    ``spacing`` bp after it on the same strand (the pair planted as a unit on either strand), or
    CTCF (:data:`COMPOSITE_ALONE`), which counts alone (the fixture of issue #30). Half the
    sequences are positive: 60% of them hold the pair, 20% the pair and CTCF, 20% CTCF only.
    Negatives hold what must not count: a lone GATA1 or a lone TAL1::TCF3 (a third each), or the
    two on one strand at another spacing (a third: -45 to -10, 8 to 14 or 26 to 45 bp). Background:
    :func:`genomic_background` (CpG-depleted) with the same GC distribution (Beta(16, 20), mean
    0.44) in both classes, so that only the arrangement tells them apart.

    Returns
    -------
    Simulation
        ``motif_ids``: GATA1, TAL1::TCF3, CTCF. ``instances`` (:data:`TABLE_COLUMNS`): ``kind``
        ``"pair"`` (both members of a counting pair), ``"lone"``, ``"spaced"`` (another spacing),
        ``"alone"`` (CTCF); the two instances of an
        arrangement share ``group``. ``sites`` lists ``(motif_id, start, strand)`` per sequence.
    """
    rng = np.random.default_rng(seed)
    gata, tal = COMPOSITE_PARTS
    ppms = jaspar_ppms([gata, tal, COMPOSITE_ALONE])
    y = (rng.random(n) < 0.5).astype(np.float32)
    x = genomic_background(n, length, rng.beta(16, 20, n), rng)
    rows: list = []
    sites: list = [[] for _ in range(n)]
    n_groups = 0

    def plant(i, occupied, parts, kind):
        nonlocal n_groups
        placed = _plant_block(x[i], occupied, [(m, sample_instance(ppms[m], rng, "+"), off, st)
                                               for m, off, st in parts], rng)
        group = -1
        if len(placed) > 1:
            group, n_groups = n_groups, n_groups + 1
        for name, a, b, st in placed:
            rows.append((i, name, a, b, st, kind, group))
            sites[i].append((name, a, st))

    for i in range(n):
        occupied = np.zeros(length, bool)
        r = rng.random()
        if y[i] > 0:
            if r < 0.8:
                plant(i, occupied, [(gata, 0, "+"), (tal, spacing, "+")], "pair")
            if r >= 0.6:
                plant(i, occupied, [(COMPOSITE_ALONE, 0, "+")], "alone")
        elif r < 2 / 3:
            plant(i, occupied, [(gata if r < 1 / 3 else tal, 0, "+")], "lone")
        else:
            lo_hi = [(-45, -10), (8, 15), (26, 46)][int(rng.integers(0, 3))]
            plant(i, occupied, [(gata, 0, "+"), (tal, int(rng.integers(*lo_hi)), "+")], "spaced")
    return Simulation(x, y, sites, [gata, tal, COMPOSITE_ALONE], [], instances=_table(rows))


DIMER = "MA0106.3"  # TP53: two half-sites, columns 0:9 and 9:18


def dimer_like(n: int = 1000, length: int = 200, spacer: int = 0, seed: int = 0) -> Simulation:
    """TP53 half-sites planted as a dimer, ``spacer`` random bases between them, in peak-like background.

    p53-family response elements are two half-sites (RRRCWWGYYY), adjacent or with a spacer of a
    few bases; a model that reads them at their CATG cores gives a contribution profile with two
    cores and weak columns between (the pattern ``tggaCATGtCtngACATGcCt`` of issue #30). With
    ``spacer=0`` the dimer is MA0106.3 itself. Half the sequences are positive; 90% of the
    positives hold the dimer (columns 0:9 and 9:18 of MA0106.3, the spacer from the background,
    either strand as a unit); 20% of all sequences hold one lone half-site. Background as in
    :func:`composite_like`.

    Returns
    -------
    Simulation
        ``instances``: one row per half-site, ``motif`` ``"MA0106.3[0:9]"`` or ``"MA0106.3[9:18]"``,
        ``kind`` ``"dimer"`` (the two share ``group``) or ``"lone"``.
    """
    rng = np.random.default_rng(seed)
    ppm = jaspar_ppms([DIMER])[DIMER]
    halves = {f"{DIMER}[0:9]": ppm[:9], f"{DIMER}[9:18]": ppm[9:]}
    y = (rng.random(n) < 0.5).astype(np.float32)
    x = genomic_background(n, length, rng.beta(16, 20, n), rng)
    rows: list = []
    sites: list = [[] for _ in range(n)]
    for i in range(n):
        occupied = np.zeros(length, bool)
        plans = []
        if y[i] > 0 and rng.random() < 0.9:
            plans.append(("dimer", [(name, sample_instance(h, rng, "+"), k * (9 + spacer), "+")
                                    for k, (name, h) in enumerate(halves.items())]))
        if rng.random() < 0.2:
            name = list(halves)[int(rng.integers(0, 2))]
            plans.append(("lone", [(name, sample_instance(halves[name], rng, "+"), 0, "+")]))
        for kind, parts in plans:
            placed = _plant_block(x[i], occupied, parts, rng)
            for name, a, b, st in placed:
                rows.append((i, name, a, b, st, kind, i if kind == "dimer" else -1))
                sites[i].append((name, a, st))
    return Simulation(x, y, sites, [DIMER], [], instances=_table(rows))


INSTANCE_MOTIFS = ["MA0139.2", "MA0496.4", "MA0106.3"]  # CTCF (15 bp), MAFK (10 bp), TP53 (18 bp, palindromic)


def instances_like(n: int = 600, length: int = 200, seed: int = 0, motif_ids: list | None = None) -> Simulation:
    """Peak-like sequences with motif instances placed position by position, at both ends too.

    60% of the sequences are positive and hold 1-3 instances of :data:`INSTANCE_MOTIFS` (default),
    each ``"full"`` (sampled from the PPM; 70%), ``"weak"`` (from ``0.5 PPM + 0.5 background``;
    15%) or ``"half"`` (the first or last half of the motif; 15%). A full instance goes within 3 bp
    of one end of the sequence with probability 0.3 (either end alike). Every sequence holds with
    probability 0.2 a ``"cut"`` instance: a motif that runs off one end, only 40-70% of its columns
    planted, at the start or the end of the sequence. Negatives hold nothing else. Background:
    :func:`genomic_background` with GC ~ Beta(13, 14) (mean 0.48), CpG-depleted.

    Returns
    -------
    Simulation
        ``y``: 1 where a full, weak or half instance was planted. ``instances``: ``start:end`` is
        the planted span inside the sequence (for a cut instance, the part inside); ``strand`` the
        strand the JASPAR matrix reads on; ``group`` -1.
    """
    rng = np.random.default_rng(seed)
    ids = list(motif_ids or INSTANCE_MOTIFS)
    ppms = jaspar_ppms(ids)
    bg = np.full(4, 0.25)
    y = (rng.random(n) < 0.6).astype(np.float32)
    x = genomic_background(n, length, rng.beta(13, 14, n), rng)
    rows: list = []
    sites: list = [[] for _ in range(n)]
    for i in range(n):
        occupied = np.zeros(length, bool)
        if rng.random() < 0.2:   # a motif cut by one end of the sequence
            mid = ids[int(rng.integers(0, len(ids)))]
            ppm = ppms[mid]
            w = len(ppm)
            inside = int(np.clip(round(w * rng.uniform(0.4, 0.7)), 1, w - 1))
            strand = "+" if rng.random() < 0.5 else "-"
            inst = sample_instance(ppm, rng, strand)
            if rng.random() < 0.5:
                x[i, :inside], a, b = inst[w - inside:], 0, inside
            else:
                x[i, length - inside:], a, b = inst[:inside], length - inside, length
            occupied[a:b] = True
            rows.append((i, mid, a, b, strand, "cut", -1))
            sites[i].append((mid, a, strand))
        if y[i] == 0:
            continue
        for _ in range(int(rng.integers(1, 4))):
            mid = ids[int(rng.integers(0, len(ids)))]
            ppm, kind, r = ppms[mid], "full", rng.random()
            if r < 0.15:
                ppm, kind = 0.5 * ppm + 0.5 * bg, "weak"
            elif r < 0.3:
                half = len(ppm) // 2
                ppm, kind = (ppm[:half], "half") if rng.random() < 0.5 else (ppm[half:], "half")
            start = None
            if kind == "full" and rng.random() < 0.3:
                off = int(rng.integers(0, 4))
                start = off if rng.random() < 0.5 else length - len(ppm) - off
            placed = _plant_block(x[i], occupied, [(mid, sample_instance(ppm, rng, "+"), 0, "+")], rng, start=start)
            for name, a, b, st in placed:
                rows.append((i, name, a, b, st, kind, -1))
                sites[i].append((name, a, st))
    return Simulation(x, y, sites, ids, [], instances=_table(rows))


# Fixtures for the architectures people train besides the seed's (issue #16): the seed-like
# planted data with motifs of three widths, and a DanQ-like and a Koo-style model whose first
# layer is set to the motifs' PWMs, so what they can have learned is known.
ARCH_MOTIFS = ["MA0143.5", "MA0138.3", "MA0079.5"]  # SOX2 (7 bp), REST (20 bp), SP1 (9 bp, GC-rich)


def arch_data(n: int = 600, length: int = 101, seed: int = 0) -> Simulation:
    """SOX2, REST and SP1 (:data:`ARCH_MOTIFS`) planted one per positive in random 101-bp background."""
    return planted(jaspar_ppms(ARCH_MOTIFS), n=n, length=length, max_per_seq=1, seed=seed)


def pwm_kernel(motif_ids: list[str], width: int, n_filters: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """First-layer weights that scan for motifs' log-odds PWMs (bits against 0.25), both strands.

    A motif wider than ``width`` is covered by the fewest ``width``-column pieces, spread evenly
    and overlapping (REST, 20 bp, becomes columns 0-15 and 5-20 in a 15-bp kernel, 0-19 and 1-20
    in a 19-bp one); shorter motifs are centred in the kernel. Filters beyond those needed are
    zero. Biases are minus half the best score of each piece, so a ReLU fires on good matches only.

    Returns
    -------
    kernel : ndarray, shape (width, 4, n_filters)
    bias : ndarray, shape (n_filters,)
    labels : list of str
        What each used filter scans for, e.g. ``"MA0138.3[0:15]-"`` (the reverse strand).
    """
    kernel = np.zeros((width, 4, n_filters), np.float32)
    bias = np.zeros(n_filters, np.float32)
    labels = []
    for mid, ppm in jaspar_ppms(motif_ids).items():
        lo = np.log2((ppm + 0.01) / 0.26)
        n_pieces = -(-len(lo) // width)
        starts = np.linspace(0, max(len(lo) - width, 0), n_pieces).round().astype(int)
        for a in starts:
            b = min(a + width, len(lo))
            piece = lo[a:b]
            off = (width - len(piece)) // 2
            for strand, m in (("+", piece), ("-", piece[::-1, ::-1])):
                j = len(labels)
                if j >= n_filters:
                    raise ValueError(f"{n_filters} filters cannot hold the pieces of {motif_ids} on both strands")
                kernel[off:off + len(m), :, j] = m
                bias[j] = -0.5 * piece.max(1).sum()
                labels.append(f"{mid}[{a}:{b}]{strand}")
    return kernel, bias, labels


def danq_model(length: int = 101, motif_ids: list[str] | None = None, seed: int = 0):
    """DanQ-like: ``Conv1D(32, 15, relu) -> MaxPool(4) -> Bidirectional(LSTM(16)) -> Dense(1, sigmoid)``.

    The convolution is set to :func:`pwm_kernel` of ``motif_ids`` (default :data:`ARCH_MOTIFS`)
    and frozen; :func:`train` fits the recurrent head. DeepSHAP has no rule for the LSTM.
    """
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((length, 4))
    conv = keras.layers.Conv1D(32, 15, padding="same", activation="relu", trainable=False)
    h = keras.layers.MaxPooling1D(4)(conv(inp))
    h = keras.layers.Bidirectional(keras.layers.LSTM(16))(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    km = keras.Model(inp, out)
    kernel, bias, _ = pwm_kernel(motif_ids or ARCH_MOTIFS, 15, 32)
    conv.set_weights([kernel, bias])
    return km


def koo_model(length: int = 101, motif_ids: list[str] | None = None, seed: int = 0):
    """Koo-style: ``Conv1D(32, 19) -> BatchNorm -> exponential -> MaxPool(25) -> Flatten -> Dense(32, relu)
    -> Dense(1, sigmoid)`` (exponential first-layer activations, Koo & Ploenzke 2021).

    The convolution is set to :func:`pwm_kernel` of ``motif_ids`` (default :data:`ARCH_MOTIFS`)
    and frozen; :func:`train` fits the batch normalisation and the dense head.
    """
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((length, 4))
    conv = keras.layers.Conv1D(32, 19, padding="same", trainable=False)
    h = keras.layers.BatchNormalization()(conv(inp))
    h = keras.layers.Activation("exponential")(h)
    h = keras.layers.MaxPooling1D(25)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(32, activation="relu")(h)
    out = keras.layers.Dense(1, activation="sigmoid")(h)
    km = keras.Model(inp, out)
    kernel, bias, _ = pwm_kernel(motif_ids or ARCH_MOTIFS, 19, 32)
    conv.set_weights([kernel, bias])
    return km
