"""Evidence: whether the model uses what the report shows, by in-silico experiments.

=================  ==========================================================================
``edits``          array surgery, no model: backgrounds, instances, insertions, span shuffles
``screen``         every known motif inserted into backgrounds (the known-motif screen)
``effects``        insertion and ablation effects of the run's own motifs and filters
``names``          motif groups beside names, the screen by group, links between the screen and the run's patterns
``truth``          how right the run is: model quality on its labels; against planted truth,
                   interpretability AUROC/AUPR, instance recall and precision, motifs recovered
``across``         comparisons across outputs and runs: motif × output, families matched,
                   runs side by side
=================  ==========================================================================

The statistics they share (paired effects, Benjamini-Hochberg, the response rule) are
:mod:`interpret.stats`, which the motif comparison uses too.
"""
