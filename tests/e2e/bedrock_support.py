"""Amazon Bedrock runtime answers served on loopback, for driving the real boto3 client and the
real OpenLLMetry Bedrock instrumentation without AWS.

There are no recorded Bedrock cassettes; the response bodies here follow the Bedrock runtime API
reference (https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html:
``usage.inputTokens`` counts the input tokens *not* read from or written to the prompt cache,
``cacheReadInputTokens`` / ``cacheWriteInputTokens`` the cached ones, ``totalTokens`` all of
them plus output) and its error format (``x-amzn-ErrorType`` header, ``{"message": ...}`` body).
The spans under test are the instrumentation's real output for these answers.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config

from otel_cost.replay import Interaction

_JSON = (("Content-Type", "application/json"),)


def converse_path(model_id: str, operation: str = "converse") -> str:
    """The request path boto3 sends for ``modelId`` (``:`` percent-encoded)."""
    return f"/model/{quote(model_id, safe='')}/{operation}"


def converse_answer(
    model_id: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_read: int = 0,
    cache_write: int = 0,
    text: str = "Hello",
) -> Interaction:
    """A successful Converse answer with the given usage (Bedrock's convention: input excludes cache)."""
    body = {
        "output": {"message": {"role": "assistant", "content": [{"text": text}]}},
        "stopReason": "end_turn",
        "usage": {
            "inputTokens": input_tokens,
            "outputTokens": output_tokens,
            "totalTokens": input_tokens + output_tokens + cache_read + cache_write,
            "cacheReadInputTokens": cache_read,
            "cacheWriteInputTokens": cache_write,
        },
        "metrics": {"latencyMs": 120},
    }
    return Interaction("POST", converse_path(model_id), 200, json.dumps(body).encode(), _JSON)


def error_answer(model_id: str, status: int, error_type: str, message: str) -> Interaction:
    """A Bedrock runtime error answer (``x-amzn-ErrorType``), as botocore parses it."""
    headers = (
        *_JSON,
        ("x-amzn-ErrorType", f"{error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
    )
    body = json.dumps({"message": message}).encode()
    return Interaction("POST", converse_path(model_id), status, body, headers)


def client(url: str) -> Any:
    """A bedrock-runtime boto3 client for the loopback server: fixed dummy credentials, no retries."""
    return boto3.client(  # pyright: ignore[reportUnknownMemberType]
        "bedrock-runtime",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def converse(bedrock: Any, model_id: str, prompt: str = "Hi") -> Any:
    return bedrock.converse(modelId=model_id, messages=[{"role": "user", "content": [{"text": prompt}]}])
