"""Charter services layer."""
