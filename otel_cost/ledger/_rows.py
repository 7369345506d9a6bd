"""How a ``CostRecord`` becomes a ledger row, and how rows are hashed.

A row is a flat tuple of TEXT / INTEGER / NULL values in ``CALL_COLUMNS`` order. The tuple that is
inserted is the tuple that is hashed, and ``verify`` re-hashes the tuple it reads back, so the
canonical form never depends on a driver's type conversions beyond str/int/None.

Money: ``amount`` is the exact ``Decimal`` as text (``str(Decimal)``, never a float). Two derived
integers let SQL add amounts exactly and fast: ``amount_nano = floor(amount * 1e9)`` and
``amount_atto = amount * 1e18 - amount_nano * 1e9`` (0 <= atto < 1e9). An amount finer than 1e-18
(never seen from a real price list) sets ``amount_fine = 1``; aggregations add its residual from the
text, so sums stay exact in every case. ``storable_amount`` says which amounts fit: ``amount_nano``
is a 64-bit integer column. SQL never sums ``amount_nano`` itself (SQLite fails with "integer overflow" past
2^63, so two rows near the limit would fail every report covering them): ``nano_sums_sql`` sums its
whole units and its remainder apart, which no set of stored rows overflows (each part would need
over a billion rows at the limit).

Text: a NUL character (U+0000) in any text of a record (service, model, reason, a breakdown or
attribution key or value, ...) is stored as U+FFFD. SQLite would keep it and PostgreSQL refuses it,
so without this the same record would fail on one backend and hash differently on the other.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Context, Decimal, Inexact, InvalidOperation, Overflow, localcontext
from json.encoder import encode_basestring

from otel_cost.record import CostRecord

GENESIS_HASH = "0" * 64

EXACT = Context(prec=64, rounding=ROUND_FLOOR, traps=[Inexact, InvalidOperation, Overflow])
"""The decimal context ledger sums run in: enough digits for any sum of stored amounts (20 integer
digits, 30 fraction digits), so ``+`` never rounds (``Inexact`` would raise, not round)."""
_NANO = Decimal(10) ** 9
_NANO_INT = 10**9
_ATTO = Decimal(10) ** 18
_MAX_AMOUNT = Decimal(2**63 - 1).scaleb(-9)
_MIN_AMOUNT = Decimal(-(2**63)).scaleb(-9)
_FINEST_DIGIT = -30
"""The finest decimal place an amount's leading digit may sit at: plain notation of 1e-999999999
would be a gigabyte of text."""

TOKEN_COLUMNS: tuple[str, ...] = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "input_audio_tokens",
    "output_audio_tokens",
    "input_image_tokens",
    "requests",
)
"""Usage per token type, named as the ``TokenUsage`` fields they hold."""

GROUP_COLUMNS: tuple[str, ...] = (
    "day",
    "kind",
    "service",
    "provider",
    "model",
    "operation",
    "status",
    "reason",
    "source",
    "currency",
)
"""The columns a call shares with its daily roll-up (what compaction groups by, attribution aside)."""

AMOUNT_COLUMNS: tuple[str, ...] = ("amount", "amount_nano", "amount_atto", "amount_fine")
"""An amount as exact text and its integer parts (exact SQL sums)."""

CALL_COLUMNS: tuple[str, ...] = (
    "row_id",
    "batch_id",
    "trace_id",
    "span_id",
    "start_ns",
    "end_ns",
    *GROUP_COLUMNS,
    *AMOUNT_COLUMNS,
    "price_ref",
    "price_model",
    "breakdown",
    *TOKEN_COLUMNS,
    "has_usage",
    "usage_estimated",
    "error",
    "attribution",
)
"""Every hashed column of ``calls``, in canonical order (``row_hash`` follows them)."""

TEXT_COLUMNS = frozenset(
    {*GROUP_COLUMNS, "trace_id", "span_id", "amount", "price_ref", "price_model", "breakdown", "attribution"}
)
"""Columns stored as text; the rest are integers."""


Row = tuple[str | int | None, ...]

NUL = "\x00"
NUL_REPLACEMENT = "\ufffd"
"""What a NUL character in a record's text is stored as (the Unicode replacement character)."""
_NUL_JSON = "\\u0000"
"""A NUL as the JSON columns (breakdown, attribution) write it."""
_TEXTS_AT = tuple(
    CALL_COLUMNS.index(name) - 2
    # every group column but day (made from the start time, never from a record's text)
    for name in (*(c for c in GROUP_COLUMNS if c != "day"), "price_ref", "price_model")
)
"""Where the plain text columns that come from a record's strings sit in ``record_tail``'s row."""
_pick_texts = operator.itemgetter(*_TEXTS_AT)
_TEXTS_FORMAT = "%s" * len(_TEXTS_AT)
_BREAKDOWN_AT = CALL_COLUMNS.index("breakdown") - 2


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _list_encoder() -> Callable[[Row, int], Sequence[str]] | None:
    """The json module's C encoder with ``_ENCODER``'s settings, called without the per-call setup
    ``JSONEncoder.encode`` does (a third of its time on a row); ``None`` when it is unavailable or
    does not write what ``_ENCODER`` writes."""
    try:
        from json.encoder import c_make_encoder  # type: ignore[attr-defined]

        encode = c_make_encoder(None, _ENCODER.default, encode_basestring, None, ":", ",", True, False, True)
        probe = ('a\u2028"\\é', 1, None, 10**20, "", {"b": "1", "a": "2"})
        if "".join(encode(probe, 0)) != _ENCODER.encode(probe):
            return None
    except Exception:  # another Python's internals: the plain encoder is exact, just slower
        return None
    return encode  # type: ignore[no-any-return]


