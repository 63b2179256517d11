"""Regenerate the bundled JASPAR files from the pyjaspar package: the motifs and their motif groups.

pyjaspar ships the JASPAR SQLite databases, so nothing is downloaded:

    pip install -e ".[jaspar]" && python scripts/make_jaspar.py

writes, beside each other in ``interpret/data/``,

* ``JASPAR2026_CORE_vertebrates_nr.meme``: the 1,019 CORE vertebrate matrices, latest version of each;
* ``JASPAR2026_CORE_vertebrates_nr.groups.tsv``: per matrix (``interpret.io.MOTIF_GROUP_COLUMNS``)
  its motif group, JASPAR's TF family and class (``::``-joined for dimers, empty where JASPAR
  records none), and its group's family and class: those of the group's best-known single factor
  (the one its name starts with).

**Motif groups** (motif archetypes, as Vierstra et al., Nat. Genet. 2020 clustered 2,179 matrices):
TOMTOM (:func:`interpret.motifs.tomtom.tomtom`) compares every matrix with every other; each
matrix's profile of similarities ``min(-log10 p, 10)`` (symmetrised) is clustered hierarchically
with complete linkage on the correlation distance, and the tree is cut at height
:data:`CUT_HEIGHT` (Vierstra et al. cut at 0.7 on a Kullback-Leibler TOMTOM; on this Euclidean
TOMTOM 0.7 puts TP53/TP63/TP73 with the IRX homeoboxes and MAF with AP-1, 0.6 keeps them apart).

**Group names**, by the best-known members: members of the group's most common TF class come
first (a bHLH group is not named after the one Myb factor in it), then those of which JASPAR has
the most versions, then the oldest matrix ids (MA0018 before MA1651): the factors curated longest. Names sharing a stem (the longest prefix, cut at a letter, that at least three
quarters of the names with the same first three letters share: SOX2, Sox3, SOX13 -> SOX; CEBPA,
CEBPB -> CEBP, written C/EBP) count as one label; numbered zinc-finger names (ZNF, ZFP, ZBTB,
ZSCAN, ZKSCAN, ZBED) never form a stem. The name is the labels of the best-known members, in that
order, until they cover three quarters of the group or three are listed (``SOX``,
``TP53/TP63/TP73``, ``USF/MAX/MITF``); a dimer counts for the labels of its parts and names a group
only of dimers. Two groups that would get the same name are named by their members' own names, and
if that is not enough (two ZNF841 matrices), with the best-known member's id added.

JASPAR is distributed under CC BY 4.0 (Rauluseviciute et al., NAR 2024; jaspar.elixir.no).
"""

import sys
from collections import Counter
from pathlib import Path

import numpy as np
from pyjaspar import jaspardb
from scipy.cluster.hierarchy import fcluster, linkage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from interpret.io import MOTIF_GROUP_COLUMNS, Motif, write_meme, write_tsv  # noqa: E402
from interpret.motifs.tomtom import tomtom  # noqa: E402

RELEASE = "JASPAR2026"
#: Similarities above -log10 p = 10 count as equal (Vierstra et al. set p = 0 to 10 as well).
MAX_SIMILARITY = 10.0
#: Where the complete-linkage tree of correlation distances is cut.
CUT_HEIGHT = 0.6
#: Stems cover at least this share of the names that start with the same three letters ...
STEM_SHARE = 0.75
#: ... and a group's name lists labels until they cover this share of its members (at most MAX_LABELS).
NAME_COVER = 0.75
MAX_LABELS = 3
#: Numbered zinc-finger genes: a shared prefix says nothing about their motifs.
NUMBERED = ("ZNF", "ZFP", "ZBTB", "ZSCAN", "ZKSCAN", "ZBED")
#: The way the field writes a stem.
CONVENTIONAL = {"CEBP": "C/EBP"}


def main() -> None:
    db = jaspardb(release=RELEASE)
    # all_versions=False keeps the latest version of each matrix: the non-redundant set.
    matrices = sorted(db.fetch_motifs(collection="CORE", tax_group=["vertebrates"], all_versions=False),
                      key=lambda m: m.matrix_id)
    motifs = []
    for m in matrices:
        counts = np.array([m.counts[b] for b in "ACGT"], dtype=float).T
        nsites = int(round(counts.sum(axis=1).max()))
        ppm = (counts + 0.01) / (counts + 0.01).sum(axis=1, keepdims=True)
        motifs.append(Motif(m.matrix_id, ppm, m.name.replace(" ", "_"), max(nsites, 1)))
    data = Path(__file__).resolve().parents[1] / "interpret" / "data"
    meme = data / f"{RELEASE}_CORE_vertebrates_nr.meme"
    write_meme(meme, motifs)
    labels = cluster([m.ppm for m in motifs])
    ids, names = [m.id for m in motifs], [m.name for m in motifs]
    classes = [_joined(j.tf_class) for j in matrices]
    order = {k: ranked(list(np.flatnonzero(labels == k)), ids, names, classes) for k in np.unique(labels)}
    group = group_names(order, ids, names)
    rows = [{"id": m.id, "name": m.name, "motif_group": group[k], "tf_family": _joined(j.tf_family),
             "tf_class": _joined(j.tf_class)} for m, j, k in zip(motifs, matrices, labels)]
    for members in order.values():
        first = rows[next((i for i in members if "::" not in names[i]), members[0])]
        for i in members:
            rows[i].update(group_family=first["tf_family"], group_class=first["tf_class"])
    groups = data / f"{RELEASE}_CORE_vertebrates_nr.groups.tsv"
    write_tsv(groups, rows, MOTIF_GROUP_COLUMNS)
    print(f"{len(motifs)} motifs -> {meme}\n{len(set(labels))} motif groups -> {groups}")


