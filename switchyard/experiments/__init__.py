"""A/B experiments: sticky assignment of requests to variants, and the per-variant report."""

from .assign import assign, bucket, sticky_unit

__all__ = ["assign", "bucket", "sticky_unit"]
