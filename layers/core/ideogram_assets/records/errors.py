"""Errors about records, importable without loading PynamoDB (the API maps them at cold start)."""


class InvalidTransition(RuntimeError):
    """A state change the record's life does not allow; nothing was written."""


class GenerationNotFound(LookupError):
    """No record has this id (404)."""
