"""interpret: what did my DNA convolutional network learn?

Kernel logos of the first layer, DeepSHAP and gradient attributions, TF-MoDISco motifs,
JASPAR matches, and one report that sets them side by side.

>>> import interpret
>>> model = interpret.load_model("model.h5")
>>> seqs = interpret.load_sequences("data.npz")
>>> result = interpret.run(model, seqs, out="out/")
"""

from .errors import InputError
from .io import load_model, load_peaks, load_sequences, Sequences, Motif, read_meme
from .model import Model

__version__ = "0.2.0"


def run(model, seqs, out, **options):
    """Run the whole pipeline (what ``interpret run`` does); see :func:`interpret.pipeline.run`."""
    from .pipeline import run as _run

    return _run(model, seqs, out, **options)


__all__ = ["InputError", "load_model", "load_peaks", "load_sequences", "Sequences", "Motif", "read_meme", "Model", "run",
           "__version__"]