_LIST_ENCODER = _list_encoder()


def canonical_json(value: object) -> str:
    """Sorted keys, no whitespace, UTF-8 kept: the one serialisation hashes are computed over."""
    return _ENCODER.encode(value)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def storable_amount(amount: Decimal) -> bool:
    """Whether a row can hold ``amount``: finite, ``amount_nano`` within a signed 64-bit integer
    (|amount| <= 9,223,372,036.854775807), and zero or not finer than 1e-30 (its text is plain
    notation). Callers check amounts from outside (an upstream ``cost.amount``) with it, so one bad
    value cannot fail the commit of a whole batch."""
    if not amount.is_finite() or not _MIN_AMOUNT <= amount <= _MAX_AMOUNT:
        return False
    return amount.is_zero() or amount.adjusted() >= _FINEST_DIGIT


def storable_parts(amount: Decimal) -> list[Decimal]:
    """``amount`` as amounts that each fit a row (``storable_amount``) and add up to it exactly:
    itself when it fits, else as many of the largest whole amounts of its sign as needed and the
    rest (a roll-up whose calls sum past what one row holds becomes several rows)."""
    with localcontext(EXACT):
        if amount.is_finite() and _MIN_AMOUNT <= amount <= _MAX_AMOUNT:
            return [amount]
        step = _MAX_AMOUNT.to_integral_value(rounding="ROUND_FLOOR").copy_sign(amount)
        whole, rest = divmod(amount, step)
        return [step] * int(whole) + ([rest] if rest else [])


def split_amount(amount: Decimal) -> tuple[int, int, int]:
    """``(nano, atto, fine)`` for exact integer aggregation (see module docstring)."""
    scaled = amount * _ATTO
    whole = int(scaled.to_integral_value(rounding="ROUND_FLOOR"))
    nano, atto = divmod(whole, 10**9)
    fine = 0 if scaled == whole else 1
    return nano, atto, fine


def nano_sums_sql(column: str) -> str:
    """Two SQL aggregates whose ``join_nano_sums`` is ``SUM(column)`` of an ``amount_nano`` column,
    without overflow: whole units (integer ``/``, truncating toward zero alike in SQLite and
    PostgreSQL) and what they leave (written without ``%``, which psycopg reads as a placeholder)
    summed apart."""
    units = f"{column} / {_NANO_INT}"
    return f"SUM({units}), SUM({column} - {units} * {_NANO_INT})"


def join_nano_sums(units: object, rest: object) -> int:
    """The exact sum of ``amount_nano`` from ``nano_sums_sql``'s two values (``None`` for no rows;
    PostgreSQL returns ``numeric`` sums as ``Decimal``)."""
    return int(units or 0) * _NANO_INT + int(rest or 0)  # type: ignore[call-overload]


