"""Test-set evaluation: metrics with bootstrap intervals, plot data and figures, a report.

:mod:`~ecgpipe.evaluation.multilabel` scores multilabel data (per-class thresholds tuned on
validation), :mod:`~ecgpipe.evaluation.multiclass` single-label data (the predicted class);
:mod:`~ecgpipe.evaluation.plots` writes DVC plot data and figures for both.
"""
