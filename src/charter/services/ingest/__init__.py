"""Ingestion: inference records and late labels, folded into hourly window profiles.

A batch is one transaction: validated in full first (an unknown release, an oversized
field or a bad signal value refuses the whole batch and writes nothing), then folded into
hour buckets with :func:`charter.monitoring.update_window`.

- :mod:`~charter.services.ingest.normalise`: limits, flattening, signal columns, roles;
- :mod:`~charter.services.ingest.records`: inference records, the sample, the id index;
- :mod:`~charter.services.ingest.labels`: late labels joined by inference id;
- :mod:`~charter.services.ingest.buckets`: the hour buckets and batch ids both share.
"""

from charter.services.ingest.labels import ingest_labels
from charter.services.ingest.normalise import MAX_BATCH_RECORDS, SAMPLE_SIZE
from charter.services.ingest.records import ingest_records

__all__ = ["MAX_BATCH_RECORDS", "SAMPLE_SIZE", "ingest_labels", "ingest_records"]