def _joined(values) -> str:
    """JASPAR's family or class list as one string: dimers ``A::B``, each value once."""
    return "::".join(dict.fromkeys(v for v in (values or []) if v))


def cluster(ppms: list) -> np.ndarray:
    """Motif group label (1, 2, ...) of each ``(W, 4)`` PPM: complete linkage on the correlation
    distance between similarity profiles ``min(-log10 TOMTOM p, MAX_SIMILARITY)``, cut at CUT_HEIGHT."""
    p = tomtom(ppms, ppms)[0]
    s = np.minimum(-np.log10(np.clip(p, 1e-300, 1.0)), MAX_SIMILARITY)
    s = (s + s.T) / 2
    return fcluster(linkage(s, method="complete", metric="correlation"), CUT_HEIGHT, criterion="distance")


def _known_first(ident: str) -> tuple:
    """Sort key of a matrix id ``MA0018.5``: most versions first, then the oldest id."""
    base, version = ident[2:].split(".")
    return -int(version), int(base)


def _stems(names: list[str]) -> dict:
    """Label of each (upper-case) name: its stem, or the name itself."""
    buckets: dict = {}
    for n in names:
        buckets.setdefault(n if n.startswith(NUMBERED) or len(n) < 3 else n[:3], []).append(n)
    label = {}
    for ns in buckets.values():
        stem = ""
        for width in range(3, max(map(len, ns)) + 1):
            top, count = Counter(n[:width] for n in ns if len(n) >= width).most_common(1)[0]
            cut_in_number = any(len(n) > width and n[width - 1].isdigit() and n[width].isdigit() for n in ns
                                if n.startswith(top))
            if count >= max(2, STEM_SHARE * len(ns)) and not cut_in_number:
                stem = top
        for n in ns:
            label[n] = stem.rstrip("-_.") if stem and n.startswith(stem) else n
    return label


def ranked(members: list, ids: list, names: list, classes: list) -> list:
    """``members`` (indices into ``ids``, ``names``, ``classes``), best-known first: those of the
    group's most common TF class among its single factors first, then by :func:`_known_first`."""
    single = [i for i in members if "::" not in names[i]] or members
    top = Counter(classes[i] for i in single if classes[i]).most_common(1)
    major = top[0][0] if top else ""
    return sorted(members, key=lambda i: (classes[i] != major, *_known_first(ids[i])))


def _name(order: list, names: list, stems: bool = True) -> str:
    """Name of a group from its members ``order`` (indices into ``names``, best-known first)."""
    members = order
    parts = {i: names[i].upper().split("::") for i in members}
    monomers = sorted({names[i].upper() for i in members if "::" not in names[i]})
    if not monomers:  # a group of dimers only
        return names[order[0]].upper()
    label = _stems(monomers) if stems else {n: n for n in monomers}
    out: list[str] = []
    covered: set = set()
    for i in order:
        for lab in (label[x] for x in parts[i] if x in label):
            if lab in out:
                continue
            out.append(lab)
            covered |= {k for k in members if lab in {label.get(x) for x in parts[k]}}
            if len(covered) >= NAME_COVER * len(members) or len(out) == MAX_LABELS:
                return "/".join(CONVENTIONAL.get(x, x) for x in out)
    return "/".join(CONVENTIONAL.get(x, x) for x in out)


def group_names(order: dict, ids: list, names: list) -> dict:
    """``{label: name}`` of every group (``order``: ``{label: members best-known first}``, see
    :func:`ranked`); names are unique (see the module docstring)."""
    out = {k: _name(m, names) for k, m in order.items()}
    clash = Counter(out.values())
    for k, m in order.items():
        if clash[out[k]] > 1:
            out[k] = _name(m, names, stems=False)
    clash = Counter(out.values())
    for k, m in order.items():  # two matrices of one factor in two groups (ZNF841)
        if clash[out[k]] > 1:
            out[k] += f" ({ids[m[0]]})"
    return out


if __name__ == "__main__":
    main()
