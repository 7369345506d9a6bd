"""failure.read_failure / billing_decision: a call the provider rejected is not billed; one that
failed after it may have been billed is estimated.

Each span below is built to match what an instrumentation really writes on a failed call, read
in its source (release named per case) or seen on its spans driven against recorded traffic
(tests/e2e/test_e2e_failed_calls.py drives openai-v2, OpenLLMetry, OpenInference and Bedrock).
Exception messages are the provider SDKs' own formats (``__str__`` of their error classes).
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from otel_cost import semconv as sc
from otel_cost.failure import (
    MAY_BE_BILLED,
    REJECTED,
    Failure,
    billing_decision,
    read_failure,
)
from otel_cost.usage import read_call


def _exception(type_: str, message: str) -> tuple[str, Mapping[str, object]]:
    return (
        "exception",
        {sc.EXCEPTION_TYPE: type_, sc.EXCEPTION_MESSAGE: message, "exception.escaped": "False"},
    )


CASES: list[tuple[str, dict[str, object], list[tuple[str, Mapping[str, object]]], Failure]] = [
    (
        # opentelemetry-util-genai 1.1b0 (openai-v2 2.4b0) writes str() of the class, no event.
        "openai-v2 404",
        {sc.ERROR_TYPE: "<class 'openai.NotFoundError'>"},
        [],
        Failure(REJECTED, None, "NotFoundError"),
    ),
    (
        # OpenLLMetry openai 0.62.4: error.type = class name, exception event from the SDK.
        "openllmetry-openai 404",
        {sc.ERROR_TYPE: "NotFoundError"},
        [_exception("openai.NotFoundError", "Error code: 404 - {'error': {'code': 'model_not_found'}}")],
        Failure(REJECTED, 404, "NotFoundError"),
    ),
    (
        # OpenInference openai 0.1.66: no error.type, only the exception event.
        "openinference-openai 401",
        {},
        [
            _exception(
                "openai.AuthenticationError", "Error code: 401 - {'error': {'code': 'invalid_api_key'}}"
            )
        ],
        Failure(REJECTED, 401, "AuthenticationError"),
    ),
    (
        "openllmetry-anthropic 429",
        {sc.ERROR_TYPE: "RateLimitError"},
        [_exception("anthropic.RateLimitError", "Error code: 429 - {'type': 'error'}")],
        Failure(REJECTED, 429, "RateLimitError"),
    ),
    (
        # Anthropic's 529 overloaded_error is a 5xx: nothing says the model did not run.
        "anthropic 529",
        {sc.ERROR_TYPE: "OverloadedError"},
        [_exception("anthropic.OverloadedError", "Error code: 529 - {'type': 'overloaded_error'}")],
        Failure(MAY_BE_BILLED, 529, "OverloadedError"),
    ),
    (
        # OpenLLMetry bedrock 0.62.4: error.type = e.__class__.__name__, botocore's modelled class.
        "openllmetry-bedrock ValidationException",
        {sc.ERROR_TYPE: "ValidationException"},
        [
            _exception(
                "botocore.errorfactory.ValidationException",
                "An error occurred (ValidationException) when calling the Converse operation: "
                "The provided model identifier is invalid.",
            )
        ],
        Failure(REJECTED, None, "ValidationException"),
    ),
    (
        # A code botocore does not model: the generic ClientError; the code is in the message.
        "openllmetry-bedrock ClientError ModelErrorException",
        {sc.ERROR_TYPE: "ClientError"},
        [
            _exception(
                "botocore.exceptions.ClientError",
                "An error occurred (ModelErrorException) when calling the InvokeModel operation: boom",
            )
        ],
        Failure(MAY_BE_BILLED, None, "ModelErrorException"),
    ),
    (
        "openllmetry-bedrock ClientError (404)",
        {sc.ERROR_TYPE: "ClientError"},
        [
            _exception(
                "botocore.exceptions.ClientError",
                "An error occurred (404) when calling the Converse operation: ",
            )
        ],
        Failure(REJECTED, 404, "ClientError"),
    ),
    (
        # Official google-genai 1.3b0 (_error_type.resolve_error_type): the status code itself.
        "google-genai 429",
        {sc.ERROR_TYPE: "429"},
        [],
        Failure(REJECTED, 429, None),
    ),
    (
        "google-genai 503",
        {sc.ERROR_TYPE: "503"},
        [],
        Failure(MAY_BE_BILLED, 503, None),
    ),
    (
        # OpenLLMetry google_generativeai 0.62.4: record_exception only; google.genai APIError str.
        "openllmetry-google-genai 400",
        {},
        [_exception("google.genai.errors.ClientError", "400 INVALID_ARGUMENT. {'error': {'code': 400}}")],
        Failure(REJECTED, 400, "ClientError"),
    ),
    (
        "openllmetry-google-genai 500",
        {},
        [_exception("google.genai.errors.ServerError", "500 INTERNAL. {'error': {'code': 500}}")],
        Failure(MAY_BE_BILLED, 500, "ServerError"),
    ),
    (
        # OpenLLMetry mistralai 0.62.4: error.type = class name; mistralai 3.x SDKError message.
        "openllmetry-mistralai 401",
        {sc.ERROR_TYPE: "SDKError"},
        [
            _exception(
                "mistralai.client.errors.SDKError",
                'API error occurred: Status 401. Body: {"detail":"Unauthorized"}',
            )
        ],
        Failure(REJECTED, 401, "SDKError"),
    ),
    (
        # OpenLLMetry cohere 0.62.4: record_exception; cohere 7.x ApiError.__str__.
        "openllmetry-cohere 429",
        {},
        [
            _exception(
                "cohere.errors.TooManyRequestsError", "headers: {}, status_code: 429, body: {'message': 'x'}"
            )
        ],
        Failure(REJECTED, 429, "TooManyRequestsError"),
    ),
    (
        "timeout",
        {sc.ERROR_TYPE: "APITimeoutError"},
        [_exception("openai.APITimeoutError", "Request timed out.")],
        Failure(MAY_BE_BILLED, None, "APITimeoutError"),
    ),
    (
        "status attribute",
        {sc.HTTP_RESPONSE_STATUS_CODE: 400, sc.ERROR_TYPE: "400"},
        [],
        Failure(REJECTED, 400, None),
    ),
    (
        "408 is a timeout",
        {sc.HTTP_RESPONSE_STATUS_CODE: 408},
        [],
        Failure(MAY_BE_BILLED, 408, None),
    ),
    (
        "an error class nobody lists",
        {sc.ERROR_TYPE: "ValueError"},
        [_exception("builtins.ValueError", "bad")],
        Failure(MAY_BE_BILLED, None, "ValueError"),
    ),
    (
        "nothing at all",
        {},
        [("gen_ai.content.prompt", {})],
        Failure(MAY_BE_BILLED, None, None),
    ),
]


@pytest.mark.parametrize(("attrs", "events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_read_failure(
    attrs: dict[str, object], events: list[tuple[str, Mapping[str, object]]], expected: Failure
) -> None:
    assert read_failure(attrs, events) == expected


def test_read_call_reads_the_failure_of_failed_spans_only() -> None:
    attrs: dict[str, object] = {
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.ERROR_TYPE: "RateLimitError",
    }
    failed = read_call(attrs, failed=True)
    assert failed is not None and failed.failure == Failure(REJECTED, None, "RateLimitError")
    ok = read_call(attrs)
    assert ok is not None and ok.failure is None


def test_billing_decision() -> None:
    rejected = Failure(REJECTED, 429, "RateLimitError")
    broken = Failure(MAY_BE_BILLED, 500, "InternalServerError")
    assert billing_decision(None, has_usage=True) == "usage"
    assert billing_decision(None, has_usage=False) == "estimate"
    # Usage on a failed span was billed, whatever the status said.
    assert billing_decision(rejected, has_usage=True) == "usage"
    assert billing_decision(broken, has_usage=True) == "usage"
    assert billing_decision(rejected, has_usage=False) == "rejected"
    assert billing_decision(broken, has_usage=False) == "estimate_after_error"
