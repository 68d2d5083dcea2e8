"""Thin entry points of the DVC stages, one module each, over the library."""
