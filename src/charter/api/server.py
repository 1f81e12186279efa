"""The ASGI app uvicorn serves, built from the local settings.

Run with ``uvicorn charter.api.server:app`` or ``charter serve``.
"""

from __future__ import annotations

import gc

from charter.api.app import create_app
from charter.services.context import Charter
from charter.settings import Settings
from charter.store.db import Database

app = create_app(Charter(Database(Settings.load().database_url)))

# What start-up made (the modules, the app, its routes and models: ~280,000 objects) lives
# until the process ends, yet every full collection walked it again: 0.15-0.3 s on every
# other portfolio page of 1,000 systems (benchmarks/web). Frozen, the collector leaves
# those objects alone; everything made afterwards (requests) is collected as before.
gc.freeze()
