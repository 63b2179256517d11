"""Attribution: what each base of each sequence contributes to the explained output.

=================  ==========================================================================
``methods``        ``DeepShap``, ``GradientXInput``, ``Saliency``, ``IntegratedGradients``, ``ISM``:
                   one ``attribute()`` call each, returning an ``AttributionResult``
``deeplift``       the DeepLIFT rules on the Keras graph that ``DeepShap`` runs
``recurrent``      LSTM, GRU, SimpleRNN recomputed from their weights for those rules
``shuffle``        dinucleotide shuffles (DeepSHAP's references, the screen's backgrounds)
``usage``          a window's contribution split exactly over the first layer's filters
``distributed``    the shard loop that fills an ``attributions.h5``, in this process or on Dask
=================  ==========================================================================

The methods are importable from here (``interpret.attribution.DeepShap``).
"""

from .methods import (ISM, METHODS, AttributionResult, DeepShap, GradientXInput, IntegratedGradients, Saliency,
                      check_deepshap_support, get_method, iter_attribute, unsupported_part)

__all__ = ["AttributionResult", "DeepShap", "GradientXInput", "IntegratedGradients", "ISM", "METHODS", "Saliency",
           "check_deepshap_support", "get_method", "iter_attribute", "unsupported_part"]
