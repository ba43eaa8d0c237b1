"""Make docs/report.png: the report of three captures of a live process whose named anonymous
memory grows, as headless Chromium shows it (the README shows the picture).

    .venv/bin/python tools/report_screenshot.py [OUTPUT.png]

Needs Debian's chromium and chromium-driver, and selenium (the test extra). The process is a
Python child that, before each capture, touches more anonymous memory (8, then 24, then 40 MiB
more) and maps and reads more of a data file, index.dat (4, then 8, then 12 MiB more).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHILD = textwrap.dedent(
    """
    import mmap, sys
    held = []
    data = open(sys.argv[1], "r+b")
    used = 0
    for line in sys.stdin:
        anon, file = map(int, line.split())
        region = mmap.mmap(-1, anon << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        for offset in range(0, len(region), mmap.PAGESIZE):
            region[offset] = 1
        data.truncate((used + file) << 20)
        view = mmap.mmap(data.fileno(), file << 20, offset=used << 20)
        for offset in range(0, len(view), mmap.PAGESIZE):
            view[offset] = 2
        used += file
        held += [region, view]
        print("ready", flush=True)
    """
)


def main() -> int:
    output = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "report.png"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    work = Path(tempfile.mkdtemp(prefix="smapsfmt-shot-"))
    (work / "index.dat").touch()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(work / "index.dat")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdin is not None and child.stdout is not None
    captures = []
    try:
        for step, (anon, file) in enumerate(((8, 4), (24, 8), (40, 12)), 1):
            child.stdin.write(f"{anon} {file}\n")
            child.stdin.flush()
            assert child.stdout.readline() == "ready\n"
            path = work / f"capture-{step}.smaps"
            path.write_bytes(Path(f"/proc/{child.pid}/smaps").read_bytes())
            captures.append(path.name)
    finally:
        child.kill()
        child.wait()
    page = work / "report.html"
    subprocess.run(
        [sys.executable, "-m", "smapsfmt", "report", *captures, "-o", str(page),
         "--title", "Memory of a Python process, three captures"],
        check=True, cwd=work,
    )  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={work / 'profile'}", "--window-size=1040,1640", "--hide-scrollbars",
    ):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        driver.get(page.as_uri())
        driver.save_screenshot(str(output))
    finally:
        driver.quit()
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
