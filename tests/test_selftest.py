"""``smapsfmt selftest``: the shaper on this machine's kernel (as root, with and without the
shapes that change system settings, and as an unprivileged user), the checker on a saved
capture and on that capture edited the way a wrong kernel would print it, the frames through
a noisy serial console, and every system setting restored, when the shaper is killed too."""

from __future__ import annotations

import fcntl
import hashlib
import json
import lzma
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from support import ROOT, run_cli

from smapsfmt.selftest import build, check_capture, decode, expectations, settings
from smapsfmt.selftest.frames import FrameError

CAPTURE = ROOT / "tests/selftest/6.18.44-x86_64.shaper.xz"
F_SETPIPE_SZ = 1031


def _json(result: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _verdicts(document: dict[str, Any]) -> dict[tuple[str, str, str], str]:
    return {(c["shape"], c["file"], c["field"]): c["verdict"] for c in document["checks"]}


def _failures(document: dict[str, Any]) -> list[dict[str, str]]:
    return [c for c in document["checks"] if c["verdict"] == "fail"]


def _state() -> tuple[dict[str, str | None], set[str], set[str]]:
    values = {path: settings._read(path) for path in settings.SETTINGS}
    return values, settings.swaps(), settings.zram_devices()


# --- the shaper ----------------------------------------------------------------------------------


def test_the_shaper_builds_and_has_the_shapes_of_the_table() -> None:
    shaper = build.shaper_path()
    listed = subprocess.run([shaper, "--list"], capture_output=True, check=True, text=True)
    shapes = dict(line.split() for line in listed.stdout.splitlines())
    assert shapes == {
        name: "system" if system else "plain" for name, system in expectations.SHAPES.items()
    }
    assert {row.shape for row in expectations.ROWS} == set(expectations.SHAPES)
    assert {need for row in expectations.ROWS for need in row.needs} <= set(expectations.NEEDS)


def test_the_shaper_refuses_a_system_shape_without_system() -> None:
    result = subprocess.run([build.shaper_path(), "ksm"], capture_output=True, check=False)
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr == b"shaper: shape ksm changes system settings: give --system\n"


def test_a_missing_compiler_is_named(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(CC=str(tmp_path / "no-cc"), XDG_CACHE_HOME=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "smapsfmt", "selftest", "--shape", "anon"],
        capture_output=True, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == (
        f"smapsfmt: error: cannot run the C compiler '{tmp_path / 'no-cc'}' to build the "
        "shaper: No such file or directory\n"
    )


# --- on this machine's kernel ----------------------------------------------------------------


def test_selftest_passes_on_this_kernel() -> None:
    result = run_cli("selftest", "--format", "json")
    document = _json(result)
    assert result.returncode == 0, _failures(document)
    verdicts = _verdicts(document)
    for key in [
        ("anon", "smaps", "Pss"), ("shared", "smaps", "Pss"), ("shmem", "smaps", "Shared_Dirty"),
        ("mlock", "smaps", "Locked"), ("mlock", "smaps_rollup", "Locked"),
        ("lazyfree", "smaps", "LazyFree"), ("file", "smaps", "name"),
        ("vmas", "smaps", "entries"), ("vmas", "smaps_rollup", "proves"),
        ("uffd", "smaps", "VmFlags"),
    ]:  # fmt: skip
        assert verdicts[key] == "pass", key
    assert set(verdicts.values()) <= {"pass", "n/a"}
    not_run = [c for c in document["checks"] if c["shape"] in ("ksm", "swap", "hugetlb")]
    assert [(c["shape"], c["verdict"], c["reason"]) for c in not_run] == [
        (shape, "n/a",
         "not run: it changes system settings (give --with-system-settings, as root)")
        for shape in ("ksm", "swap", "hugetlb")
    ]  # fmt: skip
    counts = document["summary"]
    assert counts["checks"] == len(document["checks"]) == counts["pass"] + counts["n/a"]
    _schema_validator().validate(document)


def test_text_output_ends_with_the_summary() -> None:
    result = run_cli("selftest", "--shape", "mlock", "--shape", "anon")
    assert result.returncode == 0, result.stdout.decode()
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["SHAPE", "FILE", "FIELD", "EXPECTED", "PRINTED", "VERDICT"]
    assert lines[1].split()[0] == "mlock"  # the order asked for
    assert re.fullmatch(
        r"mlock +smaps +Locked +64 kB +64 kB +pass", next(x for x in lines if "Locked" in x)
    )
    assert re.fullmatch(
        r"smapsfmt selftest: Linux \S+ \S+ \(page size \d+ kB, uid 0\): (\d+) checks: \1 pass, "
        r"0 fail, 0 n/a",
        lines[-1],
    )


def test_selftest_with_system_settings_restores_them() -> None:
    before = _state()
    result = run_cli("selftest", "--with-system-settings", "--format", "json")
    document = _json(result)
    assert result.returncode == 0, _failures(document)
    assert _state() == before
    verdicts = _verdicts(document)
    for key in [
        ("ksm", "smaps", "KSM"), ("ksm", "smaps_rollup", "KSM"), ("swap", "smaps", "Swap"),
        ("swap", "smaps", "SwapPss"), ("swap", "smaps_rollup", "SwapPss"),
        ("hugetlb", "smaps", "Private_Hugetlb"), ("hugetlb", "smaps", "KernelPageSize"),
        ("ksm", "shaper", "restore /sys/kernel/mm/ksm/run"),
        ("swap", "shaper", "restore swapoff of the zram device"),
        ("hugetlb", "shaper", "restore /proc/sys/vm/nr_hugepages"),
    ]:  # fmt: skip
        assert verdicts[key] == "pass", key
    assert document["restored"] == []  # the shaper restored everything itself


def _unprivileged_python() -> list[str]:
    """An interpreter the user nobody may run, with this smapsfmt on its path: this one, or
    the system's of the same version (this one may live in a home only root may enter)."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (sys.executable, f"/usr/bin/python{version}", "/usr/bin/python3"):
        probe = subprocess.run(
            ["runuser", "-u", "nobody", "--", candidate, "-c",
             "import sys; print(f'{sys.version_info.major}.{sys.version_info.minor}')"],
            capture_output=True, text=True, check=False, cwd="/",
        )  # fmt: skip
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return [candidate]
    raise AssertionError(f"no Python {version} that the user nobody may run")


def _as_nobody(*args: str) -> subprocess.CompletedProcess[bytes]:
    import smapsfmt

    site = str(Path(smapsfmt.__file__).resolve().parent.parent)
    env = ["env", "-i", "PATH=/usr/local/bin:/usr/bin:/bin", f"PYTHONPATH={site}"]
    return subprocess.run(
        ["runuser", "-u", "nobody", "--", *env, *_unprivileged_python(), "-m", "smapsfmt",
         *args],
        capture_output=True, check=False, cwd="/", timeout=300,
    )  # fmt: skip


def test_selftest_passes_as_an_unprivileged_user() -> None:
    result = _as_nobody("selftest", "--format", "json")
    document = _json(result)
    assert result.returncode == 0, (_failures(document), result.stderr.decode())
    assert document["kernel"]["uid"] == "65534"
    verdicts = _verdicts(document)
    for key in [("anon", "smaps", "Rss"), ("shared", "smaps", "Pss"), ("file", "smaps", "name"),
                ("vmas", "smaps", "entries"), ("mlock", "smaps", "Locked")]:  # fmt: skip
        assert verdicts[key] == "pass", key
    assert set(verdicts.values()) <= {"pass", "n/a"}


def test_system_settings_need_root() -> None:
    result = _as_nobody("selftest", "--with-system-settings")
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr == (
        b"smapsfmt: error: --with-system-settings needs root: the shapes ksm, swap, hugetlb "
        b"change system settings\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--shape", "swap"],
         "shape swap changes system settings: add --with-system-settings (as root)"),
        (["--from", "x", "--with-system-settings"],
         "--with-system-settings runs shapes: it does not apply to --from"),
        (["--shape", "nosuch"],
         "argument --shape: invalid choice: 'nosuch' (choose from 'anon', 'shared', 'shmem', "
         "'mlock', 'lazyfree', 'file', 'vmas', 'thp', 'pkey', 'anon-name', 'uffd', 'ksm', "
         "'swap', 'hugetlb') (see 'smapsfmt selftest --help')"),
    ],
    ids=["system-shape", "from-and-system", "unknown-shape"],
)  # fmt: skip
def test_usage_errors(args: list[str], message: str) -> None:
    result = run_cli("selftest", *args)
    assert (result.returncode, result.stdout) == (2, b"")
    assert result.stderr.decode() == f"smapsfmt: error: {message}\n"


# --- a saved capture, and a wrong kernel ---------------------------------------------------------


def _frame(shape: str, pid: str, file: str, data: bytes) -> bytes:
    digest = hashlib.sha256(data).hexdigest()
    head = f"@@smapsfmt-shaper 1 BEGIN {shape} {pid} {file} {len(data)} {digest}\n".encode()
    return head + data + f"@@smapsfmt-shaper 1 END {shape} {file}\n".encode()


def _edited(edit: Any) -> bytes:
    """The saved capture with each frame's bytes through ``edit(shape, file, data)``, framed
    again with their new length and hash: what a kernel printing those bytes would give."""
    return _edited_frames(lzma.decompress(CAPTURE.read_bytes()), edit)


def _edited_frames(data: bytes, edit: Any) -> bytes:
    """``data``, a capture, with each frame's bytes through ``edit`` (see _edited)."""
    begin = re.compile(rb"@@smapsfmt-shaper 1 BEGIN (\S+) (\d+) (\S+) (\d+) \S+\n")
    out, pos = [], 0
    for match in begin.finditer(data):
        if match.start() < pos:
            continue
        shape, pid, file = (g.decode() for g in match.group(1, 2, 3))
        body = data[match.end() : match.end() + int(match.group(4))]
        out.append(data[pos : match.start()])
        out.append(_frame(shape, pid, file, edit(shape, file, body)))
        pos = data.index(b"\n", match.end() + len(body)) + 1
    out.append(data[pos:])
    return b"".join(out)


def _entry_edit(shape: str, field: str, change: Any) -> Any:
    """An edit of ``field`` in the shape's own mapping (smaps) and in its smaps_rollup, by the
    same amount, so that the pair still proves: only the expectation can catch it."""
    capture = decode(lzma.decompress(CAPTURE.read_bytes()))
    start = capture.shapes[shape].facts["start"].encode()
    label = re.compile(rb"(?m)^(" + field.encode() + rb":\s+)(\d+)( kB\n)")

    def edit(name: str, file: str, data: bytes) -> bytes:
        if name != shape:
            return data
        if file == "smaps_rollup":
            return change(label, data)
        at = data.index(b"\n" + start + b"-") + 1
        end = data.index(b"VmFlags:", at)
        return data[:at] + change(label, data[at:end]) + data[end:]

    return edit


def _check_from(tmp_path: Path, data: bytes) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "capture"
    path.write_bytes(data)
    result = run_cli("selftest", "--from", str(path), "--format", "json")
    return result.returncode, _json(result)


def test_a_saved_capture_passes() -> None:
    result = run_cli("selftest", "--from", str(CAPTURE), "--format", "json")
    document = _json(result)
    assert result.returncode == 0, _failures(document)
    assert document["kernel"]["release"] == "6.18.44-fc-v1147"
    verdicts = _verdicts(document)
    assert verdicts[("pkey", "smaps", "ProtectionKey")] == "n/a"  # no protection keys here
    assert verdicts[("swap", "smaps", "SwapPss")] == "pass"
    assert document["summary"] == {"checks": 119, "pass": 117, "fail": 0, "n/a": 2}


def test_locked_counted_twice_is_caught(tmp_path: Path) -> None:
    def double(label: re.Pattern[bytes], text: bytes) -> bytes:
        return label.sub(lambda m: m.group(1) + b"%d" % (2 * int(m.group(2))) + m.group(3), text)

    code, document = _check_from(tmp_path, _edited(_entry_edit("mlock", "Locked", double)))
    assert code == 1
    failed = {(c["shape"], c["file"], c["field"]): c for c in _failures(document)}
    assert failed[("mlock", "smaps", "Locked")]["expected"] == "64 kB"
    assert failed[("mlock", "smaps", "Locked")]["printed"] == "128 kB"
    assert failed[("mlock", "smaps_rollup", "Locked")]["printed"] == "128 kB"
    assert ("mlock", "smaps_rollup", "proves") not in failed  # the pair still adds up


def test_a_dropped_swappss_is_caught(tmp_path: Path) -> None:
    def drop(label: re.Pattern[bytes], text: bytes) -> bytes:
        return text if b"[rollup]" in text else label.sub(b"", text)

    code, document = _check_from(tmp_path, _edited(_entry_edit("swap", "SwapPss", drop)))
    assert code == 1
    failed = {(c["shape"], c["file"], c["field"]): c for c in _failures(document)}
    assert failed[("swap", "smaps", "SwapPss")]["reason"] == (
        "SwapPss is not printed for this mapping, while the kernel prints it for others"
    )
    assert ("swap", "smaps", "validates") in failed


def test_a_zeroed_swappss_is_caught(tmp_path: Path) -> None:
    def zero(label: re.Pattern[bytes], text: bytes) -> bytes:
        return label.sub(lambda m: m.group(1) + b"0".rjust(len(m.group(2))) + m.group(3), text)

    code, document = _check_from(tmp_path, _edited(_entry_edit("swap", "SwapPss", zero)))
    assert code == 1
    failed = {(c["shape"], c["file"], c["field"]): c for c in _failures(document)}
    assert failed[("swap", "smaps", "SwapPss")]["expected"] == "128..128 kB"
    assert failed[("swap", "smaps", "SwapPss")]["printed"] == "0 kB"
    assert failed[("swap", "smaps_rollup", "SwapPss")]["printed"] == "0 kB"


def test_a_missing_frame_and_a_file_that_is_no_rollup_fail_their_checks(tmp_path: Path) -> None:
    """The vmas shape's smaps frame left out, the file shape's rollup replaced by a line that is
    no rollup, and a release no profile names (the profile is then detected from the text)."""
    data = lzma.decompress(CAPTURE.read_bytes())
    begin = re.search(rb"@@smapsfmt-shaper 1 BEGIN vmas \d+ smaps \d+ \S+\n", data)
    assert begin is not None
    end_line = b"@@smapsfmt-shaper 1 END vmas smaps\n"
    data = data[: begin.start()] + data[data.index(end_line, begin.end()) + len(end_line) :]
    data = data.replace(b"release=6.18.44-fc-v1147", b"release=local-build", 1)
    path = tmp_path / "capture"
    path.write_bytes(_edited_frames(data, lambda shape, file, body: (
        b"junk\n" if (shape, file) == ("file", "smaps_rollup") else body
    )))  # fmt: skip
    result = run_cli("selftest", "--from", str(path), "--format", "json")
    document = _json(result)
    assert result.returncode == 1
    failed = {(c["shape"], c["file"], c["field"]): c for c in _failures(document)}
    assert failed[("vmas", "smaps", "validates")] == {
        "shape": "vmas", "file": "smaps", "field": "validates", "expected": "read",
        "printed": "not read", "verdict": "fail", "reason": "the shaper read none: no frame",
    }  # fmt: skip
    rollup = failed[("file", "smaps_rollup", "validates")]
    assert (rollup["printed"], rollup["reason"]) == (
        "1 error",
        "file/smaps_rollup:1:1: syntax: not a smaps line: expected a mapping header 'START-END "
        "PERMS OFFSET MAJOR:MINOR INODE [NAME]', a field line 'Name: VALUE kB', a VmFlags line "
        "or a Name line",
    )
    assert set(failed) == {("vmas", "smaps", "validates"), ("file", "smaps_rollup", "validates")}


# --- frames through a serial console -------------------------------------------------------------


def test_frames_survive_crlf_and_kernel_messages() -> None:
    clean = lzma.decompress(CAPTURE.read_bytes())
    noisy = clean.replace(b"\n", b"\r\n")
    noisy = noisy.replace(b"Rss:     ", b"Rss:[   12.345678] zram: lost a page\r\n     ", 3)
    noisy = noisy.replace(b"VmFlags: ", b"[    3.000001] random: crng init done\r\nVmFlags: ", 2)
    noisy = b"[    0.000000] Linux version 6.18\r\n" + noisy
    first, second = decode(clean), decode(noisy)
    assert {name: r.files for name, r in first.shapes.items()} == {
        name: r.files for name, r in second.shapes.items()
    }
    assert check_capture(first) == check_capture(second)


def test_a_frame_that_does_not_match_is_an_error_with_its_line(tmp_path: Path) -> None:
    data = lzma.decompress(CAPTURE.read_bytes())
    at = data.index(b"Rss:", data.index(b"BEGIN shared"))
    damaged = data[:at] + b"Rsz:" + data[at + 4 :]
    with pytest.raises(FrameError) as caught:
        decode(damaged)
    line = data.count(b"\n", 0, data.index(b"@@smapsfmt-shaper 1 BEGIN shared")) + 1
    assert caught.value.line == line
    path = tmp_path / "console.log"
    path.write_bytes(damaged)
    result = run_cli("selftest", "--from", str(path))
    assert (result.returncode, result.stdout) == (1, b"")
    length = re.search(rb"BEGIN shared \d+ smaps (\d+) ([0-9a-f]{12})", data)
    assert length is not None
    assert result.stderr.decode() == (
        f"{path}:{line}:1: shaper-frame: frame shared smaps: {length.group(1).decode()} bytes "
        f"with SHA-256 {length.group(2).decode()}... announced, {length.group(1).decode()} "
        "bytes found that do not match\n"
    )


def _broken(how: str) -> bytes:
    data = lzma.decompress(CAPTURE.read_bytes())
    if how == "cut":  # in the last frame, before its END line
        return data[: data.rindex(b"@@smapsfmt-shaper 1 END")]
    if how == "protocol":
        return data.replace(b"@@smapsfmt-shaper 1 KERNEL", b"@@smapsfmt-shaper 2 KERNEL")
    line = {
        "no-shape": b"@@smapsfmt-shaper 1 SHAPE\n",
        "unknown": b"@@smapsfmt-shaper 1 HELLO x\n",
    }
    return b"[    0.000000] Linux version 6.18\n" + line[how] + data


@pytest.mark.parametrize(
    ("how", "line", "message"),
    [
        ("cut", None, "frame hugetlb smaps_rollup: no END line (the output is cut)"),
        ("protocol", 1, "shaper protocol 2 (this smapsfmt reads protocol 1)"),
        ("no-shape", 2, "a SHAPE record without a shape"),
        ("unknown", 2, "unknown shaper record HELLO"),
    ],
)
def test_output_the_shaper_did_not_send_whole_is_refused_at_its_line(
    how: str, line: int | None, message: str
) -> None:
    data = _broken(how)
    with pytest.raises(FrameError) as caught:
        decode(data)
    if line is None:  # the line of the cut frame's BEGIN
        line = data.count(b"\n", 0, data.rindex(b"@@smapsfmt-shaper 1 BEGIN")) + 1
    assert (caught.value.line, str(caught.value)) == (line, message)


def test_output_that_is_not_the_shapers_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other"
    path.write_bytes(b"hello\n")
    result = run_cli("selftest", "--from", str(path), "--format", "json")
    assert result.returncode == 1
    assert _json(result)["error"]["message"] == (
        "no '@@smapsfmt-shaper 1 KERNEL' record: not the shaper's output"
    )


# --- settings restored when the shaper is stopped in the middle -------------------------------


def _blocked_shaper(shape: str) -> tuple[subprocess.Popen[bytes], int]:
    """The shaper running ``shape``, its output into a one-page pipe nobody reads: it blocks
    on its first frame, with the shape's settings changed."""
    read, write = os.pipe()
    fcntl.fcntl(write, F_SETPIPE_SZ, 4096)
    process = subprocess.Popen([build.shaper_path(), "--system", shape], stdout=write)
    os.close(write)
    return process, read


def _wait(condition: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_the_shaper_restores_swap_when_terminated() -> None:
    before = _state()
    process, read = _blocked_shaper("swap")
    try:
        _wait(lambda: settings.swaps() - before[1], "the zram swap device")
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == -signal.SIGTERM
    finally:
        os.close(read)
        process.kill()
        process.wait()
    assert _state() == before


def test_the_guard_restores_what_a_killed_shaper_left() -> None:
    before = _state()
    with settings.SystemSettings() as guard:
        process, read = _blocked_shaper("ksm")
        try:
            _wait(lambda: settings._read("/sys/kernel/mm/ksm/sleep_millisecs") == "10", "ksm")
            process.kill()  # SIGKILL: the shaper restores nothing
            process.wait()
        finally:
            os.close(read)
        assert _state() != before
    assert _state() == before
    assert "/sys/kernel/mm/ksm/sleep_millisecs: 10 -> " + str(before[0][
        "/sys/kernel/mm/ksm/sleep_millisecs"]) in guard.restored  # fmt: skip
    assert guard.failed == []


def test_a_second_run_waits_for_the_first() -> None:
    # Two guards at once would each take the other's changes for the settings to restore
    code = (
        "import sys, time; from smapsfmt.selftest import settings\n"
        "print('waiting', flush=True)\n"
        "with settings.SystemSettings():\n"
        "    print('entered', flush=True)\n"
    )
    with settings.SystemSettings():
        second = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
            cwd=tempfile.gettempdir(),
        )  # fmt: skip
        assert second.stdout is not None
        assert second.stdout.readline() == "waiting\n"
        time.sleep(1.0)
        assert second.poll() is None, "the second guard did not wait for the first"
    assert second.stdout.readline() == "entered\n"
    assert second.wait(timeout=30) == 0
    second.stdout.close()


def _schema_validator() -> Any:
    import jsonschema

    schema = json.loads(run_cli("schema", "selftest").stdout)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_importing_the_package_loads_nothing_heavy() -> None:
    code = (
        "import sys, smapsfmt.selftest; "
        "print(sorted(m for m in sys.modules if m.startswith(('smapsfmt', 'pydantic', 'lark'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        cwd=tempfile.gettempdir(),
    )  # fmt: skip
    assert result.stdout.strip() == "['smapsfmt', 'smapsfmt._lazy', 'smapsfmt.selftest']"


def test_the_readme_example_is_real_output() -> None:
    readme = (ROOT / "README.md").read_text()
    example = readme.split("$ smapsfmt selftest --shape mlock --shape pkey\n", 1)[1]
    shown = [line for line in example.split("```", 1)[0].splitlines() if line.startswith("mlock")]
    result = run_cli("selftest", "--shape", "mlock", "--shape", "pkey")
    real = [line for line in result.stdout.decode().splitlines() if line.startswith("mlock")]
    assert len(shown) == 7
    # The words, not the blanks: the columns widen for a wider cell of the pkey shape, which
    # depends on the CPU (with protection keys, its expectation is the key's number).
    assert [line.split() for line in shown] == [line.split() for line in real]
