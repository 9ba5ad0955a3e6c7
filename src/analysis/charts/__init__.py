"""Charts: figures drawn from ``out_counts`` in the house style, with alt text.

Modules: :mod:`~analysis.charts.figures` (one function per chart), :mod:`~analysis.charts.data` (the rows a
chart draws, from ``out_counts``), :mod:`~analysis.charts.draw`, :mod:`~analysis.charts.alt` (alt text) and
:mod:`~analysis.charts.style`.
"""
