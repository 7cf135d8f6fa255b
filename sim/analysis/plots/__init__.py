"""Figures of a batch (`povsim plot`): each answers one question, titled with it (docs/analysis.md).

Every figure function takes a :class:`sim.batch.results.Results` and returns a matplotlib ``Figure``
(tests and the report inspect it); it raises :class:`SkipFigure` when the batch did not record
what the figure needs. Figures are built on ``matplotlib.figure.Figure`` with the Agg canvas, never
through pyplot, so plotting changes no global state and leaks no open figures. Colours are the
Okabe–Ito palette (distinguishable with the common colour-vision deficiencies); bands are the 50%
and 90% ranges of the run values (25th–75th and 5th–95th percentiles over seeds × samples).

Modules: ``style`` (colours, series, bands), ``figures`` (the figures and their data),
``heatmap`` (an outcome over two levers), ``make`` (which figures, written where).
"""
