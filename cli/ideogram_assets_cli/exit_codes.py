"""What each exit status of `ideogram-assets` means, and which one an API reply gets. One place."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    UNEXPECTED = 1
    BAD_INPUT = 2  # also what a command-line usage error exits with
    PARTIAL = 3
    AUTH_CONFIG = 4
    NOT_FOUND = 5
    UNAVAILABLE = 6
    INTERRUPTED = 130  # Ctrl-C, as shells report SIGINT


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.UNEXPECTED: "an answer the command could not read, or an error of the command itself",
    ExitCode.BAD_INPUT: (
        "bad input: a usage error, or the API refused the request (400, 422; 409 when the record's "
        "state does not allow a retention change or a curation, when generate --on-duplicate reject "
        "found the same images stored, or when a record cannot be reproduced), or the retention "
        "function refused the task, or a file to write exists (without --force)"
    ),
    ExitCode.PARTIAL: (
        "partial result: generated, but some image is not stored yet (202), or a retention task "
        "stopped before it was done (the next run goes on), or pull left out images it could not "
        "fetch or verify, or some request of a batch failed"
    ),
    ExitCode.AUTH_CONFIG: (
        "credentials or configuration: the API refused the signature (401, 403), the service's "
        "Ideogram key is refused (502), no endpoints file, no AWS credentials or region, no such "
        "retention function"
    ),
    ExitCode.NOT_FOUND: "not found (404)",
    ExitCode.UNAVAILABLE: (
        "unavailable: Ideogram, storage, the API or the retention function failed or is busy (409 "
        "with Retry-After: the same request still running, "
        "429, 5xx, a function error), or could not be reached in time, or a download did not match "
        "its record, or an export failed; retrying later may succeed"
    ),
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}

# The API says 502 both when Ideogram refuses the service's key (an operator must fix the
# configuration) and when Ideogram answers unreadably (an upstream failure); only the message
# tells them apart.
_IDEOGRAM_KEY_REFUSED = "ideogram api key"


def exit_code_for_status(status: int, message: str = "") -> ExitCode:
    """The exit code for an API reply with this HTTP status (and error message)."""
    if status in (200, 201):
        return ExitCode.OK
    if status == 202:
        return ExitCode.PARTIAL
    if status in (400, 422):
        return ExitCode.BAD_INPUT
    if status in (401, 403):
        return ExitCode.AUTH_CONFIG
    if status == 404:
        return ExitCode.NOT_FOUND
    if status == 502 and _IDEOGRAM_KEY_REFUSED in message.lower():
        return ExitCode.AUTH_CONFIG
    if status in (408, 409, 429) or 500 <= status <= 599:
        return ExitCode.UNAVAILABLE
    return ExitCode.UNEXPECTED


# The one function error that is the caller's: the function refused the payload (a command line
# newer or older than the deployed function); anything else it raises is a failure of its own.
_REFUSED_PAYLOAD_ERROR = "InvalidRetentionRequest"
# Lambda's refusals of the caller's credentials, whatever HTTP status each comes with.
_CREDENTIAL_ERRORS = frozenset(
    {
        "AccessDeniedException",
        "UnrecognizedClientException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "ExpiredTokenException",
        "MissingAuthenticationToken",
    }
)


def exit_code_for_function_error(error_type: str) -> ExitCode:
    """The exit code for a function error (Lambda's X-Amz-Function-Error, its errorType)."""
    return ExitCode.BAD_INPUT if error_type == _REFUSED_PAYLOAD_ERROR else ExitCode.UNAVAILABLE


def exit_code_for_lambda_error(status: int, error_code: str) -> ExitCode:
    """The exit code for Lambda's own refusal of an Invoke (not the function's error)."""
    if error_code == "ResourceNotFoundException":
        return ExitCode.AUTH_CONFIG  # the function's name is configuration (--function)
    if error_code in _CREDENTIAL_ERRORS or status in (401, 403):
        return ExitCode.AUTH_CONFIG
    if status == 400:
        return ExitCode.BAD_INPUT
    # 409 (the function is being updated), 429 (throttled), 5xx: Lambda is busy or failing.
    if status in (409, 429) or 500 <= status <= 599:
        return ExitCode.UNAVAILABLE
    return ExitCode.UNEXPECTED


def exit_codes_help() -> str:
    """The table of exit codes that every command's --help ends with."""
    lines = [f"{int(code):>3}  {MEANINGS[code]}" for code in ExitCode]
    return "Exit codes:\n\n" + "\n\n".join(lines)
