"""Charter plugins layer."""