def join_amount(nano: int, atto: int) -> Decimal:
    """The exact Decimal of summed ``amount_nano`` and ``amount_atto`` parts."""
    return Decimal(nano) / _NANO + Decimal(atto) / _ATTO if atto else Decimal(nano) / _NANO


def amount_residual(amount_text: str) -> Decimal:
    """What ``nano``/``atto`` miss of an ``amount_fine`` row's exact amount."""
    amount = Decimal(amount_text)
    nano, atto, _ = split_amount(amount)
    return amount - join_amount(nano, atto)


def canonical_amount(amount: Decimal) -> str:
    """Exact text of an amount; ``-0`` and exponent forms normalised to plain notation."""
    if amount.is_zero():
        return "0"
    text = str(amount)  # plain notation already unless it has an exponent (str is the cheap path)
    if "E" in text:
        text = format(amount, "f")
    if "." in text and text[-1] == "0":
        text = text.rstrip("0").rstrip(".")
    return text


MAX_TOKEN_COUNT = 10**9
"""The largest token count a row holds (``otel_cost.usage.MAX_TOKENS``, above which usage read from
a span is invalid): SQL sums of a token column then cannot overflow (that would take 9.2e9 rows)."""
_token_counts = operator.attrgetter(*TOKEN_COLUMNS)
_NO_TOKENS: tuple[int, ...] = (0,) * len(TOKEN_COLUMNS)

_DAYS: dict[int, str] = {}


def day_of(epoch_ns: int) -> str:
    """UTC calendar day (``YYYY-MM-DD``) of a Unix time in nanoseconds."""
    day = epoch_ns // 86_400_000_000_000
    text = _DAYS.get(day)
    if text is None:
        text = datetime.fromtimestamp(day * 86_400, tz=UTC).strftime("%Y-%m-%d")
        if len(_DAYS) < 4096:
            _DAYS[day] = text
    return text


def record_tail(record: CostRecord) -> Row:
    """The ``calls`` row of one record without its first two columns (``row_id``, ``batch_id``):
    everything that does not depend on where the row lands in the chain."""
    result = record.result
    amount = result.amount if result.priced else Decimal(0)
    nano, atto, fine = split_amount(amount)
    usage = record.usage
    tokens = _NO_TOKENS if usage is None else tuple(map(int, _token_counts(usage)))
    if tokens is not _NO_TOKENS and not 0 <= min(tokens) <= max(tokens) <= MAX_TOKEN_COUNT:
        raise ValueError(f"token counts must be 0..{MAX_TOKEN_COUNT} to be stored, got {tokens}")
    breakdown = _breakdown_json(result.breakdown)
    attribution = _attribution_json(record.attribution)
    tail: Row = (
        record.trace_id.hex(),
        record.span_id.hex(),
        int(record.start_time_ns),
        int(record.end_time_ns),
        day_of(record.start_time_ns),
        record.kind,
        record.service_name,
        record.provider,
        record.model,
        record.operation,
        result.status,
        result.reason,
        result.source,
        result.currency,
        canonical_amount(amount),
        nano,
        atto,
        fine,
        result.price_ref,
        result.model,
        breakdown,
        *tokens,
        0 if usage is None else 1,
        1 if record.usage_estimated else 0,
        1 if record.error else 0,
        attribution,
    )
    # One string format and three scans: the check costs little on the rows that have no NUL.
    if NUL in _TEXTS_FORMAT % _pick_texts(tail) or _NUL_JSON in breakdown or _NUL_JSON in attribution:
        return _without_nul(record, tail)
    return tail


def without_nul(text: str) -> str:
    """``text`` as the ledger stores it: NUL characters replaced by U+FFFD."""
    return text.replace(NUL, NUL_REPLACEMENT)


def _without_nul(record: CostRecord, tail: Row) -> Row:
    """``tail`` with NUL replaced in every text, the JSON columns re-encoded from the replaced keys
    and values (so they stay canonical: sorted by the stored keys)."""
    row = [without_nul(v) if isinstance(v, str) else v for v in tail]
    row[_BREAKDOWN_AT] = _breakdown_json(
        {without_nul(k) if isinstance(k, str) else k: v for k, v in record.result.breakdown.items()}
    )
    attribution = {without_nul(str(k)): without_nul(str(v)) for k, v in record.attribution.items()}
    row[-1] = _attribution_json(attribution)
    return tuple(row)


