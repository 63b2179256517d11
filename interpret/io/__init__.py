"""Every file format the package reads or writes, and nothing else.

This is the loading boundary: models (``.h5``, ``.keras``, SavedModel), sequences (``.npz``,
``.npy``, FASTA, gzipped or not, BED + genome) and motif files (MEME) come in here and leave in
the package's conventions (one-hot ``(N, L, 4)`` float32, A C G T). Large inputs need not fit in
memory as float32: a ``.npy`` stays on disk (memory-mapped) and FASTA is kept as one byte per
base; both are validated in one streaming pass on loading and converted to float32 a block of
rows at a time when read (:class:`RowReader`).

Outputs are written here too: a run's directory in a staging directory that is renamed into
place only when complete, with a record of the stages it finished so an interrupted run can
resume (:class:`OutputDir`); attributions into a file that commits shard by shard and survives
a kill at any moment (:class:`AttributionStore`). An interrupted run never leaves anything that
looks finished.

The package is one step of the flow, split by what is read or written:

=============  ==========================================================================
``models``     ``load_model``, ``load_custom_objects``
``sequences``  ``Sequences``, ``RowReader`` (``NpyRows``, ``CodeRows``), ``to_nl4``, FASTA and one-hot encoding
``peaks``      ``read_bed``, ``load_peaks`` (windows from a genome through pyfaidx), ``write_bed``
``loading``    ``load_sequences`` (every input format, validated), ``labels_for_model``
``formats``    MEME (``Motif``, ``read_meme``, ``load_motif_db``, ``load_motif_groups``), JSON, TSV, text, HDF5 tables, ``modisco.h5``
``outdir``     ``OutputDir`` (staged, resumable stages, locked), ``partial_path``, ``check_replaceable`` (what
               ``--force`` may replace), ``finished`` (nothing to resume), ``check_unlocked``
``store``      ``AttributionStore`` (``attributions.h5`` shard by shard), ``read_attributions`` and friends
``shards``     ``ShardFiles``: a stage's finished shards, one file each (hit calling resumes from them)
``truth``      ``read_truth`` (``--truth``: planted positions or instances, checked against the input)
``runs``       ``read_run`` (a finished run directory, for ``interpret compare`` and ``--target all``)
=============  ==========================================================================

Everything public is importable from ``interpret.io`` itself.
"""

from ..errors import InputError
from .formats import (MOTIF_GROUP_COLUMNS, Motif, add_tsv_columns, copy_file, format_meme, jaspar_path, json_value,
                      load_motif_db, load_motif_groups, motif_groups_path, read_h5, read_json, read_meme, read_tsv,
                      write_h5, write_json, write_meme, write_modisco_h5, write_text, write_tsv)
from .loading import BED_SUFFIXES, X_KEYS, Y_KEYS, labels_for_model, load_sequences
from .models import load_custom_objects, load_model
from .outdir import MARKER, OutputDir, check_replaceable, check_unlocked, finished, is_marked, partial_path
from .peaks import load_peaks, read_bed, write_bed
from .sequences import (ALPHABET, STREAM_BYTES, CodeRows, NpyRows, RowReader, Sequences, decode, one_hot_encode,
                        read_fasta_codes, to_nl4)
from .shards import ShardFiles
from .runs import RunFiles, read_run
from .store import (AttributionStore, NotResumable, attributions_info, iter_attributions, read_attributions,
                    read_progress, read_top_attributions)
from .truth import Truth, read_truth

__all__ = [
    "ALPHABET", "BED_SUFFIXES", "STREAM_BYTES", "X_KEYS", "Y_KEYS", "AttributionStore", "CodeRows", "InputError",
    "MARKER", "MOTIF_GROUP_COLUMNS", "Motif", "NotResumable", "NpyRows", "OutputDir", "RowReader", "RunFiles",
    "Sequences", "ShardFiles", "Truth", "add_tsv_columns", "attributions_info", "check_replaceable", "check_unlocked",
    "copy_file", "decode", "finished", "format_meme", "is_marked", "iter_attributions", "motif_groups_path",
    "jaspar_path", "json_value", "labels_for_model", "load_custom_objects", "load_model", "load_motif_db",
    "load_motif_groups", "load_peaks", "load_sequences",
    "one_hot_encode", "partial_path", "read_attributions", "read_bed", "read_fasta_codes", "read_h5", "read_json",
    "read_meme", "read_progress", "read_run", "read_top_attributions", "read_truth", "read_tsv", "to_nl4", "write_bed",
    "write_h5",
    "write_json", "write_meme", "write_modisco_h5", "write_text", "write_tsv",
]
