"""Drift detection beside Evidently and whylogs."""
