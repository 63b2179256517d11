"""Motifs: patterns in the attributions, and how they compare with the kernels and known motifs.

=================  ==========================================================================
``modisco``        TF-MoDISco (modisco-lite) with settings for the input's size, trimming,
                   seqlets, motif families and the minor-pattern rule
``tomtom``         TOMTOM's complete-score statistic in NumPy
``compare``        matches to a motif database with the false-match guard; filter × motif
                   tables; redundant filter groups and their names
``composition``    GC fraction, CpG rate and complexity flags of a motif's core
=================  ==========================================================================

TF-MoDISco's entry points are importable from here (``interpret.motifs.discover``).
"""

from .modisco import (Family, ModiscoSettings, MotifResult, Pattern, Seqlet, auto_settings, discover, fold_minor,
                      group_families, parts_of, trim_bounds, trim_cores)

__all__ = ["Family", "ModiscoSettings", "MotifResult", "Pattern", "Seqlet", "auto_settings", "discover", "fold_minor",
           "group_families", "parts_of", "trim_bounds", "trim_cores"]
