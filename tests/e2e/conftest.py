"""End-to-end fixtures: a real SDK pipeline with CostSpanProcessor, real instrumentations
patching the real provider SDKs, and a loopback server replaying recorded traffic."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator

import pytest
from e2e_support import Pipeline  # pyright: ignore[reportImplicitRelativeImport]
from opentelemetry.context import Context
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_cost import CostSpanProcessor

# OpenLLMetry 0.62 declares a class-based pydantic config at import time; pydantic 2 warns about it
# (PydanticDeprecatedSince20). That is upstream's to fix; import it once here with the warning off
# so filterwarnings=error still catches every warning from our own code.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import openinference.instrumentation.openai  # noqa: F401
    import opentelemetry.instrumentation.anthropic
    import opentelemetry.instrumentation.bedrock
    import opentelemetry.instrumentation.openai
    import opentelemetry.instrumentation.openai.v1.responses_wrappers
    import opentelemetry.instrumentation.openai_v2  # noqa: F401


class _Switch(SpanProcessor):
    """Forwards to the current test's processor. Instrumentations are instrumented against one
    session-wide TracerProvider because OpenLLMetry's responses wrapper keeps the tracer of its
    first ``instrument()`` call across uninstrument/instrument (0.62.4)."""

    def __init__(self) -> None:
        self.current: SpanProcessor | None = None

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if self.current is not None:
            self.current.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        if self.current is not None:
            self.current.on_end(span)


_SWITCH = _Switch()
_PROVIDER = TracerProvider(resource=Resource.create({"service.name": "e2e"}))
_PROVIDER.add_span_processor(_SWITCH)


@pytest.fixture
def make_pipeline() -> Iterator[Callable[..., Pipeline]]:
    """``make_pipeline(**options)``: the session TracerProvider (resource service.name=e2e)
    exporting through a fresh ``CostSpanProcessor(SimpleSpanProcessor(InMemorySpanExporter),
    meter_provider=..., **options)``."""
    made: list[tuple[CostSpanProcessor, MeterProvider]] = []

    def make(**options: object) -> Pipeline:
        exporter = InMemorySpanExporter()
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        processor = CostSpanProcessor(SimpleSpanProcessor(exporter), meter_provider=meter_provider, **options)  # type: ignore[arg-type]
        _SWITCH.current = processor
        made.append((processor, meter_provider))
        return Pipeline(_PROVIDER, exporter, reader)

    yield make
    _SWITCH.current = None
    for processor, meter_provider in made:
        processor.shutdown()
        meter_provider.shutdown()


@pytest.fixture
def pipeline(make_pipeline: Callable[..., Pipeline]) -> Pipeline:
    """A pipeline with the default catalog."""
    return make_pipeline()


def _openai_v2() -> BaseInstrumentor:
    from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

    return OpenAIInstrumentor()


def _openllmetry_openai() -> BaseInstrumentor:
    from opentelemetry.instrumentation.openai import OpenAIInstrumentor

    return OpenAIInstrumentor()


def _openinference_openai() -> BaseInstrumentor:
    from openinference.instrumentation.openai import OpenAIInstrumentor

    return OpenAIInstrumentor()


def _openllmetry_anthropic() -> BaseInstrumentor:
    from opentelemetry.instrumentation.anthropic import AnthropicInstrumentor

    return AnthropicInstrumentor()


def _openllmetry_bedrock() -> BaseInstrumentor:
    from opentelemetry.instrumentation.bedrock import BedrockInstrumentor

    return BedrockInstrumentor()


INSTRUMENTORS: dict[str, tuple[Callable[[], BaseInstrumentor], tuple[str, ...]]] = {
    "openai-v2": (_openai_v2, ("opentelemetry.instrumentation.openai_v2", "opentelemetry.util.genai")),
    "openllmetry-openai": (_openllmetry_openai, ("opentelemetry.instrumentation.openai.",)),
    "openllmetry-anthropic": (_openllmetry_anthropic, ("opentelemetry.instrumentation.anthropic",)),
    "openinference-openai": (_openinference_openai, ("openinference.instrumentation.openai",)),
    "openllmetry-bedrock": (_openllmetry_bedrock, ("opentelemetry.instrumentation.bedrock",)),
}


_ACTIVE: dict[str, BaseInstrumentor] = {}


def _unwrap_leftovers() -> list[str]:
    """Remove wrappers OpenLLMetry's openai instrumentation (0.62.4) leaves on openai 3.x classes
    after uninstrument() (chat completions and responses), so later tests see a clean SDK."""
    import importlib
    import inspect
    import pkgutil

    import openai.resources

    removed: list[str] = []
    for info in pkgutil.walk_packages(openai.resources.__path__, "openai.resources."):
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            for name, attribute in list(vars(cls).items()):
                value = attribute
                while hasattr(value, "__wrapped__") and str(
                    getattr(getattr(value, "_self_wrapper", None), "__module__", "")
                ).startswith("opentelemetry.instrumentation.openai."):
                    value = value.__wrapped__
                    setattr(cls, name, value)
                    removed.append(f"{cls.__qualname__}.{name}")
    return removed


@pytest.fixture(scope="session", autouse=True)
def _uninstrument_at_end() -> Iterator[None]:
    yield
    for instrumentor in _ACTIVE.values():
        instrumentor.uninstrument()
    _ACTIVE.clear()
    _unwrap_leftovers()


@pytest.fixture
def instrument(pipeline: Pipeline) -> Iterator[Callable[[str], None]]:
    """``instrument(name)``: activate that instrumentation on the session provider and look only
    at its spans in this test.

    openai-v2 and OpenInference's openai instrumentation are instrumented for the test and
    uninstrumented after it. OpenLLMetry's are
    instrumented once per session and left in place: 0.62's uninstrument() leaves most of its
    wrappers on openai 3.x, so instrumenting again would stack a second wrapper. Before the others
    are instrumented, OpenLLMetry's openai wrappers are removed (``_unwrap_leftovers``), so no two
    instrumentations wrap one SDK call.
    """
    scoped: list[BaseInstrumentor] = []

    def do(name: str) -> None:
        factory, scope = INSTRUMENTORS[name]
        pipeline.scope = scope
        if name in ("openai-v2", "openinference-openai"):
            leftover = _ACTIVE.pop("openllmetry-openai", None)
            if leftover is not None:  # both would wrap the same SDK calls
                leftover.uninstrument()
                _unwrap_leftovers()
            instrumentor = factory()
            instrumentor.instrument(tracer_provider=_PROVIDER)
            scoped.append(instrumentor)
        elif name not in _ACTIVE:
            instrumentor = factory()
            instrumentor.instrument(tracer_provider=_PROVIDER)
            _ACTIVE[name] = instrumentor

    yield do
    for instrumentor in scoped:
        instrumentor.uninstrument()
