"""Fixtures for the pricing tests: the embedded catalog and fixed call times.

Expected figures in these tests are derived by hand from the providers' published prices
(cited beside each one), in Decimal; genai-prices is the data source the catalog compiles, so
a figure copied from our own output would prove nothing."""

from __future__ import annotations

import pytest

from otel_cost.pricing import PriceCatalog, default_catalog


@pytest.fixture(scope="session")
def catalog() -> PriceCatalog:
    return default_catalog()
