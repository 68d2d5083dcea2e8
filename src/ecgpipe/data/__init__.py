"""Dataset readers and the synthetic generator."""
