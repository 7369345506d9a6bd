"""The demo's agent: a travel assistant that answers with the help of a paid weather API.

It is an ordinary OpenTelemetry-instrumented application: the ``openai`` SDK (its spans come from
``opentelemetry-instrumentation-openai-v2``), an ``httpx`` client for the weather API (its spans
come from ``opentelemetry-instrumentation-httpx``), and two hand-made spans the GenAI semantic
conventions describe, ``invoke_agent`` and ``execute_tool``. Nothing here knows about cost: the
``CostSpanProcessor`` the demo installs prices what these spans record.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from openai import OpenAI
from openai.types.chat import ChatCompletionFunctionToolParam
from opentelemetry.trace import SpanKind, Tracer

from otel_cost import semconv as sc

AGENT_NAME = "travel-assistant"
MODEL = "gpt-4o-mini"
EMBEDDING_MODEL = "text-embedding-3-small"
# The prompts of the recorded conversation the demo replays (see data/openai_responses.json).
SYSTEM_PROMPT = "You're a helpful assistant."
QUESTION = "What's the weather in Seattle and San Francisco today?"
INDEXED_TEXT = "This is a test for embeddings"

WEATHER_TOOL: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. Boston, MA"}
            },
            "required": ["location"],
            "additionalProperties": False,
        },
    },
}


def get_current_weather(weather: httpx.Client, location: str) -> str:
    """The tool: one call of the paid weather API, answered as text for the model."""
    response = weather.get("/v1/weather", params={"location": location})
    response.raise_for_status()
    reading = response.json()
    return f"{reading['temperature_f']} degrees and {reading['conditions']}"


def run_agent(client: OpenAI, weather: httpx.Client, tracer: Tracer, question: str = QUESTION) -> str:
    """One agent turn: the model asks for tools, the tools run, the model answers."""
    attributes = {
        sc.GEN_AI_OPERATION_NAME: "invoke_agent",
        sc.GEN_AI_AGENT_NAME: AGENT_NAME,
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: MODEL,
    }
    with tracer.start_as_current_span(
        f"invoke_agent {AGENT_NAME}", kind=SpanKind.INTERNAL, attributes=attributes
    ):
        messages: list[Any] = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": question},
        ]
        first = client.chat.completions.create(
            model=MODEL, messages=messages, tools=[WEATHER_TOOL], tool_choice="auto"
        )
        reply = first.choices[0].message
        calls = [c for c in reply.tool_calls or [] if c.type == "function"]
        messages.append(
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": c.id,
                        "type": "function",
                        "function": {"name": c.function.name, "arguments": c.function.arguments},
                    }
                    for c in calls
                ],
            }
        )
        for call in calls:
            tool_attributes = {
                sc.GEN_AI_OPERATION_NAME: "execute_tool",
                sc.GEN_AI_TOOL_NAME: call.function.name,
                sc.GEN_AI_TOOL_CALL_ID: call.id,
            }
            with tracer.start_as_current_span(
                f"execute_tool {call.function.name}", kind=SpanKind.INTERNAL, attributes=tool_attributes
            ):
                location = json.loads(call.function.arguments)["location"]
                result = get_current_weather(weather, location)
            messages.append({"role": "tool", "content": result, "tool_call_id": call.id})
        final = client.chat.completions.create(model=MODEL, messages=messages)
        return final.choices[0].message.content or ""


def index_document(client: OpenAI, text: str = INDEXED_TEXT) -> int:
    """The indexer job: embed one text; returns the vector's length."""
    response = client.embeddings.create(model=EMBEDDING_MODEL, input=text)
    return len(response.data[0].embedding)
