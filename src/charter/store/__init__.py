"""Charter store layer."""

#: The newest revision in ``migrations/versions``. Kept as a constant (here, where importing
#: it costs nothing) so that everyday commands check the schema without importing Alembic,
#: and `charter status` without SQLAlchemy (a test keeps it in step).
SCHEMA_HEAD = "0011"
