"""Observation ingestion through the real HTTP server."""
