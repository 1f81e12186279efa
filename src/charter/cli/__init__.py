"""Charter cli layer."""
