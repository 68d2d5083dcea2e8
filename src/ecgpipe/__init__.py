"""ecgpipe: a reproducible pipeline for training and judging ECG classifiers on PhysioNet data."""

__version__ = "0.1.0"
