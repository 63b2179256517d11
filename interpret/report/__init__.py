"""Report: the HTML page and figures, rendered from a finished output directory.

=================  ==========================================================================
``render``         ``render_report``: ``report.html`` and ``figures/`` from the saved outputs
``logo``           sequence logos as SVG (and through matplotlib for the PDF figures)
``across``         the index page of ``--target all`` and the page of ``interpret compare``
``evaluation``     the model-quality and planted-truth parts of a run's page
``templates/``     the page's Jinja templates
=================  ==========================================================================
"""

from .render import render_report

__all__ = ["render_report"]
