"""Batches: many generation requests at once, queued for the ingest, and their progress."""
