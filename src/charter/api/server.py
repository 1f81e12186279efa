"""The ASGI app uvicorn serves, built from the local settings.

Run with ``uvicorn charter.api.server:app`` or ``charter serve``.
"""

from __future__ import annotations

from charter.api.app import create_app
from charter.services.context import Charter
from charter.settings import Settings
from charter.store.db import Database

app = create_app(Charter(Database(Settings.load().database_url)))
