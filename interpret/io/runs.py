"""A finished run directory read back: what ``interpret compare`` and ``--target all`` set side by side."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InputError
from .formats import read_h5, read_json, read_tsv


@dataclass
class RunFiles:
    """The tables and matrices of one finished ``interpret run`` (missing optional files empty).

    Attributes
    ----------
    path : Path
    summary : dict
        ``summary.json``.
    filters, motifs, families, usage : list of dict
        Rows of ``filters.tsv``, ``motifs.tsv``, ``families.tsv`` and ``motif_filters.tsv``, as text.
    family_ppm, family_cwm : dict of str -> ndarray (W, 4)
        Pooled matrices of each family (``families/<id>`` in ``motifs.h5``).
    """

    path: Path
    summary: dict
    filters: list = field(default_factory=list)
    motifs: list = field(default_factory=list)
    families: list = field(default_factory=list)
    usage: list = field(default_factory=list)
    family_ppm: dict = field(default_factory=dict)
    family_cwm: dict = field(default_factory=dict)


def read_run(path) -> RunFiles:
    """Read the files of a finished run directory that comparisons need.

    Raises :class:`InputError` (one line) when ``path`` is not a finished run of one output: no
    directory, no ``summary.json``, or the index of a ``--target all`` run (whose outputs are its
    ``target_<t>`` folders).
    """
    d = Path(path)
    if not d.is_dir():
        raise InputError(f"{d} is not a directory; give the --out directory of a finished `interpret run`.")
    if not (d / "summary.json").is_file():
        raise InputError(f"{d} is not a finished interpret run (no summary.json); give the --out directory of a "
                         "finished `interpret run`.")
    summary = read_json(d / "summary.json")
    if "targets" in summary:
        raise InputError(f"{d} is a --target all run; give its per-output folders ({d}/target_0, ...) instead.")
    if "compare" in summary:
        raise InputError(f"{d} is the output of interpret compare, not a run; give the runs it compared.")
    run = RunFiles(d, summary)
    for name, attr in (("filters.tsv", "filters"), ("motifs.tsv", "motifs"), ("families.tsv", "families"),
                       ("motif_filters.tsv", "usage")):
        if (d / name).is_file():
            setattr(run, attr, read_tsv(d / name))
    if (d / "motifs.h5").is_file() and run.families:
        arrays, _ = read_h5(d / "motifs.h5")
        for key, arr in arrays.items():
            parts = key.split("/")
            if len(parts) == 3 and parts[0] == "families":
                target = run.family_ppm if parts[2] == "ppm" else run.family_cwm if parts[2] == "cwm" else None
                if target is not None:
                    target[parts[1]] = np.asarray(arr, dtype=np.float64)
    return run
