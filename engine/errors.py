"""The API's error families and the exception that carries one to the caller.

Handlers raise `ApiError`; the dispatcher turns it into a response with
`ret_code` and a one-sentence `message` that names the parameter or resource
at fault and what would be accepted.
"""

from __future__ import annotations

BAD_REQUEST = 1100
AUTH_FAILED = 1200
PERMISSION_DENIED = 1400
NOT_FOUND = 2100
LIMIT_EXCEEDED = 2400
INTERNAL_ERROR = 5000
BUSY = 5100
WRONG_STATE = 5200

HTTP_STATUS = {
    0: 200,
    BAD_REQUEST: 400,
    AUTH_FAILED: 401,
    PERMISSION_DENIED: 403,
    NOT_FOUND: 404,
    LIMIT_EXCEEDED: 409,
    INTERNAL_ERROR: 500,
    BUSY: 409,
    WRONG_STATE: 409,
}


class ApiError(Exception):
    """An error response: ret_code from the families above and its message."""

    def __init__(self, ret_code: int, message: str) -> None:
        super().__init__(message)
        self.ret_code = ret_code
        self.message = message


def bad_request(message: str) -> ApiError:
    return ApiError(BAD_REQUEST, message)


def not_found(message: str) -> ApiError:
    return ApiError(NOT_FOUND, message)


def busy(message: str) -> ApiError:
    return ApiError(BUSY, message)


def wrong_state(message: str) -> ApiError:
    return ApiError(WRONG_STATE, message)
