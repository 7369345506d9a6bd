"""A self-contained HTML report: no network, charts drawn as SVG by a small inline script.

The page embeds the report's numbers as JSON; the script draws "spend by dimension" (horizontal
bars, the largest ``MAX_BARS`` lines) and "spend over time" (daily totals per currency) as inline
SVG. The table below the charts is static HTML, so the numbers read without JavaScript too.
Amounts in the data are exact strings; only the bar lengths and line heights use floats.
"""

from __future__ import annotations

import html
import json
from decimal import Decimal

from otel_cost.report.build import Report
from otel_cost.report.formats import LINE_COLUMNS, UNATTRIBUTED_LABEL, header_lines, line_values, money

MAX_BARS = 25

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2933}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:24px 0 8px}
.meta{color:#52606d;font-size:13px;margin:2px 0}
table{border-collapse:collapse;font-size:13px;margin-top:8px}
th,td{border-bottom:1px solid #e4e7eb;padding:4px 10px;text-align:left}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
tr.total td{font-weight:600;border-top:2px solid #9aa5b1}
svg text{font-size:12px;fill:#1f2933}
.bar{fill:#3b82f6} .bar.unattributed{fill:#9aa5b1} .series{fill:none;stroke-width:2}
.point{stroke:none} .axis{stroke:#9aa5b1;stroke-width:1}
"""

_SCRIPT = r"""
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var colors = ['#3b82f6', '#ef4444', '#10b981', '#f59e0b', '#8b5cf6'];
  function el(name, attrs, parent, text) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) { node.setAttribute(k, attrs[k]); }
    if (text !== undefined) { node.textContent = text; }
    parent.appendChild(node);
    return node;
  }
  function bars() {
    var svg = document.getElementById('chart-by');
    var lines = data.bars;
    var max = 0;
    lines.forEach(function (l) { max = Math.max(max, parseFloat(l.amount)); });
    var rowH = 22, left = 260, width = 520;
    svg.setAttribute('height', String(Math.max(1, lines.length) * rowH + 10));
    lines.forEach(function (l, i) {
      var y = 5 + i * rowH;
      var w = max > 0 ? Math.max(1, width * parseFloat(l.amount) / max) : 1;
      el('text', {x: left - 8, y: y + 15, 'text-anchor': 'end'}, svg, l.label);
      el('rect', {x: left, y: y + 3, width: w.toFixed(2), height: rowH - 6,
                  'class': 'bar' + (l.unattributed ? ' unattributed' : ''),
                  'data-label': l.label, 'data-amount': l.amount}, svg);
      el('text', {x: left + w + 6, y: y + 15}, svg, l.amount + ' ' + l.currency);
    });
  }
  function series() {
    var svg = document.getElementById('chart-time');
    var days = data.days, width = 780, height = 220, left = 60, top = 10, bottom = 30;
    if (!days.length) { return; }
    el('line', {x1: left, y1: height - bottom, x2: width - 10, y2: height - bottom, 'class': 'axis'}, svg);
    el('line', {x1: left, y1: top, x2: left, y2: height - bottom, 'class': 'axis'}, svg);
    data.currencies.forEach(function (cur, ci) {
      var values = days.map(function (d) { return parseFloat(data.daily[cur][d] || '0'); });
      var max = Math.max.apply(null, values.concat([0]));
      var step = days.length > 1 ? (width - 10 - left) / (days.length - 1) : 0;
      var points = values.map(function (v, i) {
        var x = left + i * step;
        var y = (height - bottom) - (max > 0 ? (height - bottom - top) * v / max : 0);
        return [x.toFixed(2), y.toFixed(2)];
      });
      var color = colors[ci % colors.length];
      el('polyline', {points: points.map(function (p) { return p.join(','); }).join(' '),
                      'class': 'series', stroke: color, 'data-currency': cur}, svg);
      points.forEach(function (p, i) {
        el('circle', {cx: p[0], cy: p[1], r: 3, fill: color, 'class': 'point',
                      'data-day': days[i], 'data-amount': data.daily[cur][days[i]] || '0'}, svg);
      });
      el('text', {x: left + 4, y: top + 12 + ci * 14, fill: color}, svg, cur + ' max ' + max);
    });
    el('text', {x: left, y: height - 8}, svg, days[0]);
    el('text', {x: width - 10, y: height - 8, 'text-anchor': 'end'}, svg, days[days.length - 1]);
  }
  bars();
  series();
  document.body.setAttribute('data-rendered', 'charts');
})();
"""


def _label(key: tuple[str | None, ...]) -> str:
    return " / ".join(UNATTRIBUTED_LABEL if k is None else k for k in key) or "total"


def chart_data(report: Report) -> dict[str, object]:
    """The numbers the charts draw (exact amounts as strings)."""
    ordered = sorted(report.lines, key=lambda ln: (-ln.amount, _label(ln.key), ln.currency))
    bars = [
        {
            "label": _label(line.key),
            "amount": money(line.amount),
            "currency": line.currency,
            "unattributed": any(k is None for k in line.key),
        }
        for line in ordered[:MAX_BARS]
    ]
    daily: dict[str, dict[str, str]] = {}
    for day, currency, amount in report.daily:
        daily.setdefault(currency, {})[day] = money(amount)
    days = sorted({day for day, _, _ in report.daily})
    return {"bars": bars, "days": days, "daily": daily, "currencies": sorted(daily)}


def _table(report: Report) -> str:
    head = "".join(f"<th>{html.escape(k)}</th>" for k in report.by)
    head += "".join(f'<th class="n">{c}</th>' for c in LINE_COLUMNS)
    rows: list[str] = []
    for line in report.lines:
        cells = "".join(f"<td>{html.escape(UNATTRIBUTED_LABEL if k is None else k)}</td>" for k in line.key)
        cells += "".join(f'<td class="n">{html.escape(v)}</td>' for v in line_values(line))
        rows.append(f"<tr>{cells}</tr>")
    for currency, amount in report.totals().items():
        pad = "".join("<td></td>" for _ in report.by[1:])
        first = "<td>total</td>" if report.by else ""
        rows.append(
            f'<tr class="total">{first}{pad}<td class="n">{currency}</td><td></td><td></td>'
            f'<td class="n">{money(amount)}</td><td class="n">{report.calls(currency)}</td>'
            "<td></td><td></td><td></td></tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def to_html(report: Report) -> str:
    meta = header_lines(report)
    payload = json.dumps(chart_data(report), sort_keys=True, ensure_ascii=True).replace("</", "<\\/")
    total = ", ".join(f"{money(a)} {c}" for c, a in report.totals().items()) or f"{money(Decimal(0))}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(meta[0])}</title><style>{_STYLE}</style></head><body>\n"
        f"<h1>{html.escape(meta[0])}</h1>\n"
        + "".join(f'<p class="meta">{html.escape(m)}</p>\n' for m in meta[1:])
        + f'<p class="meta">total: {html.escape(total)}</p>\n'
        + f"<h2>Spend by {html.escape(', '.join(report.by) or 'total')}</h2>\n"
        + '<svg id="chart-by" xmlns="http://www.w3.org/2000/svg" width="900" height="30" role="img"'
        ' aria-label="spend by dimension"></svg>\n'
        + "<h2>Spend over time (per day, UTC)</h2>\n"
        + '<svg id="chart-time" xmlns="http://www.w3.org/2000/svg" width="800" height="220" role="img"'
        ' aria-label="spend over time"></svg>\n'
        + "<h2>Lines</h2>\n"
        + _table(report)
        + f'\n<script type="application/json" id="report-data">{payload}</script>\n'
        + f"<script>{_SCRIPT}</script>\n</body></html>\n"
    )
