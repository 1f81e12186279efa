"""What-if ASGI app for the API benchmark: Charter's app over a pooled SQLite engine.

Served by ``uvicorn spine_pooled_server:app --app-dir benchmarks``; identical to
``charter.api.server`` except for the engine's pool (see ``spine_common``).
"""

from __future__ import annotations

from spine_common import pooled_sqlite_database

from charter.api.app import create_app
from charter.services.context import Charter
from charter.settings import Settings

_database = pooled_sqlite_database(Settings.load().database_url)
if _database is None:
    raise RuntimeError("the pooled what-if needs a SQLite database and charter.store.db hooks")
app = create_app(Charter(_database))
