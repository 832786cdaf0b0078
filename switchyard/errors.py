"""Exceptions.

    SwitchyardError
    ├── APIError                  sent to the client as OpenAI-style error JSON
    │   ├── BadRequest            400 invalid_request_error
    │   ├── Unauthorized          401 no or unknown key
    │   ├── Forbidden             403 model not allowed for the key
    │   ├── NotFound              404 unknown model or path
    │   ├── PayloadTooLarge       413 body over the limit
    │   ├── RateLimited           429 the key's limit, with Retry-After
    │   └── NoTargetSucceeded     502/504 every target failed
    ├── UpstreamError             one provider call failed; the router decides what next
    │   ├── UpstreamStatus        the provider answered an error status
    │   │   └── Overloaded        a local engine's queue is full: go elsewhere now (503 + Retry-After)
    │   ├── CheckFailed           an answer that failed validation or a cascade check
    │   ├── UpstreamTimeout       no answer (or no next chunk) within the attempt's timeout
    │   └── UpstreamConnection    refused, reset, DNS, TLS, or a malformed answer
    └── ConfigError               the config file is invalid (names file, line, key path)
"""

from __future__ import annotations


class SwitchyardError(Exception):
    pass


class APIError(SwitchyardError):
    status = 500
    type = "server_error"
    code: str | None = None

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 type: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        if type is not None:
            self.type = type
        self.headers = headers or {}

    def to_dict(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": None, "code": self.code}}


class BadRequest(APIError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"


class Unauthorized(APIError):
    status = 401
    type = "authentication_error"
    code = "invalid_api_key"


class Forbidden(APIError):
    status = 403
    type = "permission_error"
    code = "model_not_allowed"


class NotFound(APIError):
    status = 404
    type = "invalid_request_error"
    code = "model_not_found"


class PayloadTooLarge(APIError):
    status = 413
    type = "invalid_request_error"
    code = "request_too_large"


class RateLimited(APIError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit_exceeded"


class NoTargetSucceeded(APIError):
    status = 502
    type = "upstream_error"
    code = "upstream_failed"


class UpstreamError(SwitchyardError):
    """A provider call failed. `retryable` says whether another try may succeed."""

    status = 502
    retryable = True

    def __init__(self, message: str, *, status: int | None = None, retryable: bool | None = None,
                 retry_after: float | None = None, body: dict | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if retryable is not None:
            self.retryable = retryable
        self.retry_after = retry_after
        self.body = body  # the upstream's error JSON, returned to the client on a 4xx
        self.usage = None  # tokens spent before failing (an answer that failed its checks): still charged


class UpstreamStatus(UpstreamError):
    def __init__(self, status: int, message: str, *, retry_after: float | None = None, body: dict | None = None):
        # 429 and 5xx may pass; other 4xx are the client's fault and are returned, not retried.
        # 408 (timeout) and 409 (conflict, some providers' overload) are transient too.
        retryable = status in (408, 409, 429) or status >= 500
        super().__init__(message, status=status, retryable=retryable, retry_after=retry_after, body=body)


class Overloaded(UpstreamStatus):
    """The target is at capacity: move on to another target now rather than retrying this one."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(503, message, retry_after=retry_after)
        self.retryable = False


class CheckFailed(UpstreamError):
    """An answer came back but did not pass: invalid structure, or a cascade check. Next target."""

    status = 502
    retryable = False

    def __init__(self, message: str, usage):
        super().__init__(message)
        self.usage = usage


class UpstreamTimeout(UpstreamError):
    status = 504


class UpstreamConnection(UpstreamError):
    status = 502


class ConfigError(SwitchyardError):
    pass
