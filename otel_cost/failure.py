"""What a failed call's span says about why it failed, and whether the provider billed it.

A span with status ERROR records a call that did not complete. Two cases cost differently:

- **rejected**: the provider refused the request before any model ran (HTTP 4xx: invalid
  parameters, authentication, permission, unknown model, rate limit). Providers do not bill
  these: the call costs nothing, and otel-cost records it as priced at zero with
  ``cost.reason=rejected`` (never an estimate, never a silent $0).
- **may have been billed**: the request reached a model and the call failed after that, or we
  cannot tell (HTTP 5xx, timeouts, broken connections and streams, an error class we do not
  know). Without usage on the span, such a call is estimated from its request (content) and
  flagged ``cost.usage.estimated`` with ``cost.reason=failed_estimated``.

A call whose span carries usage was billed for that usage, failed or not: the usage is priced.

How the facts are read (first that answers wins), as the instrumentations write them:

1. ``http.response.status_code`` (or the older ``http.status_code``) on the span;
2. ``error.type`` when it is a status code (``"429"``: the official google-genai instrumentation);
3. the ``exception`` events' ``exception.message`` in the provider SDKs' formats: openai and
   anthropic ``Error code: 404 - ...``; google-genai and google-api-core ``429 RESOURCE_EXHAUSTED...``;
   mistralai ``API error occurred: Status 401. Body: ...``; cohere ``headers: ..., status_code: 429,
   body: ...``;
   botocore ``An error occurred (ThrottlingException) when calling ...`` (an AWS error code);
4. the error class: ``error.type`` (OpenLLMetry and the official instrumentations write the class
   name; opentelemetry-util-genai 1.1b0 writes ``"<class 'openai.NotFoundError'>"``), else the
   ``exception`` events' ``exception.type`` (``openai.NotFoundError``: OpenInference writes only
   this), looked up by its last dotted part in :data:`REJECTED_ERRORS` / :data:`BILLED_ERRORS`.

Status codes 400-499 are rejections except 408 (request timeout) and 499 (client closed the
request while the server worked on it): a timeout may come after the model ran.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from otel_cost import semconv as sc

FailureKind = Literal["rejected", "may_be_billed"]

REJECTED: FailureKind = "rejected"
MAY_BE_BILLED: FailureKind = "may_be_billed"

REJECTED_ERRORS: frozenset[str] = frozenset(
    {
        # openai / anthropic SDKs (APIStatusError subclasses for 4xx answers)
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "UnprocessableEntityError",
        "RateLimitError",
        "PaymentRequiredError",
        "PreconditionFailedError",
        "ContentTooLargeError",
        # botocore error codes (Bedrock runtime's 4xx exceptions)
        "ValidationException",
        "AccessDeniedException",
        "ResourceNotFoundException",
        "ThrottlingException",
        "ServiceQuotaExceededException",
        "UnrecognizedClientException",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "ModelNotReadyException",
        # google-genai (4xx) and google-api-core
        "ClientError",
        "InvalidArgument",
        "PermissionDenied",
        "NotFound",
        "ResourceExhausted",
        "Unauthenticated",
        "FailedPrecondition",
        "Unauthorized",
        "Forbidden",
        "TooManyRequests",
        # cohere, mistralai
        "UnauthorizedError",
        "ForbiddenError",
        "TooManyRequestsError",
        "InvalidTokenError",
        "HTTPValidationError",
    }
)
"""Error classes (last dotted part) that mean the provider refused the request."""

BILLED_ERRORS: frozenset[str] = frozenset(
    {
        "APITimeoutError",
        "APIConnectionError",
        "InternalServerError",
        "OverloadedError",
        "ServiceUnavailableError",
        "GatewayTimeoutError",
        "ModelTimeoutException",
        "ModelErrorException",
        "ModelStreamErrorException",
        "InternalServerException",
        "ServiceUnavailableException",
        "ServerError",
        "DeadlineExceeded",
        "ServiceUnavailable",
        "ReadTimeout",
        "ReadTimeoutError",
        "TimeoutError",
        "RemoteProtocolError",
        "ClientClosedRequestError",
    }
)
"""Error classes that mean the call failed after the provider may have run (and billed) it.
Any class in neither table is treated the same way: nothing says the request was refused."""

_STATUS_IN_MESSAGE = (
    re.compile(r"^Error code: (\d{3})\b"),  # openai, anthropic
    re.compile(r"^(\d{3}) [A-Za-z]"),  # google-genai, google-api-core
    re.compile(r"\bStatus (\d{3})\b"),  # mistralai SDKError
    re.compile(r"\bstatus_code: (\d{3})\b"),  # cohere ApiError
)
_AWS_ERROR_CODE = re.compile(r"^An error occurred \((\w+)\)")
_CLASS_REPR = re.compile(r"^<class '([^']*)'>$")

FAILURE_KEYS: frozenset[str] = frozenset({sc.HTTP_RESPONSE_STATUS_CODE, sc.HTTP_STATUS_CODE, sc.ERROR_TYPE})
"""Span attribute keys :func:`read_failure` reads."""
EXCEPTION_EVENT = "exception"


@dataclass(frozen=True, slots=True)
class Failure:
    """Why a call failed, as far as its span says."""

    kind: FailureKind
    status_code: int | None = None
    """The HTTP status the provider answered, when the span tells it."""
    error_class: str | None = None
    """The error class (or AWS error code) the span names, last dotted part."""


def _status(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 100 <= value <= 599 else None
    if isinstance(value, str) and len(value) == 3 and value.isdigit():
        return _status(int(value))
    return None


def _class_name(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    match = _CLASS_REPR.match(value)
    name = match.group(1) if match else value
    return name.rsplit(".", 1)[-1] or None


def _message_facts(message: object) -> tuple[int | None, str | None]:
    """(status code, AWS error code) an SDK's exception message states."""
    if not isinstance(message, str):
        return None, None
    for pattern in _STATUS_IN_MESSAGE:
        match = pattern.search(message)
        if match:
            return _status(match.group(1)), None
    match = _AWS_ERROR_CODE.match(message)
    if match is None:
        return None, None
    code = match.group(1)  # botocore names an AWS error code, or the HTTP status when it has none
    return (_status(code), None) if code.isdigit() else (None, code)


