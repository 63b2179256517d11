"""Report: the HTML page and figures, rendered from a finished output directory.

=================  ==========================================================================
``render``         ``render_report``: ``report.html`` and ``figures/`` from the saved outputs
``logo``           sequence logos as SVG (and through matplotlib for the PDF figures)
``templates/``     the page's Jinja templates
=================  ==========================================================================
"""

from .render import render_report

__all__ = ["render_report"]
