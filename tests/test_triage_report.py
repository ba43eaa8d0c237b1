"""smapsfmt report: the page as headless Chromium shows it (Debian's chromium and
chromium-driver, driven with selenium), and the HTML's self-containment."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import LIVE, VALID, run_cli

SLEEP = LIVE / "6.18" / "sleep"
ANDROID = VALID / "external" / "android-libmeminfo" / "testdata1" / "smaps"
CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
)  # fmt: skip

needs_browser = pytest.mark.skipif(
    shutil.which(CHROMIUM) is None or shutil.which(DRIVER) is None,
    reason="Debian's chromium and chromium-driver: .ci/run installs them",
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="smapsfmt-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1100,3000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def report(tmp_path: Path, *inputs: Path) -> Path:
    out = tmp_path / "report.html"
    result = run_cli("report", *map(str, inputs), "-o", str(out))
    assert result.returncode == 0, result.stderr.decode()
    return out


def summary(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run_cli("summary", "--format", "json", str(path)).stdout)
    return data


def _grown(tmp_path: Path) -> list[Path]:
    """Three captures of one process whose [heap] grows by 40 kB, then 60 kB more."""
    text = (SLEEP / "smaps").read_text()
    lines = text.splitlines(keepends=True)
    heap = next(i for i, line in enumerate(lines) if line.rstrip().endswith("[heap]"))
    paths = []
    for step, grow in enumerate((0, 40, 100)):
        edited = list(lines)
        for i in range(heap + 1, heap + 24):
            name = edited[i].split(":")[0]
            if name in ("Rss", "Pss", "Private_Dirty", "Anonymous", "Pss_Dirty", "Pss_Anon"):
                value = int(edited[i].split()[1]) + grow
                edited[i] = f"{name + ':':<16}{value:>8} kB\n"
        path = tmp_path / f"capture{step + 1}.smaps"
        path.write_text("".join(edited))
        paths.append(path)
    return paths


def test_the_html_is_self_contained(tmp_path: Path) -> None:
    html = report(tmp_path, *_grown(tmp_path)).read_text()
    assert html.startswith("<!DOCTYPE html>")
    for pattern in (
        r"<script",
        r"<link",
        r"\bsrc=",
        r"\bhref=",
        r"url\(",
        r"@import",
        r"@font-face",
    ):
        assert re.search(pattern, html, re.I) is None, pattern
    assert "default-src 'none'" in html  # and the page may fetch nothing, by its own policy


def test_the_output_line_and_json(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    text = run_cli("report", str(SLEEP / "smaps"), "-o", str(out))
    size = out.stat().st_size
    assert text.stdout.decode() == f"{out}: 1 capture, 0 findings, {size:,} bytes\n"
    data = json.loads(
        run_cli("report", str(SLEEP / "smaps"), "-o", str(out), "--format", "json").stdout
    )
    assert data == {
        "output": str(out),
        "bytes": out.stat().st_size,
        "captures": [str(SLEEP / "smaps")],
        "findings": 0,
    }


def test_usage_errors(tmp_path: Path) -> None:
    missing = run_cli("report", "-o", str(tmp_path / "r.html"))
    assert (missing.returncode, missing.stderr.decode()) == (
        2, "smapsfmt: error: INPUT... or --pid PID is required (see 'smapsfmt report --help')\n"
    )  # fmt: skip
    unwritable = run_cli("report", str(SLEEP / "smaps"), "-o", str(tmp_path / "no" / "r.html"))
    assert (unwritable.returncode, unwritable.stderr.decode()) == (
        2, f"smapsfmt: error: cannot write {tmp_path / 'no' / 'r.html'}: No such file or "
        "directory\n",
    )  # fmt: skip


def test_a_live_process_beside_a_capture(tmp_path: Path) -> None:
    """``--pid``: the process is read as the last capture (smaps and its own smaps_rollup):
    labelled by its pid, its totals beside the kernel's, row for row."""
    process = subprocess.Popen(["sleep", "60"])  # returns once sleep runs (the exec is done)
    try:
        out = tmp_path / "r.html"
        result = run_cli("report", str(SLEEP / "smaps"), "--pid", str(process.pid), "-o", str(out),
                         "--format", "json")  # fmt: skip
        assert result.returncode == 0, result.stderr.decode()
    finally:
        process.kill()
        process.wait()
    smaps, rollup = f"/proc/{process.pid}/smaps", f"/proc/{process.pid}/smaps_rollup"
    assert json.loads(result.stdout)["captures"] == [str(SLEEP / "smaps"), smaps]
    html = out.read_text()
    assert f"<title>Memory of {smaps}</title>" in html
    assert f"2. pid {process.pid}" in html and "1. smaps" in html
    (card,) = re.findall(
        r'data-field="Pss">.*?<div class="n">kernel: ([\d,]+) kB \(([^)]*)\)', html
    )
    (row,) = re.findall(r'<tr class="kernel">(.*?)<td class="obj">TOTAL as the kernel sums it: '
                        r"smaps_rollup \(([^)]*)\)</td></tr>", html)  # fmt: skip
    assert card[1] == "smaps_rollup" and row[1] == rollup
    assert card[0] in re.findall(r"<td>([\d,]+)</td>", row[0])  # the row's Pss: the card's


