"""The release gate: one `charter gate` process, and many gates in one process."""
