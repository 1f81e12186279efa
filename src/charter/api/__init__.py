"""Charter api layer."""