def test_two_captures_alike_and_a_capture_of_no_memory(tmp_path: Path) -> None:
    """The growth table of two captures that differ in nothing says so; the treemap of an
    address space with nothing resident (an empty smaps: a process without mappings) says
    that instead of drawing nothing."""
    same = report(tmp_path, SLEEP / "smaps", SLEEP / "smaps").read_text()
    assert '<tr><td colspan="4" class="obj">no object changed</td></tr>' in same
    empty = tmp_path / "empty.smaps"
    empty.write_bytes(b"")
    treemap = report(tmp_path, empty).read_text()
    assert (
        '<svg class="treemap" viewBox="0 0 960 420" width="960" height="420" role="img" '
        'aria-label="treemap of the memory by object"><text x="480.0" y="210.0" '
        'text-anchor="middle">no resident memory</text></svg>'
    ) in treemap


def test_a_smaps_rollup_alone(tmp_path: Path) -> None:
    """A smaps_rollup holds totals only: the page shows its cards (the kernel's own Pss) and
    its findings; no treemap and no table by object, which need the mappings."""
    html = report(tmp_path, SLEEP / "smaps_rollup").read_text()
    assert re.findall(r'<section id="([a-z]+)"', html) == ["overview", "findings"]
    cards = re.findall(
        r'<div class="k">(\w+)</div><div class="v">([\d,]+)(?: kB)?</div><div class="n">([^<]*)<',
        html,
    )
    assert cards == [  # no Mappings card: the rollup does not count them
        ("Rss", "1,812", "resident"),
        ("Pss", "536", "kernel: 536 kB (smaps_rollup)"),
        ("Private", "160", "USS: this process alone"),
        ("Swap", "0", "swapped out"),
    ]


# --- what the browser shows --------------------------------------------------------------------


def _png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and rows of RGB(A) bytes of a non-interlaced 8-bit PNG (what Chromium
    writes), decoded here: PNG specification, sections 11.2 and 9 (filters)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = channels = 0
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind, data = png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and data[12] == 0, "8-bit, not interlaced"
            channels = {2: 3, 6: 4}[color]
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - channels] if x >= channels else 0
            up = previous[x]
            corner = previous[x - channels] if x >= channels else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pred) & 255
        rows.append(bytes(line))
        previous = line
    return width, channels, rows


def _pixel(png: bytes, x: int, y: int) -> str:
    _, channels, rows = _png_pixels(png)
    r, g, b = rows[y][x * channels : x * channels + 3]
    return f"#{r:02x}{g:02x}{b:02x}"


