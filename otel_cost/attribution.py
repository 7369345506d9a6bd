"""Who pays for a call: W3C baggage, resource attributes and span attributes -> ``cost.attribution.*``.

Setting attribution::

    with otel_cost.attribution(project="search", cost_center="cc-42", user="u-1"):
        client.chat.completions.create(...)

puts each key in W3C baggage as ``cost.<key>`` (``cost.project=search``), so the standard
propagators carry it to every downstream service. The ``cost.`` prefix keeps the keys apart
from other baggage an application sets. The processor copies them to ``cost.attribution.<key>``
on each span as it starts (while the span is still mutable).

Resolution (:func:`resolve_attribution`, shared with the receiver), highest precedence first:

1. ``cost.attribution.<key>`` already on the span (set by the application, or copied from
   baggage by an upstream processor);
2. baggage: every ``cost.<key>`` entry, plus the keys of ``AttributionConfig.baggage``
   (defaults: ``user.id`` -> user, ``session.id`` -> session);
3. span attributes (``AttributionConfig.span_attributes``; defaults: ``user.id`` and
   ``enduser.id`` -> user, ``session.id`` and ``gen_ai.conversation.id`` -> session,
   ``gen_ai.agent.name`` -> agent);
4. resource attributes (``AttributionConfig.resource_attributes``; defaults: ``service.name`` ->
   service, ``deployment.environment.name`` and ``deployment.environment`` -> environment).

Within one source the first listed attribute that is present wins. Keys are lower-case
identifiers (``[a-z][a-z0-9_]*``); values are strings cut to ``MAX_VALUE_LENGTH`` characters.

Inbound baggage is untrusted (any client can send 180 entries in one W3C header), so it
contributes at most ``AttributionConfig.max_baggage_keys`` keys (default
:data:`MAX_BAGGAGE_KEYS`): the configured names first, then ``cost.<key>`` entries in header
order. The rest are dropped (logged once per process), so a flood of entries cannot push the
span's own attributes (``gen_ai.request.model``, ...) past the SDK's attribute limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from opentelemetry import baggage, context

from otel_cost import semconv as sc

_logger = logging.getLogger(__name__)

BAGGAGE_PREFIX = "cost."
"""Baggage keys set by :func:`attribution` are ``cost.<key>``."""

ATTRIBUTE_PREFIX = sc.COST_ATTRIBUTION + "."
"""Span attribute prefix: ``cost.attribution.<key>``."""

MAX_VALUE_LENGTH = 256

MAX_BAGGAGE_KEYS = 32
"""Attribution keys baggage may add to one span by default: a quarter of the SDK's default limit
of 128 span attributes, far above the handful of keys (project, team, user, session ...) that
attribution uses, and low enough to leave the instrumentation's own attributes room."""

_KEY = re.compile(r"[a-z][a-z0-9_]*\Z")


def check_key(key: str, source: str | None = None) -> None:
    """Raise ``ValueError`` unless ``key`` is an attribution key (``source``: the name it maps from)."""
    if not _KEY.match(key):
        mapped = f" (for {source!r})" if source is not None else ""
        raise ValueError(f"attribution key {key!r}{mapped} must match [a-z][a-z0-9_]*")


def _default_baggage() -> dict[str, str]:
    return {sc.USER_ID: "user", sc.SESSION_ID: "session"}


def _default_span_attributes() -> dict[str, str]:
    return {
        sc.USER_ID: "user",
        sc.ENDUSER_ID: "user",
        sc.SESSION_ID: "session",
        sc.GEN_AI_CONVERSATION_ID: "session",
        sc.GEN_AI_AGENT_NAME: "agent",
    }


def _default_resource_attributes() -> dict[str, str]:
    return {
        sc.SERVICE_NAME: "service",
        sc.DEPLOYMENT_ENVIRONMENT_NAME: "environment",
        sc.DEPLOYMENT_ENVIRONMENT: "environment",
    }


@dataclass(frozen=True)
class AttributionConfig:
    """Which baggage entries, span attributes and resource attributes become which attribution key.

    Each mapping is ``source name -> attribution key``; order matters when two names map to one
    key (the first present wins).
    """

    baggage: Mapping[str, str] = field(default_factory=_default_baggage)
    """Baggage entries read besides ``<baggage_prefix><key>``."""
    baggage_prefix: str | None = BAGGAGE_PREFIX
    """Every baggage entry ``<prefix><key>`` becomes ``key``; ``None`` turns this off."""
    span_attributes: Mapping[str, str] = field(default_factory=_default_span_attributes)
    resource_attributes: Mapping[str, str] = field(default_factory=_default_resource_attributes)
    max_baggage_keys: int = MAX_BAGGAGE_KEYS
    """At most this many attribution keys come from baggage (the configured names first)."""

    def __post_init__(self) -> None:
        if isinstance(self.max_baggage_keys, bool) or not isinstance(self.max_baggage_keys, int):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"max_baggage_keys must be an int, not {type(self.max_baggage_keys).__name__}")
        if self.max_baggage_keys < 0:
            raise ValueError(f"max_baggage_keys must be >= 0, not {self.max_baggage_keys}")
        for source in (self.baggage, self.span_attributes, self.resource_attributes):
            for name, key in source.items():
                check_key(key, name)


