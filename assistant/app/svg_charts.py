"""Small server-side SVG charts for the staff dashboard: no JavaScript, no CDN, no dependency.

Every chart is a complete SVG document (shown with <img>, so nothing in it can run). Every text that comes
from data (questions, procedure titles, channel names) is XML-escaped. Shapes carry classes the tests and
stylesheets can find: a stacked day bar is `<g class="bar" data-day="…">` with one `rect.seg` per series.

- `stacked_day_bars(days, series, labels, colors, title)`: one bar per day with data (stacked by series),
  every day of the range on the x axis;
- `horizontal_bars(items, title, color, value_label)`: ranked bars with their labels;
- `day_lines(days, series, labels, colors, title, unit)`: one line per series over the days that have a value;
- `empty(title, message)`: the same frame with a message, when there is nothing to draw.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import date
from xml.sax.saxutils import escape, quoteattr

WIDTH = 720
FONT = "font-family='DejaVu Sans, Arial, Helvetica, sans-serif'"
AXIS = "#5b6270"
GRID = "#e3e6eb"
TEXT = "#1d2330"


def _text(
    x: float, y: float, content: str, size: int = 12, anchor: str = "start", fill: str = TEXT, extra: str = ""
) -> str:
    return (
        f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' fill='{fill}' {extra}>"
        f"{escape(content)}</text>"
    )


def _document(height: float, title: str, body: list[str], description: str = "") -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{WIDTH}' height='{height:.0f}' "
        f"viewBox='0 0 {WIDTH} {height:.0f}' role='img' {FONT}>"
        f"<title>{escape(title)}</title>"
        + (f"<desc>{escape(description)}</desc>" if description else "")
        + f"<rect class='background' x='0' y='0' width='{WIDTH}' height='{height:.0f}' fill='#ffffff'/>"
        + _text(12, 22, title, size=15, extra="font-weight='bold'")
        + "".join(body)
        + "</svg>"
    )


def empty(title: str, message: str = "Chưa có dữ liệu trong khoảng thời gian này.") -> str:
    return _document(
        90, title, [_text(WIDTH / 2, 60, message, size=13, anchor="middle", fill=AXIS, extra="class='empty'")]
    )


def nice_axis(value: float, whole: bool = True) -> tuple[float, int]:
    """(top, number of steps) of a y axis: 4 or 5 equal steps of 1, 2 or 5 (2.5 too unless `whole`) times a
    power of ten, the lowest top at least `value`; so every tick label is exact (counts get whole numbers)."""
    candidates = []
    for ticks in (4, 5):
        raw = max(value, 1e-9) / ticks
        power = 10 ** math.floor(math.log10(raw))
        steps = (1, 2, 5, 10) if whole else (1, 2, 2.5, 5, 10)
        step = next(step * power for step in steps if step * power >= raw)
        candidates.append((max(1, step) * ticks if whole else step * ticks, ticks))
    return min(candidates)


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".") if value >= 1 or value == 0 else f"{value:.2g}"


def _shorten(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _legend(x: float, y: float, labels: Sequence[str], colors: Sequence[str]) -> list[str]:
    parts = []
    for label, color in zip(labels, colors, strict=True):
        parts.append(f"<rect class='legend' x='{x:.1f}' y='{y - 10:.1f}' width='12' height='12' fill='{color}'/>")
        parts.append(_text(x + 17, y, label, size=12))
        x += 30 + 7.5 * len(label)
    return parts


def _day_axis(days: Sequence[date], left: float, plot_width: float, bottom: float) -> tuple[list[str], float]:
    """X-axis day labels (at most ~12) and the width of one day's slot."""
    slot = plot_width / max(1, len(days))
    every = max(1, math.ceil(len(days) / 12))
    parts = []
    for index, day in enumerate(days):
        if index % every == 0 or index == len(days) - 1 and len(days) <= 12:
            parts.append(
                _text(left + slot * (index + 0.5), bottom + 16, f"{day:%d/%m}", size=11, anchor="middle", fill=AXIS)
            )
    return parts, slot


def _y_axis(
    left: float, right: float, top: float, bottom: float, maximum: float, ticks: int, fmt: Callable[[float], str]
) -> list[str]:
    parts = []
    for step in range(ticks + 1):
        value = maximum * step / ticks
        y = bottom - (bottom - top) * step / ticks
        parts.append(f"<line x1='{left:.1f}' x2='{right:.1f}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID}'/>")
        parts.append(_text(left - 6, y + 4, fmt(value), size=11, anchor="end", fill=AXIS))
    parts.append(
        f"<line class='x-axis' x1='{left:.1f}' x2='{right:.1f}' y1='{bottom:.1f}' y2='{bottom:.1f}' stroke='{AXIS}'/>"
    )
    return parts


