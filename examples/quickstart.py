"""otel-cost quickstart: one line added to an ordinary OpenTelemetry setup.

    pip install -e .        # from the repository root (otel-cost is not on PyPI yet); this also
                            # installs openai and opentelemetry-instrumentation-openai-v2
    OPENAI_API_KEY=sk-... python examples/quickstart.py

Every exported LLM span carries ``cost.amount``, ``cost.currency``, the token counts and
``cost.attribution.*``; with a MeterProvider the cost metrics are recorded too.
"""

from __future__ import annotations

import openai
from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

import otel_cost


def main() -> None:
    meter_provider = MeterProvider(metric_readers=[PeriodicExportingMetricReader(ConsoleMetricExporter())])
    provider = TracerProvider(
        resource=Resource.create({"service.name": "quickstart"}),
        # Sample as you like (ratio 1.0 here); dropped spans are still priced and counted.
        sampler=otel_cost.RecordAllSampler(TraceIdRatioBased(1.0)),
    )
    # The one line: wrap the processor that exports.
    provider.add_span_processor(
        otel_cost.CostSpanProcessor(BatchSpanProcessor(ConsoleSpanExporter()), meter_provider=meter_provider)
    )
    OpenAIInstrumentor().instrument(tracer_provider=provider)

    with openai.OpenAI() as client, otel_cost.attribution(project="search", cost_center="cc-42", user="u-1"):
        reply = client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Say this is a test"}]
        )
    print(reply.choices[0].message.content)
    provider.shutdown()
    meter_provider.shutdown()


if __name__ == "__main__":
    main()