@needs_browser
def test_the_browser_shows_the_treemap_the_table_and_no_findings(
    browser: Any, tmp_path: Path
) -> None:
    page = report(tmp_path, ANDROID)
    browser.get(page.as_uri())
    expected = summary(ANDROID)
    assert browser.title == f"Memory of {ANDROID}"
    # Nothing was fetched: the page is all there is.
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0
    cells = browser.execute_script(
        "return [...document.querySelectorAll('#treemap g.cell')].map(g => {"
        " const r = g.querySelector('rect').getBoundingClientRect();"
        " return {object: g.dataset.object, kb: +g.dataset.kb, kind: g.dataset.kind,"
        " x: r.x, y: r.y, w: r.width, h: r.height,"
        " fill: g.querySelector('rect').getAttribute('fill')}; })"
    )
    svg = browser.execute_script(
        "const r = document.querySelector('#treemap svg').getBoundingClientRect();"
        "return {x: r.x, y: r.y, w: r.width, h: r.height};"
    )
    assert svg["w"] > 600 and svg["h"] > 200  # shown, at a size a person can read
    assert len(cells) == 41  # the 40 largest objects and one area for the rest
    area = sum(c["w"] * c["h"] for c in cells)
    assert abs(area - svg["w"] * svg["h"]) < 0.01 * svg["w"] * svg["h"]  # the areas tile it
    for cell in cells:  # inside the chart
        assert svg["x"] - 0.5 <= cell["x"] and cell["x"] + cell["w"] <= svg["x"] + svg["w"] + 0.5
    ranked = sorted(expected["rows"], key=lambda r: (-r["Pss"], r["object"]))
    largest = max(cells, key=lambda c: c["w"] * c["h"])
    assert largest["object"] == ranked[0]["object"] and largest["kb"] == ranked[0]["Pss"]
    ratio = (largest["w"] * largest["h"]) / (svg["w"] * svg["h"])
    assert abs(ratio - ranked[0]["Pss"] / expected["total"]["Pss"]) < 0.005  # area is Pss
    # What a person sees at the largest area's centre is its color, and its label is shown.
    png = browser.get_screenshot_as_png()
    scale = browser.execute_script("return window.devicePixelRatio")
    centre = (
        int((largest["x"] + largest["w"] / 2) * scale),
        int((largest["y"] + largest["h"] / 2 + browser.execute_script("return scrollY")) * scale),
    )
    assert _pixel(png, *centre) == largest["fill"]
    label = browser.execute_script(
        "const g = [...document.querySelectorAll('#treemap g.cell')].find("
        " g => g.dataset.object === arguments[0]);"
        "return g.querySelector('text.label').getBoundingClientRect().width > 0 &&"
        " g.querySelector('text.label').textContent", largest["object"],
    )  # fmt: skip
    assert label and largest["object"].endswith(label.lstrip("…"))
    # The summary table's TOTAL row, as displayed, is the summary's TOTAL.
    total = browser.execute_script(
        "return [...document.querySelectorAll('#summary tr.total td')].map(td => td.innerText)"
    )
    columns = ["Size", "Rss", "Pss", "Private", "Shared", "Swap", "SwapPss", "Locked"]
    assert total == [f"{expected['total'][c]:,}" for c in columns] + [
        str(expected["total"]["mappings"]),
        "TOTAL",
    ]
    kernel = browser.execute_script(
        "return document.querySelector('#summary tr.kernel').innerText"
    )
    assert "108,384..109,307" in kernel and "the interval the smaps proves" in kernel
    shown = browser.find_element("id", "no-findings")
    assert shown.is_displayed()
    assert shown.text == f"No findings: {ANDROID} is what a kernel prints."
    assert browser.find_elements("id", "growth") == []  # one capture: no growth


@needs_browser
def test_the_browser_shows_the_growth_and_the_findings(browser: Any, tmp_path: Path) -> None:
    captures = _grown(tmp_path)
    bad = (
        captures[1]
        .read_text()
        .replace("Rss:                  12 kB", "Rss:                 999 kB", 1)
    )
    captures[1].write_text(bad)
    page = report(tmp_path, *captures)
    browser.get(page.as_uri())
    bars = browser.execute_script(
        "return [...document.querySelectorAll('#growth rect.segment')].map(r => ({"
        " object: r.dataset.object, capture: +r.dataset.capture, kb: +r.dataset.kb,"
        " h: r.getBoundingClientRect().height}))"
    )
    heap = sorted((b for b in bars if b["object"] == "[heap]"), key=lambda b: b["capture"])
    assert [b["kb"] for b in heap] == [16, 56, 116]
    assert heap[0]["h"] < heap[1]["h"] < heap[2]["h"]  # the growth is seen
    per_kb = heap[2]["h"] / 116
    assert abs(heap[1]["h"] - 56 * per_kb) < 1.0  # heights are proportional
    totals = {}
    for bar in bars:
        totals[bar["capture"]] = totals.get(bar["capture"], 0) + bar["kb"]
    assert totals == {0: 530, 1: summary(captures[1])["total"]["Pss"], 2: 630}
    growth = browser.execute_script(
        "return [...document.querySelectorAll('#growth table.growth tbody tr')].map("
        " tr => tr.innerText.split('\\t'))"
    )
    assert growth[0] == ["+100", "+100", "grew", "[heap]"]
    findings = browser.find_element("id", "findings").text
    assert f"{captures[1]}:" in findings and "smaps-" in findings
    assert browser.find_elements("id", "no-findings") == []
    legend = browser.execute_script(
        "return [...document.querySelectorAll('#growth .legend li')].map(li => li.innerText)"
    )
    assert legend[0] == "/usr/lib/x86_64-linux-gnu/libc.so.6"  # the largest, at the bottom
    assert legend[-1] == "every other object"