DEFAULT_CONFIG = AttributionConfig()


def _clean(value: object) -> str | None:
    if value is None or isinstance(value, (bytes, bytearray)):
        return None
    text = value if isinstance(value, str) else str(value)
    text = text.strip()
    return text[:MAX_VALUE_LENGTH] if text else None


def from_baggage(entries: Mapping[str, object], config: AttributionConfig = DEFAULT_CONFIG) -> dict[str, str]:
    """Attribution keys carried in baggage (``cost.<key>`` entries and the configured names).

    A ``cost.<key>`` entry wins over a configured name for the same key. At most
    ``config.max_baggage_keys`` keys: the configured names' keys first, then ``cost.<key>``
    entries in order; entries past the cap are dropped and the first drop is logged.
    """
    cap = config.max_baggage_keys
    configured: dict[str, str] = {}
    _from_mapping(entries, config.baggage, configured)
    out = dict(list(configured.items())[:cap]) if len(configured) > cap else configured
    dropped = len(configured) - len(out)
    prefix = config.baggage_prefix
    if prefix:
        for name, value in entries.items():
            if name.startswith(prefix):
                key = name[len(prefix) :]
                cleaned = _clean(value)
                if cleaned is None or not _KEY.match(key):
                    continue
                if key in out or len(out) < cap:
                    out[key] = cleaned
                else:
                    dropped += 1
    if dropped:
        _warn_baggage_dropped(dropped, cap)
    return out


_baggage_drop_warned = False


def _warn_baggage_dropped(dropped: int, cap: int) -> None:
    global _baggage_drop_warned  # noqa: PLW0603 - once per process, however many spans
    if not _baggage_drop_warned:
        _baggage_drop_warned = True
        _logger.warning(
            "otel-cost: baggage carried more attribution keys than max_baggage_keys=%d; "
            "%d dropped from this span (and from any later span over the cap; logged once)",
            cap,
            dropped,
        )


def _from_mapping(attrs: Mapping[str, object], mapping: Mapping[str, str], out: dict[str, str]) -> None:
    for name, key in mapping.items():
        value = attrs.get(name)
        if value is not None and key not in out:
            cleaned = _clean(value)
            if cleaned is not None:
                out[key] = cleaned


def on_span(attrs: Mapping[str, object]) -> dict[str, str]:
    """The ``cost.attribution.*`` entries already on a span, without the prefix."""
    out: dict[str, str] = {}
    prefix = ATTRIBUTE_PREFIX
    for name, value in attrs.items():
        if name[: len(prefix)] == prefix:
            cleaned = _clean(value)
            if cleaned is not None:
                out[name[len(ATTRIBUTE_PREFIX) :]] = cleaned
    return out


def resolve_attribution(
    span_attrs: Mapping[str, object],
    resource_attrs: Mapping[str, object],
    baggage_entries: Mapping[str, object] | None = None,
    config: AttributionConfig = DEFAULT_CONFIG,
) -> dict[str, str]:
    """Attribution keys (without the ``cost.attribution.`` prefix) for one span; pure, never raises.

    Precedence is documented in the module docstring. The receiver passes no baggage (it is not
    on the wire); it sees what an upstream processor copied to ``cost.attribution.*``.
    """
    out = on_span(span_attrs)
    if baggage_entries:
        for key, value in from_baggage(baggage_entries, config).items():
            out.setdefault(key, value)
    _from_mapping(span_attrs, config.span_attributes, out)
    _from_mapping(resource_attrs, config.resource_attributes, out)
    return out


@contextmanager
def attribution(**keys: str) -> Iterator[None]:
    """Attribute every call made inside the block: sets ``cost.<key>`` W3C baggage entries.

    Keys are lower-case identifiers (``project``, ``cost_center``, ``user``, ``session``, ``agent``,
    ``tenant``, ``environment``, or your own); a bad key or a non-string value raises
    ``ValueError``. Nested blocks add to (and override) the outer ones. The baggage crosses process
    boundaries through the standard W3C propagators.
    """
    ctx = context.get_current()
    for key, value in keys.items():
        check_key(key)
        if not isinstance(value, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"attribution value for {key!r} must be a string, not {type(value).__name__}")
        ctx = baggage.set_baggage(BAGGAGE_PREFIX + key, value[:MAX_VALUE_LENGTH], ctx)
    token = context.attach(ctx)
    try:
        yield
    finally:
        context.detach(token)
