"""Types of the optional C accelerator (``_speedups.c``); see ``otel_cost.pricing._result``."""

from typing import Any

from otel_cost.pricing._result import Slot
from otel_cost.pricing.types import CostResult, TokenUsage

def init(
    usage_type: type[TokenUsage], result_type: type[CostResult], slot_type: type[Slot], zero: Any, /
) -> None: ...
def cost(fast: tuple[object, ...], usage: Any, /) -> CostResult | None: ...
def price(
    slots: dict[Any, Slot], provider: Any, model: Any, service_tier: Any, at_ns: int, usage: Any, /
) -> CostResult | None: ...
