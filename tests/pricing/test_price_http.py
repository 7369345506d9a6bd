"""Paid non-LLM HTTP APIs: per call, per 1,000 calls, per unit, dated prices, discounts."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from price_support import UTC

from otel_cost.pricing import PriceCatalog, load_catalog

CATALOG = """
version: 1
apis:
  - id: web-search            # a search API at $0.005 a call
    host: api.search.example.com
    method: GET
    path: /v1/search*
    per_call: "0.005"
  - id: weather               # $1.50 per 1,000 calls
    host: "*.weather.example.net"
    path: /forecast/*
    per_1000_calls: "1.50"
  - id: ocr                   # $0.0015 per page, $0.001 from 2027
    host: ocr.example.org
    method: POST
    path: /v1/ocr
    per_unit: "0.0015"
    unit: page
    effective_until: "2027-01-01"
  - id: ocr
    host: ocr.example.org
    method: POST
    path: /v1/ocr
    per_unit: "0.001"
    unit: page
    effective_from: "2027-01-01"
discounts:
  - id: search-volume
    api: web-search
    when: {team: growth}
    multiplier: "0.8"
"""
AT = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def api_catalog(tmp_path_factory: pytest.TempPathFactory) -> PriceCatalog:
    path: Path = tmp_path_factory.mktemp("apis") / "apis.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    return load_catalog([path])


def test_per_call(api_catalog: PriceCatalog) -> None:
    result = api_catalog.price_http(
        host="api.search.example.com", method="GET", path="/v1/search?q=otel", at=AT
    )
    assert result is not None
    assert result.status == "priced"
    assert result.amount == Decimal("0.005")
    assert result.breakdown == {"call": Decimal("0.005")}
    assert result.price_ref == f"api/web-search@{api_catalog.version}"
    assert result.model == "web-search"


def test_per_thousand_calls(api_catalog: PriceCatalog) -> None:
    # $1.50 per 1,000 calls = 1.50 / 1000 = $0.0015 a call
    result = api_catalog.price_http(
        host="eu.weather.example.net", method="GET", path="/forecast/berlin", at=AT
    )
    assert result is not None
    assert result.amount == Decimal("0.0015")


def test_per_unit_with_units(api_catalog: PriceCatalog) -> None:
    # 12 pages at $0.0015 = 0.018
    result = api_catalog.price_http(host="ocr.example.org", method="POST", path="/v1/ocr", at=AT, units=12)
    assert result is not None
    assert result.breakdown == {"unit": Decimal("0.018")}
    assert result.amount == Decimal("0.018")


def test_per_unit_price_change(api_catalog: PriceCatalog) -> None:
    # From 2027-01-01 $0.001 a page: 12 pages = 0.012
    later = datetime(2027, 1, 1, 0, 0, 1, tzinfo=UTC)
    result = api_catalog.price_http(host="ocr.example.org", method="POST", path="/v1/ocr", at=later, units=12)
    assert result is not None
    assert result.amount == Decimal("0.012")


def test_per_unit_without_units_is_unpriced(api_catalog: PriceCatalog) -> None:
    result = api_catalog.price_http(host="ocr.example.org", method="POST", path="/v1/ocr", at=AT)
    assert result is not None
    assert (result.status, result.reason) == ("unpriced", "missing_units")
    bad = api_catalog.price_http(host="ocr.example.org", method="POST", path="/v1/ocr", at=AT, units=-3)
    assert bad is not None
    assert (bad.status, bad.reason) == ("unpriced", "invalid_usage")


def test_no_rule_is_none(api_catalog: PriceCatalog) -> None:
    assert api_catalog.price_http(host="api.github.com", method="GET", path="/repos", at=AT) is None
    # Method and path must match too.
    assert (
        api_catalog.price_http(host="api.search.example.com", method="POST", path="/v1/search", at=AT) is None
    )
    assert api_catalog.price_http(host="ocr.example.org", method="POST", path="/v2/ocr", at=AT) is None


def test_host_case_and_port(api_catalog: PriceCatalog) -> None:
    result = api_catalog.price_http(host="API.Search.Example.com:443", method="get", path="/v1/search", at=AT)
    assert result is not None
    assert result.amount == Decimal("0.005")


def test_api_discount_by_attribution(api_catalog: PriceCatalog) -> None:
    # 20% off for team=growth: 0.005 * 0.8 = 0.004
    result = api_catalog.price_http(
        host="api.search.example.com", method="GET", path="/v1/search", at=AT, attribution={"team": "growth"}
    )
    assert result is not None
    assert result.amount == Decimal("0.004")
    assert result.price_ref == f"api/web-search+discount:search-volume@{api_catalog.version}"


def test_default_catalog_has_no_api_rules(catalog: PriceCatalog) -> None:
    assert catalog.price_http(host="api.search.example.com", method="GET", path="/v1/search") is None
