"""Exports of the generation history: a job per export, written to S3 as JSON Lines or CSV.

The API function records a job and hands it to the export worker, which streams every record
that matches the job's filters into one S3 object (constant memory, whatever the count) and
marks the job DONE or FAILED. Modules: rows (a record as an export line), writer (lines into a
multipart upload), jobs (the job items), service (the worker's run), wiring.
"""
