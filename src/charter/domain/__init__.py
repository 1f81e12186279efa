"""Charter domain layer."""
