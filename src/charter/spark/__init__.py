"""Charter window profiles computed on Spark, for inference tables that outgrow one machine.

Install with ``pip install 'charter[spark]'``. Only :mod:`charter.spark.job` imports
pyspark (lazily); the rest is pandas and can build, merge and read profiles documents
anywhere::

    from charter.spark import profile_frame, profiles_document, submit_profiles

    buckets = profile_frame(spark.table("inference_log"), reference)    # on the cluster
    document = profiles_document(reference, buckets, release=digest, environment="prod")

    submit_profiles(document, system="credit-limit", environment="prod",
                    url="https://charter.example", token=service_token)  # profiles, not rows

See docs/spark.md.
"""

from charter.spark.buckets import (
    BucketProfile,
    merge,
    profile_rows,
    profiles_document,
    read_document,
    split_document,
)
from charter.spark.job import profile_frame
from charter.spark.submit import submit_profiles

__all__ = [
    "BucketProfile",
    "merge",
    "profile_frame",
    "profile_rows",
    "profiles_document",
    "read_document",
    "split_document",
    "submit_profiles",
]
