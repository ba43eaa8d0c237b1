"""The report's charts as inline SVG, drawn here: a squarified treemap and stacked bars.

No script and no font is needed to show them: each shape carries its numbers in a ``<title>``
(a tooltip) and in ``data-`` attributes, and the labels use the page's own font.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

__all__ = ["COLORS", "Item", "stacked_bars", "treemap"]

# One color per kind of object (objects.KINDS), readable with black text.
COLORS = {
    "file": "#8db4e2",
    "deleted": "#f4a6a6",
    "memfd": "#f7c08a",
    "shm": "#9fd8d3",
    "shmem": "#a6d49f",
    "heap": "#f3dc7b",
    "stack": "#cdb1d8",
    "special": "#c9b29b",
    "anon-named": "#ffc4cc",
    "anon": "#d5d0cc",
    "other": "#e6e6e6",
}


# The series of the stacked bars, in order (a categorical palette, Tableau 10's hues).
SERIES = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
)  # fmt: skip


class Item:
    """One area: a label, its value (kB), its kind (a key of COLORS) and its tooltip."""

    __slots__ = ("kind", "label", "tip", "value")

    def __init__(self, label: str, value: int, kind: str, tip: str) -> None:
        self.label = label
        self.value = value
        self.kind = kind
        self.tip = tip


def _worst(row: Sequence[float], side: float) -> float:
    total = sum(row)
    if total <= 0 or side <= 0:
        return float("inf")
    return max(
        max(side * side * r / (total * total), total * total / (side * side * r)) for r in row
    )


def _layout(
    areas: Sequence[float], x: float, y: float, w: float, h: float
) -> list[tuple[float, float, float, float]]:
    """Squarified treemap (Bruls, Huizing, van Wijk 2000) of ``areas`` (largest first, summing
    to w * h): one rectangle per area, in order."""
    rects: list[tuple[float, float, float, float]] = []
    rest = list(areas)
    while rest:
        side = min(w, h)
        row = [rest.pop(0)]
        while rest and _worst([*row, rest[0]], side) <= _worst(row, side):
            row.append(rest.pop(0))
        total = sum(row)
        if w >= h:  # a column on the left
            width = total / h if h else 0
            cy = y
            for area in row:
                height = area / width if width else 0
                rects.append((x, cy, width, height))
                cy += height
            x, w = x + width, w - width
        else:  # a row on top
            height = total / w if w else 0
            cx = x
            for area in row:
                width = area / height if height else 0
                rects.append((cx, y, width, height))
                cx += width
            y, h = y + height, h - height
    return rects


def treemap(items: Sequence[Item], width: int = 960, height: int = 420) -> str:
    """An SVG treemap of ``items`` (largest first), each rectangle labelled where it fits."""
    shown = [item for item in items if item.value > 0]
    total = sum(item.value for item in shown)
    parts = [
        f'<svg class="treemap" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="treemap of the memory by object">'
    ]
    if total == 0:
        parts.append(
            f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">no resident memory'
            "</text></svg>"
        )
        return "".join(parts)
    scale = width * height / total
    rects = _layout([item.value * scale for item in shown], 0, 0, width, height)
    for item, (x, y, w, h) in zip(shown, rects, strict=True):
        color = COLORS.get(item.kind, COLORS["other"])
        parts.append(
            f'<g class="cell" data-object="{escape(item.label)}" data-kb="{item.value}" '
            f'data-kind="{item.kind}"><title>{escape(item.tip)}</title>'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{color}" '
            'stroke="#fff" stroke-width="1"/>'
        )
        if w > 60 and h > 30:
            chars = max(int(w / 7.2), 4)
            label = item.label if len(item.label) <= chars else "…" + item.label[-(chars - 1) :]
            parts.append(
                f'<text x="{x + 4:.1f}" y="{y + 15:.1f}" class="label">{escape(label)}</text>'
                f'<text x="{x + 4:.1f}" y="{y + 29:.1f}" class="value">{item.value:,} kB</text>'
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def stacked_bars(
    columns: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[int]]],
    width: int = 960,
    height: int = 320,
) -> str:
    """Stacked bars, one per capture (``columns``: their labels); ``series``: (label, kind,
    value per capture), bottom first; the last one grey. A legend names the series."""
    left, bottom, top = 70, 40, 10
    plot_h = height - bottom - top
    count = len(columns)
    totals = [sum(values[i] for _, _, values in series) for i in range(count)]
    peak = max(totals) if totals and max(totals) > 0 else 1
    slot = (width - left - 10) / max(count, 1)
    bar = min(slot * 0.6, 120)
    parts = [
        f'<svg class="bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'role="img" aria-label="memory by object in each capture">'
    ]
    for step in range(5):
        value = peak * step / 4
        y = top + plot_h - plot_h * step / 4
        parts.append(
            f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
            f"{int(value):,}</text>"
        )
    palette = SERIES
    for i, column in enumerate(columns):
        x = left + slot * i + (slot - bar) / 2
        y = top + plot_h
        for index, (label, _kind, values) in enumerate(series):
            value = values[i]
            h = plot_h * value / peak
            y -= h
            last = index == len(series) - 1
            color = "#d9d9d9" if last else palette[index % len(palette)]
            parts.append(
                f'<rect class="segment" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{color}" data-object="{escape(label)}" '
                f'data-capture="{i}" data-kb="{value}"><title>{escape(label)}: {value:,} kB '
                f"in {escape(column)}</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'class="axis">{escape(column)}</text>'
            f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 30}" text-anchor="middle" '
            f'class="axis">{totals[i]:,} kB</text>'
        )
    parts.append("</svg>")
    legend = ['<ul class="legend">']
    for index, (label, _kind, _values) in enumerate(series):
        color = "#d9d9d9" if index == len(series) - 1 else SERIES[index % len(SERIES)]
        legend.append(
            f'<li><span class="swatch" style="background:{color}"></span>{escape(label)}</li>'
        )
    legend.append("</ul>")
    return "".join(parts) + "".join(legend)
