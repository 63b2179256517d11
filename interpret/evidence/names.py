"""Names a reader can trust: motif groups beside every database name, the screen read by group,
and links between the screen's significant groups and the run's own patterns and filters.

Three things, all from results the run already has (no model is run here):

* **Motif groups.** The bundled JASPAR's matrices are clustered offline into motif groups named by
  their best-known members (``scripts/make_jaspar.py``; ``interpret.io.load_motif_groups``):
  every row that carries a JASPAR match also gets its group, TF family and TF class
  (:func:`annotate`, :data:`GROUP_COLUMNS`). A ``--motif-db`` of the user's has no groups: the
  three columns stay empty and each motif counts as a group of its own, named by its name. The
  redundancy groups of first-layer filters are named after motif groups too (:func:`filter_group_names`).
* **The screen by group** (:func:`screen_groups`): close relatives in JASPAR respond alike, so the
  significant hits are read per group and sign: the group's strongest member, its effect, and how
  many of the group's members respond.
* **Links** (:func:`link`). Each pattern, family and filter lists the significant screen hits it
  *resembles* (:func:`interpret.motifs.compare.resemblance`: TOMTOM q over the database below
  :data:`interpret.motifs.compare.RESEMBLANCE_Q` and aligned Pearson r of at least
  :data:`interpret.motifs.compare.RESEMBLANCE_R`, no order test: looser than a name, and said to be
  resemblance). A screen group is **carried** by the patterns (and families) of its sign that
  resemble one of its responding members, and by the filters that resemble one and whose own
  insertion moves the score the same way; a group with none is "carried by no pattern". And a name
  is a claim the screen can check (:func:`check_name`): whether the named matrix, or its group,
  moves the score with the pattern's sign (:data:`SUPPORTED`, :data:`GROUP_SUPPORTS`), does not
  (:data:`NO_RESPONSE`), or moves it the other way (:data:`OPPOSITE`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..motifs import compare

__all__ = ["GROUP_COLUMNS", "LINK_COLUMNS", "SCREEN_GROUP_COLUMNS", "SUPPORTED", "GROUP_SUPPORTS", "NO_RESPONSE",
           "OPPOSITE", "ScreenGroup", "Links", "annotate", "group_of", "group_summary", "filter_group_names",
           "screen_groups", "check_name", "link"]

#: Columns every table with a JASPAR match gains (of the matched matrix; empty without one).
GROUP_COLUMNS = ["motif_group", "tf_family", "tf_class"]
#: Columns filters.tsv, motifs.tsv and families.tsv gain from the screen.
LINK_COLUMNS = ["resembles", "resembles_groups", "screen_check"]
#: Columns of screen_groups.tsv.
SCREEN_GROUP_COLUMNS = ["motif_group", "tf_family", "tf_class", "sign", "n_members", "n_responding", "id", "name",
                        "mean_delta", "se", "q", "carried", "families", "patterns", "filters"]

#: :func:`check_name`: the named matrix moves the score with the pattern's sign ...
SUPPORTED = "supported"
#: ... it does not, but another member of its motif group does ...
GROUP_SUPPORTS = "group supports"
#: ... neither it nor its group moves the score ...
NO_RESPONSE = "no response"
#: ... or they move it the other way only.
OPPOSITE = "opposite sign"


def annotate(motif_id: str, groups: dict) -> dict:
    """:data:`GROUP_COLUMNS` of database motif ``motif_id`` (all empty for ``""`` or an unknown id)."""
    g = groups.get(motif_id) or {}
    return {k: g.get(k, "") for k in GROUP_COLUMNS}


def group_of(motif_id: str, name: str, groups: dict) -> str:
    """The motif group of a database motif; without groups (a user's ``--motif-db``) its own name."""
    return (groups.get(motif_id) or {}).get("motif_group") or name


def group_summary(groups: dict) -> dict:
    """Per motif group of a database: ``{"n_members", "tf_family", "tf_class"}`` (the group's, see
    :func:`interpret.io.load_motif_groups`)."""
    out: dict = {}
    for g in groups.values():
        row = out.setdefault(g["motif_group"], {"n_members": 0, "tf_family": g["group_family"],
                                                "tf_class": g["group_class"]})
        row["n_members"] += 1
    return out


def filter_group_names(rows: list, groups: dict) -> dict:
    """Names of the redundancy groups of first-layer filters after motif groups.

    Parameters
    ----------
    rows : list of dict
        ``filters.tsv`` rows (``group``, ``jaspar_id``: empty unless the filter is named).
    groups : dict
        :func:`interpret.io.load_motif_groups` of the database.

    Returns
    -------
    dict
        ``{group: "CREB/ATF/CREM-like"}`` for every filter group in which more than half of the named
        members match one motif group; other groups are left out (they keep their name).
    """
    named: dict = {}
    for r in rows:
        if r["jaspar_id"] in groups:
            named.setdefault(r["group"], []).append(groups[r["jaspar_id"]]["motif_group"])
    out = {}
    for g, mgs in named.items():
        top = max(dict.fromkeys(mgs), key=mgs.count)
        if 2 * mgs.count(top) > len(mgs):
            out[g] = f"{top}-like"
    return out


@dataclass(frozen=True)
class ScreenGroup:
    """The significant screen hits of one motif group and one sign.

    Attributes
    ----------
    group : str
        Motif group (:func:`group_of`).
    sign : int
        +1: its members raise the score; -1: they lower it.
    best : dict
        The strongest responding member's screen row (largest ``|mean_delta|``).
    members : list of str
        Ids of the responding members, strongest first.
    n_members : int
        Members of the group among the screened motifs (the whole database).
    tf_family, tf_class : str
        The group's (:func:`group_summary`); empty without groups.
    """

    group: str
    sign: int
    best: dict
    members: list
    n_members: int
    tf_family: str
    tf_class: str


def screen_groups(rows: list, groups: dict) -> list[ScreenGroup]:
    """The screen's significant hits by motif group and sign, strongest group first.

    Parameters
    ----------
    rows : list of dict
        Screen rows of every screened motif (``id, name, mean_delta, se, q, effect_significant``
        with numbers and a bool): a group's size is its number of rows.
    groups : dict
        :func:`interpret.io.load_motif_groups` of the screened database (``{}``: each motif is its
        own group, named by its name; motifs of one name are one group).

    Returns
    -------
    list of ScreenGroup
        Raising groups first, each sign by its strongest member's ``|mean_delta|``.
    """
    summary = group_summary(groups)
    hits: dict = {}
    size: dict = {}
    for r in rows:
        name = group_of(r["id"], r["name"], groups)
        size[name] = size.get(name, 0) + 1
        if r["effect_significant"] and r["mean_delta"]:
            hits.setdefault((name, int(np.sign(r["mean_delta"]))), []).append(r)
    out = []
    for (name, sign), rs in hits.items():
        rs = sorted(rs, key=lambda r: -abs(r["mean_delta"]))
        g = summary.get(name, {})
        out.append(ScreenGroup(name, sign, rs[0], [r["id"] for r in rs], size[name], g.get("tf_family", ""),
                               g.get("tf_class", "")))
    return sorted(out, key=lambda g: (-g.sign, -abs(g.best["mean_delta"])))


def check_name(motif_id: str, sign: int, screen: dict, groups: dict) -> str:
    """What the screen says of naming a pattern after database motif ``motif_id``.

    Parameters
    ----------
    motif_id : str
        The pattern's (or filter's) JASPAR match; ``""``: not named.
    sign : int
        +1 or -1: the sign the name claims (a pattern's); 0: either (a filter without a
        significant effect of its own).
    screen : dict
        ``{id: screen row}`` of every screened motif; empty without a screen.
    groups : dict
        :func:`interpret.io.load_motif_groups` of the database.

    Returns
    -------
    str
        :data:`SUPPORTED`, :data:`GROUP_SUPPORTS`, :data:`NO_RESPONSE`, :data:`OPPOSITE`, or ``""``
        when the pattern is not named or there is no screen (or the name is not in it).
    """
    own = screen.get(motif_id) if motif_id else None
    if own is None:
        return ""
    group = group_of(motif_id, own["name"], groups)
    relatives = [r for i, r in screen.items() if i != motif_id and groups and group_of(i, r["name"], groups) == group]

    def agrees(r):
        return r["effect_significant"] and (sign == 0 or np.sign(r["mean_delta"]) == sign)

    if agrees(own):
        return SUPPORTED
    if any(agrees(r) for r in relatives):
        return GROUP_SUPPORTS
    if any(r["effect_significant"] for r in [own, *relatives]):
        return OPPOSITE
    return NO_RESPONSE


@dataclass(frozen=True)
class Links:
    """Which significant screen hits each query resembles, and which queries carry each screen group.

    Attributes
    ----------
    resembles : dict
        ``{kind: [[hit id, ...] per query]}`` for kinds ``"patterns"``, ``"families"``,
        ``"filters"``: the responding database motifs each query resembles, most similar first.
    carried : dict
        ``{(group, sign): {kind: [query id, ...]}}`` for every :class:`ScreenGroup`: the queries
        of that kind that carry it (empty lists: carried by none).
    """

    resembles: dict
    carried: dict

    def carried_by(self, group: ScreenGroup) -> str:
        """``"pattern"`` (a pattern or family carries it), ``"filter"`` (only filters), or ``"none"``."""
        c = self.carried.get((group.group, group.sign), {})
        if c.get("patterns") or c.get("families"):
            return "pattern"
        return "filter" if c.get("filters") else "none"


def link(queries: dict, db, rows: list, groups: dict, **resemblance) -> Links:
    """Resemblance between the run's patterns, families and filters and the screen's responding hits.

    Parameters
    ----------
    queries : dict
        ``{kind: (ids, ppms, signs)}`` per kind (``"patterns"``, ``"families"``, ``"filters"``):
        query ids, their PPMs ``(W, 4)``, and the sign each may carry (+1, -1; 0: none, the query
        carries nothing, e.g. a filter without a significant effect of its own).
    db : list of interpret.io.Motif
        The screened database, in the order of :func:`interpret.motifs.compare.resemblance`.
    rows : list of dict
        The screen's rows (as for :func:`screen_groups`).
    groups : dict
        :func:`interpret.io.load_motif_groups` of the database.
    **resemblance
        Thresholds for :func:`interpret.motifs.compare.resemblance`.

    Returns
    -------
    Links
    """
    index = {m.id: j for j, m in enumerate(db)}
    hit = {r["id"]: r for r in rows if r["effect_significant"] and r["mean_delta"] and r["id"] in index}
    resembles, carried = {}, {}
    for kind, (ids, ppms, signs) in queries.items():
        found = compare.resemblance(list(ppms), db, [index[i] for i in hit], **resemblance) if len(ppms) else []
        resembles[kind] = [[db[x.target].id for x in f] for f in found]
        for qid, hits, sign in zip(ids, resembles[kind], signs):
            for h in hits:
                r = hit[h]
                if sign and np.sign(r["mean_delta"]) == sign:
                    key = (group_of(h, r["name"], groups), int(sign))
                    lst = carried.setdefault(key, {}).setdefault(kind, [])
                    if qid not in lst:
                        lst.append(qid)
    return Links(resembles, carried)
