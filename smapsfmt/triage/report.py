"""``smapsfmt report INPUT... -o report.html``: one self-contained HTML page to look at.

The page holds everything it shows: inline CSS, the charts as inline SVG drawn by
smapsfmt.triage.svg, no script, no font, no link to anything outside (a browser opening it
makes no request). It shows, for the last capture: the totals (with the kernel's Pss), a
treemap of Pss by object, the summary table; over several captures of one process (in the order
given), the Pss of the largest objects in each capture as stacked bars and the growth of each
object from the first to the last; and the validation findings of every input.
"""

from __future__ import annotations

import contextlib
import os
import time
from html import escape
from typing import TYPE_CHECKING, Any

from .objects import KINDS, PSS_FAMILY, Row
from .svg import COLORS, Item, stacked_bars, treemap

if TYPE_CHECKING:
    import argparse

    from .load import Capture

__all__ = ["Input", "render", "run"]

TREEMAP_OBJECTS = 40  # the rest is one "other" area
TABLE_ROWS = 60
GROWTH_SERIES = 8
COLUMNS = ("Size", "Rss", "Pss", "Private", "Shared", "Swap", "SwapPss", "Locked")

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;
max-width:1000px;color:#1d1d1f;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid
#ddd;padding-bottom:4px}.sub{color:#555;margin:0}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card .k{color:#555;font-size:12px}.card .v{font-size:20px;font-weight:600}
.card .n{color:#555;font-size:11px}
svg{width:100%;height:auto}svg text{font:12px system-ui,sans-serif}
svg .value{fill:#333}svg .axis{fill:#555}
svg .grid{stroke:#eee}
table{border-collapse:collapse;width:100%;font-size:12.5px}table.growth{width:auto}
th,td{padding:3px 6px;border-bottom:1px solid #eee;text-align:right;white-space:nowrap}
th{background:#f6f6f6;position:sticky;top:0}td.obj,th.obj{text-align:left;white-space:normal;
word-break:break-all}tr.total td{font-weight:600;border-top:2px solid #bbb}
tr.kernel td{color:#555;font-style:italic}
.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:4px 14px;margin:6px 0}
.swatch{display:inline-block;width:11px;height:11px;margin-right:5px;vertical-align:-1px;
border:1px solid #999}
.up{color:#b00020}.down{color:#1b7f3b}
.findings li{font-family:ui-monospace,monospace;font-size:12px;margin:2px 0}
.findings .error{color:#b00020}.findings .warning{color:#8a5a00}
.ok{color:#1b7f3b}footer{margin-top:32px;color:#777;font-size:12px}
"""


class Input:
    """One capture of the report and its validation findings (rendered lines, and counts)."""

    def __init__(self, capture: Capture, findings: list[Any]) -> None:
        self.capture = capture
        self.findings = findings


def _text(name: str) -> str:
    """A name as the page shows it: undecodable bytes (lone surrogates) as \\x escapes."""
    return escape(name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))


def _kb(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def _kernel(capture: Capture, name: str) -> str:
    value = capture.kernel_value(name)
    if value is None:
        return ""
    if isinstance(value, int):
        return f"{value:,}"
    lo, hi = value
    return "?" if hi is None else (f"{lo:,}" if lo == hi else f"{lo:,}..{hi:,}")


def _label(capture: Capture, index: int) -> str:
    base = os.path.basename(capture.path.rstrip("/")) or capture.path
    if capture.pid is not None:
        base = f"pid {capture.pid}"
    return f"{index + 1}. {base}"


def _cards(capture: Capture) -> str:
    total = capture.rows.total() if capture.kind == "smaps" else _rollup_row(capture)
    cards = []
    for name, note in (
        ("Rss", "resident"),
        ("Pss", "proportional share"),
        ("Private", "USS: this process alone"),
        ("Swap", "swapped out"),
    ):
        value = total.value(name)
        extra = note
        if name in PSS_FAMILY and capture.kernel_source is not None:
            extra = f"kernel: {_kernel(capture, name)} kB ({capture.kernel_source})"
        cards.append(
            f'<div class="card" data-field="{name}"><div class="k">{name}</div>'
            f'<div class="v">{_kb(value)} kB</div><div class="n">{escape(extra)}</div></div>'
        )
    if capture.kind == "smaps":  # smaps_rollup sums every mapping in one entry: no count
        count = capture.rows.count
        cards.append(
            f'<div class="card"><div class="k">Mappings</div><div class="v">{count:,}</div>'
            f'<div class="n">{len(capture.rows.by_object):,} objects</div></div>'
        )
    return '<div class="cards">' + "".join(cards) + "</div>"


def _rollup_row(capture: Capture) -> Row:
    row = Row("TOTAL", "total")
    row.fields = dict(capture.rollup or {})
    return row


def _sorted(capture: Capture) -> list[Row]:
    return sorted(
        capture.rows.by_object.values(), key=lambda r: (-(r.value("Pss") or 0), r.object)
    )


def _treemap(capture: Capture) -> str:
    rows = _sorted(capture)
    items = [Item(r.object, r.value("Pss") or 0, r.kind, _tip(r)) for r in rows[:TREEMAP_OBJECTS]]
    rest = rows[TREEMAP_OBJECTS:]
    if rest:
        value = sum(r.value("Pss") or 0 for r in rest)
        items.append(
            Item(
                f"{len(rest)} more objects",
                value,
                "other",
                f"{len(rest)} more objects: Pss {value:,} kB",
            )
        )
    items.sort(key=lambda i: -i.value)
    kinds = sorted({i.kind for i in items if i.value > 0})
    legend = "".join(
        f'<li><span class="swatch" style="background:{COLORS[k]}"></span>'
        f"{escape(KINDS.get(k, 'the smaller objects, together'))}</li>"
        for k in kinds
    )
    return treemap(items) + f'<ul class="legend">{legend}</ul>'


def _tip(row: Row) -> str:
    fields = ", ".join(f"{c} {_kb(row.value(c))} kB" for c in ("Pss", "Rss", "Private", "Swap"))
    return f"{row.object} ({row.kind}, {row.mappings} mappings): {fields}"


def _table(capture: Capture) -> str:
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    lines = [
        '<table class="summary"><thead><tr>'
        f'{head}<th>Maps</th><th class="obj">Object</th></tr></thead><tbody>'
    ]
    rows = _sorted(capture)
    for row in rows[:TABLE_ROWS]:
        cells = "".join(f"<td>{_kb(row.value(c))}</td>" for c in COLUMNS)
        lines.append(
            f'<tr data-kind="{row.kind}">{cells}<td>{row.mappings}</td>'
            f'<td class="obj">{_text(row.object)}</td></tr>'
        )
    rest = rows[TABLE_ROWS:]
    if rest:
        other = Row(f"({len(rest)} more objects)", "other")
        for row in rest:
            other.mappings += row.mappings
            for name, value in row.fields.items():
                other.fields[name] = other.fields.get(name, 0) + value
        cells = "".join(f"<td>{_kb(other.value(c))}</td>" for c in COLUMNS)
        lines.append(
            f'<tr>{cells}<td>{other.mappings}</td><td class="obj">{other.object}</td></tr>'
        )
    total = capture.rows.total()
    cells = "".join(f"<td>{_kb(total.value(c))}</td>" for c in COLUMNS)
    lines.append(
        f'<tr class="total">{cells}<td>{total.mappings}</td><td class="obj">TOTAL</td></tr>'
    )
    if capture.kernel_source is not None:
        cells = "".join(
            f"<td>{_kernel(capture, c) if c in PSS_FAMILY else ''}</td>" for c in COLUMNS
        )
        where = (
            f"smaps_rollup ({_text(capture.rollup_path or '')})"
            if capture.kernel_source == "smaps_rollup"
            else "the interval the smaps proves"
        )
        lines.append(
            f'<tr class="kernel">{cells}<td></td><td class="obj">TOTAL as the kernel sums it: '
            f"{where}</td></tr>"
        )
    lines.append("</tbody></table>")
    return "".join(lines)


def _growth(captures: list[Capture]) -> str:
    last = captures[-1]
    top = [r.object for r in _sorted(last)[:GROWTH_SERIES]]
    series: list[tuple[str, str, list[int]]] = []
    for name in top:
        values = []
        for capture in captures:
            row = capture.rows.by_object.get(name)
            values.append((row.value("Pss") or 0) if row is not None else 0)
        series.append((name, last.rows.by_object[name].kind, values))
    others = []
    for capture in captures:
        total = capture.rows.total().value("Pss") or 0
        shown = sum(
            (capture.rows.by_object[n].value("Pss") or 0)
            for n in top
            if n in capture.rows.by_object
        )
        others.append(total - shown)
    series.append(("every other object", "other", others))  # largest at the bottom
    labels = [_label(c, i) for i, c in enumerate(captures)]
    chart = stacked_bars(labels, series)
    first = captures[0]
    names = list(first.rows.by_object)
    names += [n for n in last.rows.by_object if n not in first.rows.by_object]
    changes = []
    for name in names:
        a = first.rows.by_object.get(name)
        b = last.rows.by_object.get(name)
        va = (a.value("Pss") or 0) if a else 0
        vb = (b.value("Pss") or 0) if b else 0
        ra = (a.value("Rss") or 0) if a else 0
        rb = (b.value("Rss") or 0) if b else 0
        if va != vb or ra != rb or (a is None) != (b is None):
            change = (
                "appeared"
                if a is None
                else "gone"
                if b is None
                else ("grew" if (vb - va or rb - ra) > 0 else "shrank")
            )
            changes.append((vb - va, rb - ra, change, name))
    changes.sort(key=lambda c: (-c[0], -c[1], c[3]))
    rows = [
        '<table class="growth"><thead><tr><th>Pss change</th><th>Rss change</th><th>Change</th>'
        '<th class="obj">Object</th></tr></thead><tbody>'
    ]
    for dp, dr, change, name in changes[:TABLE_ROWS]:
        css = "up" if dp > 0 or (dp == 0 and dr > 0) else "down"
        rows.append(
            f'<tr class="{css}"><td>{dp:+,}</td><td>{dr:+,}</td><td>{change}</td>'
            f'<td class="obj">{_text(name)}</td></tr>'
        )
    if not changes:
        rows.append('<tr><td colspan="4" class="obj">no object changed</td></tr>')
    rows.append("</tbody></table>")
    total_a = first.rows.total().value("Pss") or 0
    total_b = last.rows.total().value("Pss") or 0
    head = (
        f"<p>Pss of the {len(top)} largest objects of the last capture, in each of the "
        f"{len(captures)} captures (kB). From the first to the last: Pss "
        f"{total_b - total_a:+,} kB.</p>"
    )
    return (
        head
        + chart
        + "<h3>What changed from the first capture to the last (kB)</h3>"
        + "".join(rows)
    )


def _findings(inputs: list[Input]) -> str:
    parts = []
    total = 0
    for item in inputs:
        capture = item.capture
        lines = [f'<li class="warning">{_text(w)}</li>' for w in capture.warnings]
        for d in item.findings:
            lines.append(f'<li class="{d.severity}">{_text(d.render())}</li>')
        total += len(lines)
        if lines:
            parts.append(
                f'<h3>{_text(capture.path)}</h3><ul class="findings">{"".join(lines)}</ul>'
            )
    if total == 0:
        names = ", ".join(_text(i.capture.path) for i in inputs)
        verb = "is" if len(inputs) == 1 else "are"
        return (
            f'<p class="ok" id="no-findings">No findings: {names} {verb} what a kernel prints.</p>'
        )
    return "".join(parts)


def render(inputs: list[Input], title: str) -> str:
    """The page."""
    from .. import __version__

    captures = [i.capture for i in inputs]
    last = captures[-1]
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    sources = ", ".join(_text(c.path) for c in captures)
    body = [
        f'<header><h1>{_text(title)}</h1><p class="sub">{len(captures)} capture'
        f"{'s' if len(captures) != 1 else ''}: {sources}</p></header>",
        f'<section id="overview"><h2>Totals of {_text(last.path)}</h2>{_cards(last)}</section>',
    ]
    if last.kind == "smaps":
        body.append(
            '<section id="treemap"><h2>Where the memory goes: Pss by object</h2>'
            f"{_treemap(last)}</section>"
        )
    if len(captures) > 1 and all(c.kind == "smaps" for c in captures):
        body.append(
            f'<section id="growth"><h2>Growth over the captures</h2>{_growth(captures)}</section>'
        )
    if last.kind == "smaps":
        body.append(
            f'<section id="summary"><h2>Summary by object (kB)</h2>{_table(last)}</section>'
        )
    body.append(
        f'<section id="findings"><h2>Validation findings</h2>{_findings(inputs)}</section>'
    )
    body.append(f"<footer>smapsfmt {__version__}, {stamp}</footer>")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<title>{_text(title)}</title><style>{_CSS}</style></head><body>"
        + "".join(body)
        + "</body></html>\n"
    )


def _load(name: str | None, args: argparse.Namespace) -> Input:
    from .. import validate
    from .._cli.common import display_name, load_snapshot, read_input
    from .load import cut_last_block, from_text

    if name is None:
        snap: Any = load_snapshot(args)
        text, path = snap.smaps_text, snap.smaps_path
        capture = from_text(text, path, rollup=snap.rollup_text, rollup_path=snap.rollup_path)
        capture.pid = snap.pid
    else:
        text, path = read_input(name), display_name(name)
        capture = from_text(text, path)
    trimmed, _ = cut_last_block(text, path) if capture.kind == "smaps" else (text, None)
    return Input(capture, validate(trimmed, path=path))


def run(args: argparse.Namespace) -> int:
    from .._cli.streams import EXIT_OK, UsageError, err, out
    from .progress import Progress
    from .table import json_text

    names: list[str | None] = list(args.inputs)
    if args.pid is not None:
        names.append(None)
    if not names:
        raise UsageError("INPUT... or --pid PID is required (see 'smapsfmt report --help')")
    inputs = []
    with Progress("reading captures") as progress:
        for done, name in enumerate(names, 1):
            inputs.append(_load(name, args))
            progress.update(done, len(names), name or f"pid {args.pid}")
    for item in inputs:
        for warning in item.capture.warnings:
            err(f"smapsfmt: warning: {warning}\n")
    title = args.title or f"Memory of {inputs[-1].capture.path}"
    page = render(inputs, title)
    target = args.output
    temporary = f"{target}.tmp{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.replace(temporary, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise UsageError(f"cannot write {target}: {exc.strerror or exc}") from None
    findings = sum(len(i.findings) + len(i.capture.warnings) for i in inputs)
    if args.format == "json":
        out(
            json_text(
                {
                    "output": target,
                    "bytes": len(page.encode("utf-8")),
                    "captures": [i.capture.path for i in inputs],
                    "findings": findings,
                }
            )
        )
    else:
        out(
            f"{target}: {len(inputs)} capture{'s' if len(inputs) != 1 else ''}, {findings} "
            f"finding{'s' if findings != 1 else ''}, {len(page.encode('utf-8')):,} bytes\n"
        )
    return EXIT_OK
