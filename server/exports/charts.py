"""Charts of the pilot's usage figures as plain SVG: one drawing code for the dashboard page (inline in the
HTML) and the review report's PDF (WeasyPrint draws SVG), so what a board member sees on screen and on
paper is the same picture. No script, no external asset; every bar carries its value as text and a
<title>, and the figure as a whole a label, so the numbers are there for a screen reader too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

MODES = ("online", "hybrid", "in_person")
# Colour-blind safe (Okabe–Ito): blue, orange, grey.
MODE_COLOURS = {"online": "#0072B2", "hybrid": "#E69F00", "in_person": "#999999"}
TARGET_COLOUR = "#D55E00"
INK = "#222222"
GRID = "#DDDDDD"


@dataclass(frozen=True)
class ChartLabels:
    """The words on the charts, in the reader's language."""

    monthly_title: str
    modes: Mapping[str, str]
    attendance_title: str
    target: str
    share_title: str
    no_data: str


def _text(
    x: float, y: float, content: str, *, size: int = 12, anchor: str = "middle", weight: str = ""
) -> str:
    bold = ' font-weight="bold"' if weight else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{INK}"{bold}>'
        f"{escape(content)}</text>"
    )


def _svg(width: int, height: int, label: str, kind: str, body: Sequence[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{kind}" role="img" '
        f'aria-label="{escape(label)}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'font-family="Liberation Serif, serif">' + "".join(body) + "</svg>"
    )


def _month_label(month: str) -> str:
    year, number = month.split("-")
    return f"{number}/{year[2:]}"


def _nice_top(value: float) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50 ... at least `value`: an axis that ends on a round number."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def monthly_modes(months: Sequence[Mapping[str, Any]], labels: ChartLabels) -> str:
    """Meetings held per month, stacked by mode: the trend a board reads first."""
    width, height, left, top, bottom = 640, 260, 36, 34, 40
    plot_h = height - top - bottom
    slot = (width - left - 10) / max(len(months), 1)
    peak = max((sum(int(m[mode]) for mode in MODES) for m in months), default=0)
    scale_top = _nice_top(max(peak, 1))
    body = [_text(width / 2, 16, labels.monthly_title, size=14, weight="bold")]
    for tick in range(0, scale_top + 1, max(scale_top // 4, 1)):
        y = top + plot_h - plot_h * tick / scale_top
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, str(tick), size=12, anchor="end"))
    for index, month in enumerate(months):
        x = left + index * slot + slot * 0.15
        bar_w = slot * 0.7
        base = float(top + plot_h)
        total = 0
        for mode in MODES:
            count = int(month[mode])
            if count == 0:
                continue
            bar_h = plot_h * count / scale_top
            base -= bar_h
            total += count
            body.append(
                f'<rect class="bar" data-month="{escape(month["month"])}" data-mode="{mode}" '
                f'data-value="{count}" x="{x:.1f}" y="{base:.1f}" width="{bar_w:.1f}" height="{bar_h:.1f}" '
                f'fill="{MODE_COLOURS[mode]}">'
                f"<title>{escape(month['month'])}: {escape(labels.modes[mode])} {count}</title></rect>"
            )
        if total:
            body.append(_text(x + bar_w / 2, base - 4, str(total), size=12))
        body.append(_text(x + bar_w / 2, top + plot_h + 14, _month_label(str(month["month"])), size=12))
    legend_x = left
    for mode in MODES:
        body.append(
            f'<rect x="{legend_x}" y="{height - 14}" width="10" height="10" fill="{MODE_COLOURS[mode]}"/>'
        )
        body.append(_text(legend_x + 14, height - 5, labels.modes[mode], size=12, anchor="start"))
        legend_x += 26 + 8 * len(labels.modes[mode])
    return _svg(width, height, labels.monthly_title, "monthly-modes", body)


def attendance_trend(months: Sequence[Mapping[str, Any]], target_percent: float, labels: ChartLabels) -> str:
    """Attendance rate per month as a line against the R-ATT-3 target; months without meetings are gaps."""
    width, height, left, top, bottom = 640, 220, 40, 34, 28
    plot_h = height - top - bottom
    slot = (width - left - 10) / max(len(months), 1)

    def y_of(percent: float) -> float:
        return top + plot_h - plot_h * percent / 100

    body = [_text(width / 2, 16, labels.attendance_title, size=14, weight="bold")]
    for tick in (0, 25, 50, 75, 100):
        y = y_of(tick)
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y_of(tick) + 4, f"{tick}%", size=12, anchor="end"))
    target_y = y_of(target_percent)
    body.append(
        f'<line class="target" x1="{left}" x2="{width - 10}" y1="{target_y:.1f}" y2="{target_y:.1f}" '
        f'stroke="{TARGET_COLOUR}" stroke-dasharray="6 4"/>'
    )
    body.append(
        _text(width - 12, target_y - 4, f"{labels.target} {target_percent:g}%", size=12, anchor="end")
    )
    segment: list[str] = []
    segments: list[list[str]] = [segment]
    for index, month in enumerate(months):
        x = left + index * slot + slot / 2
        body.append(_text(x, top + plot_h + 14, _month_label(str(month["month"])), size=12))
        rate = month.get("attendance_rate_percent")
        if rate is None:
            segment = []
            segments.append(segment)
            continue
        segment.append(f"{x:.1f},{y_of(float(rate)):.1f}")
        body.append(
            f'<circle class="point" data-month="{escape(month["month"])}" data-value="{rate}" cx="{x:.1f}" '
            f'cy="{y_of(float(rate)):.1f}" r="3.5" fill="{MODE_COLOURS["online"]}">'
            f"<title>{escape(month['month'])}: {rate}%</title></circle>"
        )
    for points in segments:
        if len(points) > 1:
            body.insert(
                1,
                f'<polyline points="{" ".join(points)}" fill="none" stroke="{MODE_COLOURS["online"]}" '
                'stroke-width="2"/>',
            )
    return _svg(width, height, labels.attendance_title, "attendance", body)


def online_share_by_unit(units: Sequence[Mapping[str, Any]], labels: ChartLabels) -> str:
    """Each unit's share of online and hybrid meetings (R-ELIG-7), as horizontal bars, highest first."""
    rows = sorted(
        (u for u in units if u.get("online_share_percent") is not None),
        key=lambda u: (-float(u["online_share_percent"]), str(u["name"])),
    )
    width, left, row_h, top = 640, 200, 24, 30
    height = top + max(len(rows), 1) * row_h + 10
    plot_w = width - left - 50
    body = [_text(width / 2, 16, labels.share_title, size=14, weight="bold")]
    if not rows:
        body.append(_text(width / 2, top + 14, labels.no_data, size=12))
    for index, unit in enumerate(rows):
        y = top + index * row_h
        share = float(unit["online_share_percent"])
        name = str(unit["name"])
        body.append(
            _text(left - 6, y + 14, name if len(name) <= 28 else name[:27] + "…", size=12, anchor="end")
        )
        body.append(
            f'<rect class="bar" data-unit="{unit["id"]}" data-value="{share}" x="{left}" y="{y + 3}" '
            f'width="{plot_w * share / 100:.1f}" height="{row_h - 6}" fill="{MODE_COLOURS["online"]}">'
            f"<title>{escape(name)}: {share}%</title></rect>"
        )
        body.append(_text(left + plot_w * share / 100 + 4, y + 14, f"{share:g}%", size=12, anchor="start"))
    return _svg(width, height, labels.share_title, "online-share", body)