def stacked_day_bars(
    days: Sequence[date],
    series: dict[str, dict[date, float]],
    labels: dict[str, str],
    colors: dict[str, str],
    title: str,
) -> str:
    """A bar per day with data, stacked by series (e.g. questions per channel)."""
    totals = {day: sum(values.get(day, 0) for values in series.values()) for day in days}
    if not any(totals.values()):
        return empty(title)
    height, top, bottom, left, right = 300, 62, 262, 52, WIDTH - 16
    maximum, ticks = nice_axis(max(totals.values()))
    body = _legend(left, 46, [labels[name] for name in series], [colors[name] for name in series])
    body += _y_axis(left, right, top, bottom, maximum, ticks, _number)
    axis, slot = _day_axis(days, left, right - left, bottom)
    bar_width = max(2.0, min(28.0, slot * 0.7))
    for index, day in enumerate(days):
        if not totals[day]:
            continue
        x = left + slot * (index + 0.5) - bar_width / 2
        y = bottom
        segments = []
        for name, values in series.items():
            value = values.get(day, 0)
            if not value:
                continue
            h = (bottom - top) * value / maximum
            y -= h
            segments.append(
                f"<rect class='seg' data-series={quoteattr(name)} x='{x:.1f}' y='{y:.1f}' "
                f"width='{bar_width:.1f}' height='{h:.1f}' fill='{colors[name]}'>"
                f"<title>{escape(f'{day:%d/%m/%Y} · {labels[name]}: {_number(value)}')}</title></rect>"
            )
        body.append(
            f"<g class='bar' data-day='{day.isoformat()}' data-total='{totals[day]:g}'>" + "".join(segments) + "</g>"
        )
    body += axis
    described = ", ".join(f"{day:%d/%m}: {_number(totals[day])}" for day in days if totals[day])
    return _document(height, title, body, description=described)


def horizontal_bars(
    items: Sequence[tuple[str, float]],
    title: str,
    color: str = "#2a6fdb",
    value_label: Callable[[float], str] = _number,
    label_chars: int = 48,
) -> str:
    """Ranked horizontal bars: (label, value), largest first as given."""
    if not items or not any(value for _, value in items):
        return empty(title)
    row, top, label_width, right = 28, 40, 330, WIDTH - 70
    height = top + row * len(items) + 12
    maximum = max(value for _, value in items) or 1
    body = []
    for index, (label, value) in enumerate(items):
        y = top + row * index
        width = max(1.0, (right - label_width) * value / maximum) if value else 0
        body.append(
            _text(label_width - 8, y + 17, _shorten(label, label_chars), size=12, anchor="end", extra="class='label'")
        )
        body.append(
            f"<rect class='hbar' x='{label_width}' y='{y + 5:.1f}' width='{width:.1f}' height='{row - 10}' "
            f"fill='{color}'><title>{escape(f'{label}: {value_label(value)}')}</title></rect>"
        )
        body.append(_text(label_width + width + 6, y + 17, value_label(value), size=12, extra="class='value'"))
    return _document(
        height, title, body, description="; ".join(f"{label}: {value_label(value)}" for label, value in items)
    )


def day_lines(
    days: Sequence[date],
    series: dict[str, dict[date, float]],
    labels: dict[str, str],
    colors: dict[str, str],
    title: str,
    unit: Callable[[float], str] = _number,
) -> str:
    """One line (with a dot per day that has a value) per series, e.g. latency p50 and p95 per day."""
    values = [value for points in series.values() for value in points.values()]
    if not values:
        return empty(title)
    height, top, bottom, left, right = 300, 62, 262, 64, WIDTH - 16
    maximum, ticks = nice_axis(max(values), whole=False)
    body = _legend(left, 46, [labels[name] for name in series], [colors[name] for name in series])
    body += _y_axis(left, right, top, bottom, maximum, ticks, unit)
    axis, slot = _day_axis(days, left, right - left, bottom)
    for name, points in series.items():
        coordinates = [
            (left + slot * (index + 0.5), bottom - (bottom - top) * points[day] / maximum, day)
            for index, day in enumerate(days)
            if day in points
        ]
        if len(coordinates) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in coordinates)
            body.append(
                f"<polyline class='line' data-series={quoteattr(name)} points='{path}' fill='none' "
                f"stroke='{colors[name]}' stroke-width='2.5'/>"
            )
        for x, y, day in coordinates:
            body.append(
                f"<circle class='point' data-series={quoteattr(name)} cx='{x:.1f}' cy='{y:.1f}' r='4' "
                f"fill='{colors[name]}'><title>{escape(f'{day:%d/%m/%Y} · {labels[name]}: ')}"
                f"{escape(unit(points[day]))}</title></circle>"
            )
    body += axis
    return _document(height, title, body)
