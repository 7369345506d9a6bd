"""A plain OpenAI app with no OpenTelemetry code in it: run it under zero-code instrumentation
and otel-cost prices every call.

    pip install -e . opentelemetry-distro     # from the repository root (not on PyPI yet)
    OTEL_COST_ENABLED=true OTEL_SERVICE_NAME=zero-code-demo OTEL_TRACES_EXPORTER=console \\
        opentelemetry-instrument python app.py

OPENAI_API_KEY (and optionally OPENAI_BASE_URL) are read by the OpenAI SDK as usual.
"""

from __future__ import annotations

import openai

import otel_cost


def main() -> None:
    with openai.OpenAI() as client, otel_cost.attribution(project="zero-code-demo", user="u-1"):
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Say this is a test"}]
        )
    print(reply.choices[0].message.content)


if __name__ == "__main__":
    main()
