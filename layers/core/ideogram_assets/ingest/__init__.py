"""Ingest: generation requests from the queue (upstream events, batches, direct messages)."""
