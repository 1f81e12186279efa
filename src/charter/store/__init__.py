"""Charter store layer."""
