"""The HTML report renders its charts in a real browser (headless Chromium, Debian package)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from otel_cost.cli import main
from otel_cost.ledger import open_ledger
from tests.conftest import missing_tool
from tests.ledger.ledger_fixtures import make_record

BAR_BLUE = (0x3B, 0x82, 0xF6)


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    missing_tool("headless Chromium not installed (Debian package 'chromium')")


def _browser(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    argv = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(argv, capture_output=True, timeout=120, check=True)


def _png_pixels(path: Path) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into rows of raw pixels."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * channels, [], bytearray(width * channels)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            a = line[x - channels] if x >= channels else 0
            b, c = prev[x], prev[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + a) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + b) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, channels, rows


def test_html_report_draws_both_charts(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.db"))
    ledger.append(
        [
            make_record(1, amount="3", attribution={"project": "search"}),
            make_record(2, amount="1", attribution={"project": "ads"}, day=1),
            make_record(3, amount="2", attribution={"project": "search"}, day=2),
            make_record(4, amount="0.5", day=2),
        ]
    )
    ledger.close()
    page = tmp_path / "report.html"
    argv = [
        "report",
        "--ledger",
        str(tmp_path / "l.db"),
        "--by",
        "project",
        "--format",
        "html",
        "-o",
        str(page),
    ]
    assert main(argv) == 0
    source = page.read_text()
    assert "http://" not in source.replace("http://www.w3.org/2000/svg", "")  # nothing to fetch
    assert "https://" not in source
    dom = _browser(tmp_path, "--dump-dom", page.as_uri()).stdout.decode()
    assert 'data-rendered="charts"' in dom  # the inline script ran to the end
    bars = re.findall(r'<rect[^>]*class="bar[^"]*"[^>]*data-label="([^"]+)"[^>]*data-amount="([^"]+)"', dom)
    widths = [float(w) for w in re.findall(r'<rect[^>]*width="([0-9.]+)"[^>]*class="bar', dom)]
    # Largest first: search 5, ads 1, unattributed 0.5; bar length proportional to the amount.
    assert bars == [("search", "5"), ("ads", "1"), ("(unattributed)", "0.5")]
    assert widths == pytest.approx([520.0, 104.0, 52.0])
    points = re.findall(r'<circle[^>]*data-day="([^"]+)"[^>]*data-amount="([^"]+)"', dom)
    assert points == [("2025-11-23", "3"), ("2025-11-24", "1"), ("2025-11-25", "2.5")]
    assert sum(Decimal(a) for _, a in points) == Decimal("6.5")
    assert re.search(r'<polyline[^>]*class="series"', dom)
    # The pixels: the bars are painted in their blue.
    shot = tmp_path / "shot.png"
    _browser(tmp_path, f"--screenshot={shot}", "--window-size=1000,900", page.as_uri())
    width, channels, rows = _png_pixels(shot)
    blue = sum(
        1
        for row in rows
        for x in range(0, width * channels, channels)
        if abs(row[x] - BAR_BLUE[0]) < 8
        and abs(row[x + 1] - BAR_BLUE[1]) < 8
        and abs(row[x + 2] - BAR_BLUE[2]) < 8
    )
    # search's bar alone is 520 x 16 px; the series line and points are blue too.
    assert blue > 520 * 16