def kind_of_status(code: int) -> FailureKind:
    """4xx is a refusal, except 408 and 499 (the model may have run); anything else may be billed."""
    return REJECTED if 400 <= code < 500 and code not in (408, 499) else MAY_BE_BILLED


def kind_of_error(name: str | None) -> FailureKind:
    """A refusal when the error class is one of :data:`REJECTED_ERRORS`; otherwise may be billed."""
    return REJECTED if name in REJECTED_ERRORS else MAY_BE_BILLED


def read_failure(
    attrs: Mapping[str, object], events: Iterable[tuple[str, Mapping[str, object]]] = ()
) -> Failure:
    """The :class:`Failure` of a span with status ERROR, from its attributes and its
    ``(event name, event attributes)``; see the module docstring for what is read. Never raises."""
    status = _status(attrs.get(sc.HTTP_RESPONSE_STATUS_CODE))
    if status is None:
        status = _status(attrs.get(sc.HTTP_STATUS_CODE))
    error_type = attrs.get(sc.ERROR_TYPE)
    if status is None:
        status = _status(error_type)
    error_class = _class_name(error_type)
    for name, event in events:
        if name != EXCEPTION_EVENT:
            continue
        if status is None:
            status, aws_code = _message_facts(event.get(sc.EXCEPTION_MESSAGE))
            if aws_code is not None:
                error_class = aws_code  # botocore's generic ClientError names the code only here
        if error_class is None:
            error_class = _class_name(event.get(sc.EXCEPTION_TYPE))
    if error_class is not None and error_class.isdigit():
        error_class = None  # error.type was the status code itself
    if status is not None:
        return Failure(kind_of_status(status), status, error_class)
    return Failure(kind_of_error(error_class), None, error_class)


Decision = Literal["usage", "rejected", "estimate", "estimate_after_error"]


def billing_decision(failure: Failure | None, has_usage: bool) -> Decision:
    """How to price one call, from its failure (``None`` when it did not fail) and whether its
    span reported usage.

    ``usage``: price the reported usage (a failed call that reports usage was billed for it);
    ``rejected``: the provider refused it, nothing was billed: cost zero, ``cost.reason=rejected``;
    ``estimate_after_error``: estimate usage from the request, ``cost.reason=failed_estimated``;
    ``estimate``: a call that did not fail and reports no usage: estimate as usual.
    """
    if has_usage:
        return "usage"
    if failure is None:
        return "estimate"
    return "rejected" if failure.kind == REJECTED else "estimate_after_error"
