"""Charter's benchmarks: one folder per benchmark, shared helpers in ``common``."""