def record_row(record: CostRecord, row_id: int, batch_id: int) -> Row:
    """The ``calls`` row of one record, in ``CALL_COLUMNS`` order."""
    return (row_id, batch_id, *record_tail(record))


def _breakdown_json(breakdown: Mapping[str, Decimal]) -> str:
    """``canonical_json`` of the breakdown as amount texts (amount texts need no JSON escaping)."""
    try:
        pairs = [
            f'{encode_basestring(k)}:"{canonical_amount(v if type(v) is Decimal else Decimal(v))}"'
            for k, v in sorted(breakdown.items())
        ]
    except TypeError:  # a key that is not text: let the encoder decide, as before
        return canonical_json({k: canonical_amount(Decimal(v)) for k, v in breakdown.items()})
    return "{" + ",".join(pairs) + "}"


_ATTRIBUTION_JSON: dict[tuple[tuple[object, object], ...], str] = {}


def _attribution_json(attribution: Mapping[str, str]) -> str:
    """``canonical_json`` of the attribution as text; the few distinct sets a fleet has are cached."""
    key = tuple(attribution.items())
    try:
        text = _ATTRIBUTION_JSON.get(key)
    except TypeError:  # an unhashable value (not a str, despite the type): no caching
        return canonical_json({str(k): str(v) for k, v in attribution.items()})
    if text is None:
        text = canonical_json({str(k): str(v) for k, v in attribution.items()})
        if len(_ATTRIBUTION_JSON) >= 8192:
            _ATTRIBUTION_JSON.clear()
        _ATTRIBUTION_JSON[key] = text
    return text


def tail_json(tail: Row) -> str:
    """``canonical_json(list(row))`` of a row without its leading ``[row_id,batch_id,`` (see
    ``chained_row_hash``)."""
    if _LIST_ENCODER is not None:
        return "".join(_LIST_ENCODER(tail, 0))[1:]
    return _ENCODER.encode(tail)[1:]


def chained_row_hash(row_id: int, batch_id: int, tail_text: str) -> str:
    """``row_hash((row_id, batch_id, *tail))`` from ``tail_json(tail)``: only this part of the
    hashing waits until the row's place in the chain is known."""
    return hashlib.sha256(f"[{row_id},{batch_id},{tail_text}".encode()).hexdigest()


def normalise_row(values: Sequence[object]) -> Row:
    """A row as read back from a driver, coerced to the str/int/None form it was hashed in."""
    out: list[str | int | None] = []
    for name, value in zip(CALL_COLUMNS, values, strict=True):
        if value is None:
            out.append(None)
        elif name in TEXT_COLUMNS:
            out.append(str(value))
        else:
            out.append(int(value))  # type: ignore[arg-type]
    return tuple(out)


def row_hash(row: Row) -> str:
    return sha256_hex(canonical_json(list(row)))


def rows_digest(row_hashes: Sequence[str]) -> str:
    """Digest of a batch's rows: the hash of their row hashes, in row order."""
    return sha256_hex("\n".join(row_hashes))


def batch_hash(
    prev_hash: str, batch_id: int, kind: str, *, created_ns: int, digest: str, payload: str | None
) -> str:
    """The chain link: commits to the previous link, the batch's identity, rows and payload."""
    return sha256_hex("\n".join((prev_hash, str(batch_id), kind, str(created_ns), digest, payload or "")))


def group_order(key: Sequence[object]) -> tuple[tuple[bool, str], ...]:
    """Sort key of a group's key: its values in text order, ``None`` (unattributed) after every
    value. Spend rows, report lines and roll-up ids (which the chain hashes) all sort by it."""
    return tuple((v is None, "" if v is None else str(v)) for v in key)


def attribution_of(row_attribution: str | None) -> Mapping[str, str]:
    if not row_attribution:
        return {}
    loaded: dict[str, str] = json.loads(row_attribution)
    return loaded
