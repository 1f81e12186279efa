"""Charter window profiles computed on Spark, for inference tables that outgrow one machine.

Install with ``pip install 'charter[spark]'``. Only :mod:`charter.spark.job` imports
pyspark (lazily); the rest is pandas and can build, merge and read profiles documents
anywhere::

    from charter.spark import profile_frame, profiles_document

    buckets = profile_frame(spark.table("inference_log"), reference)    # on the cluster
    document = profiles_document(reference, buckets, release=digest, environment="prod")

Submitting the document (profiles, not rows) to the API is not wired yet; see
docs/spark.md, "Submitting".

See docs/spark.md.
"""

from charter.spark.buckets import (
    BucketProfile,
    merge,
    profile_rows,
    profiles_document,
    read_document,
)
from charter.spark.job import profile_frame

__all__ = [
    "BucketProfile",
    "merge",
    "profile_frame",
    "profile_rows",
    "profiles_document",
    "read_document",
]
