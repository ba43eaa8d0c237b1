"""The validator: every real capture passes with its profile named; every broken input fails
with the exact line, column, rule and message; the ABI document is its only source of field
knowledge."""

from __future__ import annotations

import functools
import json
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from support import (
    EXTERNAL,
    INVALID,
    LIVE,
    ROOT,
    VALID,
    corpus,
    fixture_id,
    is_rollup,
    profile_described,
    profile_index,
    run_cli,
    shaped_process_texts,
)

import smapsfmt
from smapsfmt import Mapping, Rollup, Smaps

SMAPS_PATH = "Documentation/ABI/testing/procfs-smaps"
ROLLUP_PATH = "Documentation/ABI/testing/procfs-smaps_rollup"
REJECTED = ROOT / "tests" / "fixtures" / "invalid-validate"
HAND_EDITED = EXTERNAL / "jc" / "derived-hand-edited"
CAPTURES = [p for p in corpus(VALID) if HAND_EDITED not in p.parents]

# The profile each real capture must be recognised as (KERNEL-FACTS §2; SOURCES.md says which
# kernel each external capture comes from).
EXPECTED_PROFILE = {
    "live/6.18": "6.6-7.3",
    "external/android-libmeminfo": "android-4.9",
    "external/jc/tests": "5.4-5.8",
    "external/pcp/procpid-5.5.7-root-007": "5.4-5.8",
    "external/prometheus-procfs": "4.14-4.18",
    # Debian's kernels under qemu (valid/qemu/manifest.json: package, release, arch)
    "qemu/5.10-amd64": "5.9-5.19",
    "qemu/6.1-amd64": "6.0-6.5",
    "qemu/6.1-686": "6.0-6.5",
    "qemu/6.12-amd64": "6.6-7.3",
    "qemu/6.19-amd64": "6.6-7.3",
    "qemu/7.x-amd64": "6.6-7.3",
    "qemu/7.x-arm64-16k": "6.6-7.3",
}


def _expected_profile(path: Path) -> str:
    name = str(path.relative_to(VALID))
    found = [profile for prefix, profile in EXPECTED_PROFILE.items() if name.startswith(prefix)]
    assert len(found) == 1, f"no expected profile for {name}"
    return found[0]


def _kind(path: Path) -> str:
    return "rollup" if is_rollup(path) else "smaps"


@functools.cache
def _captures_validated() -> dict[str, dict[str, object]]:
    """What ``smapsfmt validate --format json`` says of every real capture (one run), by path."""
    result = run_cli("validate", "--format", "json", *map(str, CAPTURES))
    assert result.returncode == 0, result.stderr
    return {file["path"]: file for file in json.loads(result.stdout)["files"]}


@pytest.mark.parametrize("path", CAPTURES, ids=fixture_id)
def test_every_real_capture_is_valid_with_its_profile(path: Path) -> None:
    assert smapsfmt.validate(path.read_bytes(), path=str(path)) == []
    found = _captures_validated()[str(path)]
    kind = {"smaps": "smaps", "rollup": "smaps_rollup"}[_kind(path)]  # as the file is named
    assert found["kind"] == kind and found["diagnostics"] == []
    named = f"profile {profile_described(_expected_profile(path))} (matched)"
    # (then, maybe, the other profiles that print the same text: "; the same text as 4.19-4.20")
    assert str(found["profile"]).split("; the same text as ")[0] == named


# (That the renderer gives every capture back byte for byte, with the profile validate names:
# test_profiles.py, with the renderer.)


def test_the_same_text_names_every_profile_that_prints_it() -> None:
    smaps = EXTERNAL / "prometheus-procfs/fixtures/proc/26231/smaps"
    rollup = smaps.with_name("smaps_rollup")
    result = run_cli("validate", str(smaps), str(rollup))
    assert result.stdout.decode().splitlines()[:2] == [
        f"{smaps}: smaps, 12 mappings: 0 errors, 0 warnings; profile Linux 4.14-4.18 (matched); "
        "the same text as 4.19-4.20",
        # Its rollup ends at the gate VMA: only 4.14-4.18 did that (rule rollup-gate, 4.19+).
        f"{rollup}: smaps_rollup: 0 errors, 0 warnings; profile Linux 4.14-4.18 (matched)",
    ]


def test_hand_edited_jc_inputs() -> None:
    # Not captures: jc's tests edited the VmFlags line of a real entry.
    unknown = smapsfmt.validate((HAND_EDITED / "pid_smaps_unknown_flag").read_bytes())
    assert [(d.line, d.column, d.rule, d.severity) for d in unknown] == [
        (23, 28, "unknown-vmflag", "warning"),
        (46, 31, "unknown-vmflag", "warning"),
    ]
    # The edit gave a read-only mapping the 'wr' flag: a kernel never prints that.
    wf = smapsfmt.validate((HAND_EDITED / "pid_smaps_wf_flag").read_bytes())
    assert [d.render() for d in wf] == [
        "<data>:23:10: vmflags-perms-wr: ('wr' in VmFlags) == (perms[1] == 'w') does not hold: "
        "perms = 'r--p', VmFlags = 'rd wr mr mw me nr wf dd sd'"
    ]


# --- broken inputs -------------------------------------------------------------------------------


def _rejected() -> list[Path]:
    found = sorted(p for p in REJECTED.iterdir() if p.suffix in (".smaps", ".smaps_rollup"))
    if not found:
        raise RuntimeError(f"no inputs under {REJECTED}: the validator's corpus is missing")
    return found


REJECTED_INPUTS = _rejected()


def _args(path: Path) -> list[str]:
    args_file = Path(f"{path}.args")
    return args_file.read_text(encoding="utf-8").split() if args_file.is_file() else []


def test_the_rejected_corpus_covers_the_issue() -> None:
    names = {p.stem for p in REJECTED_INPUTS}
    # A swapped field, a wrong width, Size not matching the range, Pss > Rss, a truncated
    # header, junk (several-problems), an inconsistent snapshot.
    assert {"swapped-field", "wrong-width", "size-not-range", "pss-gt-rss",
            "several-problems", "duplicate-entry", "overlap"} <= names  # fmt: skip
    assert len(REJECTED_INPUTS) >= 25


@functools.cache
def _summaries(args: tuple[str, ...]) -> dict[str, str]:
    """The summary line of ``smapsfmt validate ARGS FILE...`` (one run) for every rejected input
    whose .args file says ARGS, by path."""
    paths = [str(p) for p in REJECTED_INPUTS if tuple(_args(p)) == args]
    lines = run_cli("validate", *args, *paths).stdout.decode().splitlines()
    return {path: line for line in lines for path in paths if line.startswith(f"{path}: ")}


@pytest.mark.parametrize("path", REJECTED_INPUTS, ids=lambda p: p.name)
def test_rejected_inputs_get_their_exact_diagnostics(path: Path) -> None:
    expected = Path(f"{path}.expected").read_text(encoding="utf-8").splitlines()
    args = _args(path)
    kernel = args[args.index("--kernel") + 1] if "--kernel" in args else None
    found = smapsfmt.validate(path.read_bytes(), path=str(path), kernel=kernel)
    status = 1 if any(d.severity == "error" for d in found) else 0
    summary = _summaries(tuple(args))[str(path)]
    assert expected[0] == f"# exit {status}; {summary.split('; ', 1)[1]}"
    assert [d.render() for d in found] == [f"{path}:{line}" for line in expected[1:]]
    assert found, "every input here has at least one problem"


@pytest.mark.parametrize(
    "name", ["pss-gt-rss.smaps", "overlap.smaps", "rollup-gate.smaps_rollup",
             "extra-field-for-kernel.smaps", "several-problems.smaps"],
)  # fmt: skip
def test_rejected_inputs_on_the_command_line(name: str) -> None:
    path = REJECTED / name
    expected = Path(f"{path}.expected").read_text(encoding="utf-8").splitlines()
    result = run_cli("validate", *_args(path), str(path))
    out = result.stdout.decode().splitlines()
    assert result.returncode == int(expected[0].split()[2].rstrip(";"))
    assert out[:-1] == [f"{path}:{line}" for line in expected[1:]]
    assert out[-1].startswith(f"{path}: ") and expected[0].split("; ", 1)[1] in out[-1]
    assert result.stderr == b""


@pytest.mark.parametrize("path", corpus(INVALID), ids=fixture_id)
def test_syntax_errors_are_diagnostics_at_the_parsers_location(path: Path) -> None:
    expected = Path(f"{path}.expected-error").read_text(encoding="utf-8").rstrip("\n")
    found = smapsfmt.validate(path.read_bytes(), path=str(path), kind=_kind(path))
    syntax = [d for d in found if d.rule == "syntax"]
    assert [f"{d.line}:{d.column}: {d.message}" for d in syntax] == [expected]
    assert syntax[0].path == str(path) and syntax[0].severity == "error"
    # Besides, at most: the missing final newline of a file cut short.
    assert {d.rule for d in found} - {"syntax"} <= {"layout-final-newline"}


def test_every_problem_in_one_pass() -> None:
    path = REJECTED / "several-problems.smaps"
    rules = [d.rule for d in smapsfmt.validate(path.read_bytes())]
    assert rules == ["syntax", "syntax", "smaps-pss-le-rss"]


# --- the ABI document is the validator's only source of field knowledge --------------------------


def _abi_text() -> str:
    return (ROOT / SMAPS_PATH).read_text(encoding="utf-8")


def _verdict(
    path: Path, text_smaps: str | None = None, text_rollup: str | None = None
) -> list[str]:
    """``line:rule`` of each diagnostic of ``path``; with a changed ABI document, validated by
    the command line pointed (SMAPSFMT_SPEC_DIR) at a copy of the spec files holding it."""
    if text_smaps is None and text_rollup is None:
        return [f"{d.line}:{d.rule}" for d in smapsfmt.validate(path.read_bytes())]
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp)
        for part in ("grammar", "kernel", "Documentation/ABI/testing"):
            shutil.copytree(ROOT / part, spec / part)
        for name, text in ((SMAPS_PATH, text_smaps), (ROLLUP_PATH, text_rollup)):
            if text is not None:
                (spec / name).write_text(text, encoding="utf-8")
        result = run_cli(
            "validate", "--format", "json", str(path), env_extra={"SMAPSFMT_SPEC_DIR": tmp}
        )
    assert result.returncode in (0, 1), result.stderr
    (file,) = json.loads(result.stdout)["files"]
    return [f"{d['line']}:{d['rule']}" for d in file["diagnostics"]]


def test_a_changed_invariant_changes_the_verdict() -> None:
    sleep = LIVE / "6.18/sleep/smaps"
    assert _verdict(sleep) == []
    # Make the document claim Pss < Rss: the capture's entries with Pss == Rss now fail.
    stricter = _abi_text().replace(":Invariant smaps-pss-le-rss: Pss <= Rss\n",
                                   ":Invariant smaps-pss-le-rss: Pss < Rss\n")  # fmt: skip
    assert stricter != _abi_text()
    failed = _verdict(sleep, stricter)
    assert failed and all(item.endswith(":smaps-pss-le-rss") for item in failed)
    assert failed[0] == "6:smaps-pss-le-rss"  # the first entry's Pss line


def test_a_removed_invariant_is_no_longer_checked() -> None:
    broken = REJECTED / "pss-gt-rss.smaps"
    assert _verdict(broken) == ["31:smaps-pss-le-rss"]
    text = _abi_text()
    start = text.index("\t\t:Invariant smaps-pss-le-rss:")
    end = text.index("\t\t:Invariant smaps-pss-ge-private:")
    assert _verdict(broken, text[:start] + text[end:]) == []


def test_kernel_ranges_come_from_the_document() -> None:
    broken = REJECTED / "size-not-range.smaps"
    assert _verdict(broken) == ["26:smaps-size"]
    # Say Size matches the range only up to 4.11: a 6.18 text is no longer held to it.
    text = _abi_text().replace(":Kernels: ..2.6.31, 4.12+\n", ":Kernels: ..2.6.31\n", 1)
    assert _verdict(broken, text) == []


def test_field_names_come_from_the_document() -> None:
    sleep = LIVE / "6.18/sleep/smaps"
    # Without its entry, KSM is a field the document does not know: a vendor field, warned.
    text = _abi_text()
    start = text.index("What:\t\t/proc/pid/smaps: KSM\n")
    end = text.index("What:\t\t/proc/pid/smaps: LazyFree\n")
    text = text[:start] + text[end:]
    rollup = (ROOT / ROLLUP_PATH).read_text(encoding="utf-8")
    rollup = rollup.replace(
        "\t\t:Invariant rollup-ksm-le-anonymous: KSM <= Anonymous\n"
        "\t\t:Source: sums of smaps-ksm-le-anonymous (task_mmu.c 6.6.87+)\n",
        "",
    )
    verdict = _verdict(sleep, text, rollup)
    assert verdict and all(item.endswith(":unknown-field") for item in verdict)
    assert verdict[0] == "14:unknown-field"  # the first entry's KSM line


def test_deviations_of_a_profile_waive_a_rule() -> None:
    # android-libmeminfo: Locked == Pss without 'lo' on every mapping (kernel/android-4.9).
    short = EXTERNAL / "android-libmeminfo/testdata1/smaps_short"
    assert smapsfmt.validate(short.read_bytes()) == []
    as_mainline = smapsfmt.validate(short.read_bytes(), kernel="android-4.9-lazyfree")
    assert "smaps-locked-lo" in {d.rule for d in as_mainline}


# --- the Python API ----------------------------------------------------------------------------


def test_validate_a_parsed_model() -> None:
    data = (REJECTED / "pss-gt-rss.smaps").read_bytes()
    from_bytes = smapsfmt.validate(data)
    from_model = smapsfmt.validate(smapsfmt.parse_smaps(data))
    assert [(d.line, d.rule, d.message) for d in from_model] == [
        (d.line, d.rule, d.message) for d in from_bytes
    ]
    swapped = smapsfmt.parse_smaps((REJECTED / "swapped-field.smaps").read_bytes())
    assert [(d.line, d.rule) for d in smapsfmt.validate(swapped)] == [(6, "layout-field-order")]
    rollup = smapsfmt.parse_rollup((LIVE / "6.18/sleep/smaps_rollup").read_bytes())
    assert smapsfmt.validate(rollup) == []

    assert smapsfmt.validate(smapsfmt.parse_smaps(b"")) == []  # a kernel thread's
    with pytest.raises(TypeError) as caught:
        smapsfmt.validate(37)
    assert str(caught.value) == "expected bytes, str, Smaps or Rollup, not int"


@pytest.mark.parametrize(
    ("kernel", "where"), [("4.13", "Linux 4.12-4.13"), ("3.10", "Linux 3.8-3.19")]
)
def test_a_rollup_of_a_kernel_before_smaps_rollup_is_refused_in_the_same_words(
    kernel: str, where: str
) -> None:
    """A rollup demanded of a kernel older than 4.14: one error naming the kernel's profile,
    whether the rollup is given as text or as a parsed model."""
    data = (LIVE / "6.18/sleep/smaps_rollup").read_bytes()
    for given in (data, smapsfmt.parse_rollup(data)):
        (error,) = smapsfmt.validate(given, kernel=kernel)
        assert (error.line, error.column, error.rule, error.severity, error.message) == (
            1, 1, "layout-no-rollup", "error",
            f"{where} has no smaps_rollup (it first appeared in 4.14)",
        )  # fmt: skip


def test_strict_makes_warnings_errors() -> None:
    data = (REJECTED / "unknown-vmflag.smaps").read_bytes()
    (warning,) = smapsfmt.validate(data)
    assert warning.severity == "warning" and warning.rule == "unknown-vmflag"
    (error,) = smapsfmt.validate(data, strict=True)
    assert error.severity == "error" and error.render().endswith(
        "unknown-vmflag: VmFlags mnemonic 'zz' is not printed by Linux 6.6-7.3"
    )


def test_a_demanded_kernel() -> None:
    data = (LIVE / "6.18/sleep/smaps").read_bytes()
    assert smapsfmt.validate(data, kernel="6.18.44-fc") == []
    assert smapsfmt.validate(data, kernel="6.6-7.3") == []
    older = smapsfmt.validate(data, kernel="5.15")
    assert {d.rule for d in older} == {"layout-extra-field", "layout-field-format"}
    assert smapsfmt.validate(data, kernel="7.1") == []  # 6.6-7.3
    assert smapsfmt.validate(data, kernel="8.1") == []  # newer than all: the newest profile
    with pytest.raises(ValueError, match=r"no profile for Linux 2\.4"):
        smapsfmt.validate(data, kernel="2.4")
    with pytest.raises(ValueError, match="unknown kernel 'latest'"):
        smapsfmt.validate(data, kernel="latest")
    with pytest.raises(ValueError, match="kind is"):
        smapsfmt.validate(data, kind="maps")


@pytest.mark.parametrize(
    ("kernel", "error", "message"),
    [
        (5.4, TypeError, "{types}; not float: quote the version (as a number, 5.10 is 5.1)"),
        (5, TypeError, "{types}; not int: quote the version (as a number, 5.10 is 5.1)"),
        (b"5.4", TypeError, "{types}; not bytes"),
        ("5.", ValueError, "unknown kernel '5.': give {versions} or a profile name ({names})"),
        ("4.x", ValueError, "unknown kernel '4.x': give {versions} or a profile name ({names})"),
    ],
    ids=["float", "int", "bytes", "cut-short", "a-word"],
)
def test_a_kernel_that_is_not_a_version_or_a_profile_name_says_what_is(
    kernel: object, error: type[Exception], message: str
) -> None:
    versions = "a version such as 5.4, a release as uname -r prints it (6.18.44-fc-v669)"
    expected = message.format(
        types=f"kernel is a string: {versions} or a profile name (android-4.9)",
        versions=versions,
        names=", ".join(profile_index()),
    )
    data = (LIVE / "6.18/sleep/smaps").read_bytes()
    with pytest.raises(error) as caught:
        smapsfmt.validate(data, kernel=kernel)  # type: ignore[arg-type]
    assert str(caught.value) == expected
    assert "android-4.9" in expected
    with pytest.raises(error) as caught:  # the same words from every verb
        smapsfmt.aggregate(smapsfmt.parse_smaps(data), kernel=kernel)  # type: ignore[arg-type]
    assert str(caught.value) == expected


def test_empty_and_str_inputs() -> None:
    assert smapsfmt.validate(b"") == []  # a kernel thread's smaps
    text = (LIVE / "6.18/sleep/smaps").read_text(encoding="latin-1")
    assert smapsfmt.validate(text.encode("latin-1").decode("utf-8", "surrogateescape")) == []
    (empty_rollup,) = smapsfmt.validate(b"", kind="rollup")
    assert empty_rollup.rule == "syntax" and empty_rollup.line == 1


# --- the command line ----------------------------------------------------------------------------


def test_cli_text_output_and_exit_status() -> None:
    good = LIVE / "6.18/sleep/smaps"
    bad = REJECTED / "pss-gt-rss.smaps"
    result = run_cli("validate", str(good), str(bad))
    assert result.returncode == 1 and result.stderr == b""
    assert result.stdout.decode().splitlines() == [
        f"{good}: smaps, 37 mappings: 0 errors, 0 warnings; profile Linux 6.6-7.3 (matched)",
        f"{bad}:31:23: smaps-pss-le-rss: Pss <= Rss does not hold: Pss = 20, Rss = 16",
        f"{bad}: smaps, 3 mappings: 1 error, 0 warnings; profile Linux 6.6-7.3 (matched)",
        "2 files: 1 valid, 1 invalid, 0 unreadable; 1 error, 0 warnings",
    ]


def test_cli_json_output() -> None:
    bad = REJECTED / "several-problems.smaps"
    result = run_cli("validate", "--format", "json", str(bad))
    assert result.returncode == 1
    (file,) = json.loads(result.stdout)["files"]
    found = file["diagnostics"]
    assert [(d["line"], d["column"], d["rule"]) for d in found] == [
        (51, 1, "syntax"), (52, 36, "syntax"), (107, 22, "smaps-pss-le-rss"),
    ]  # fmt: skip
    assert set(found[0]) == {"path", "line", "column", "rule", "severity", "message"}
    assert {k: v for k, v in file.items() if k != "diagnostics"} == {
        "path": str(bad),
        "status": "invalid",
        "kind": "smaps",
        "mappings": 4,
        "errors": 3,
        "warnings": 0,
        "profile": "profile Linux 6.6-7.3 (matched)",
    }
    good = LIVE / "6.18/sleep/smaps"
    assert json.loads(run_cli("validate", "--format", "json", str(good)).stdout) == {
        "files": [{"path": str(good), "status": "valid", "kind": "smaps", "mappings": 37,
                   "errors": 0, "warnings": 0, "profile": "profile Linux 6.6-7.3 (matched)",
                   "diagnostics": []}]
    }  # fmt: skip


def test_cli_stdin_strict_and_usage_errors() -> None:
    data = (REJECTED / "unknown-vmflag.smaps").read_bytes()
    lenient = run_cli("validate", "-", stdin=data)
    assert lenient.returncode == 0
    assert lenient.stdout.decode().startswith("<stdin>:50:25: unknown-vmflag (warning): ")
    assert run_cli("validate", "--strict", "-", stdin=data).returncode == 1
    missing = run_cli("validate", "/no/such/file")
    assert missing.returncode == 2 and missing.stdout == b""
    assert missing.stderr.decode() == (
        "smapsfmt: error: cannot read /no/such/file: No such file or directory\n"
    )
    kernel = run_cli("validate", "--kernel", "1.0", "-", stdin=data)
    assert kernel.returncode == 2 and b"no profile for Linux 1.0" in kernel.stderr
    assert run_cli("validate").returncode == 2


def test_cli_validates_this_machines_live_files() -> None:
    result = run_cli("validate", "/proc/self/smaps", "/proc/self/smaps_rollup")
    assert result.returncode == 0, result.stdout
    lines = result.stdout.decode().splitlines()
    assert len(lines) == 3 and all("0 errors, 0 warnings" in line for line in lines[:2])
    assert lines[2] == "2 files: 2 valid, 0 invalid, 0 unreadable; 0 errors, 0 warnings"


def test_docs_list_every_rule_and_deviation() -> None:
    """Every rule validate reports (as ``smapsfmt rules`` lists them: each of the validator's
    own rule constants is listed, test_validate_cli.py) and every invariant of the ABI
    document; every profile and each of its deviations."""
    text = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    listed = run_cli("rules", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    rules = {r["id"] for r in json.loads(listed.stdout)}
    own = {r["id"] for r in json.loads(listed.stdout) if r["kind"] in ("syntax", "layout")}
    assert {"syntax", "layout-header", "unknown-vmflag", "layout-no-rollup"} <= own
    invariants = {
        found
        for name in (SMAPS_PATH, ROLLUP_PATH)
        for found in re.findall(r"^\t+:Invariant ([a-z0-9-]+):", (ROOT / name).read_text(), re.M)
    }
    assert len(invariants) > 20 and invariants <= rules
    for rule in rules | invariants:
        assert f"`{rule}`" in text, f"docs/rules.md does not list {rule}"
    for name in profile_index():
        assert f"`{name}`" in text
        profile = (ROOT / "kernel" / f"{name}.profile").read_text(encoding="utf-8")
        for rule in re.findall(r"^deviation (\S+) ", profile, re.M):
            assert f"waives `{rule}`" in text


# --- real processes, shaped here ---------------------------------------------------------------


def test_a_shaped_live_process_is_valid() -> None:
    smaps, rollup = shaped_process_texts()
    assert smapsfmt.validate(smaps) == []
    summary = run_cli("validate", "-", stdin=smaps).stdout.decode().splitlines()[-1]
    assert re.search(r": 0 errors, 0 warnings; profile Linux \S+ \(matched\)$", summary), summary
    parsed = smapsfmt.parse_smaps(smaps)
    locked = [m for m in parsed if m.vmflags and "lo" in m.vmflags]
    assert locked and all(m.locked == m.pss > 0 for m in locked)  # smaps-locked-lo, for real
    assert any((m.lazy_free or 0) > 0 for m in parsed)
    assert smapsfmt.validate(rollup) == []
    # (What this kernel prints is its own profile's text, byte for byte: test_profiles.py.)


def test_a_kernel_threads_empty_smaps_is_valid() -> None:
    data = Path("/proc/2/smaps").read_bytes()  # kthreadd: no memory map
    assert data == b""
    assert smapsfmt.validate(data) == []
    result = run_cli("validate", "/proc/2/smaps")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[0] == (
        "/proc/2/smaps: smaps, 0 mappings: 0 errors, 0 warnings; no profile (an empty smaps: a "
        "process without a memory map)"
    )


def test_cli_every_real_capture_exits_0() -> None:
    result = run_cli("validate", *map(str, CAPTURES))
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 0 and result.stderr == b""
    total = f"{len(CAPTURES)} files: {len(CAPTURES)} valid, 0 invalid, 0 unreadable; 0 errors, "
    assert lines.pop() == total + "0 warnings"
    assert len(lines) == len(CAPTURES)
    for path, line in zip(CAPTURES, lines, strict=True):
        assert line.startswith(f"{path}: ") and ": 0 errors, 0 warnings; profile " in line
        assert f"profile {profile_described(_expected_profile(path))} (matched)" in line


def test_cli_validates_a_running_process_by_pid() -> None:
    import subprocess

    target = subprocess.Popen(["sleep", "60"])
    try:
        result = run_cli("validate", "--pid", str(target.pid))
    finally:
        target.kill()
        target.wait()
    lines = result.stdout.decode().splitlines()
    assert result.returncode == 0, result.stderr
    assert [line.split(":", 1)[0] for line in lines] == [
        f"/proc/{target.pid}/smaps", f"/proc/{target.pid}/smaps_rollup",
    ]  # fmt: skip
    assert all("0 errors, 0 warnings; profile Linux " in x for x in lines)
    both = run_cli("validate", "--pid", str(target.pid), "x")
    assert both.returncode == 2 and b"not both" in both.stderr


def test_models_built_by_hand_with_unknown_fields_are_validated() -> None:
    # No raw text for 'Foo': the renderer lays it out as vendor kernels print their fields.
    mapping = Mapping(
        line=1, start=0x400000, end=0x401000, perms="r--p", offset=0, major=0, minor=0, inode=0,
        pathname=b"", fields={"Size": 4, "Foo": 1},
    )  # fmt: skip
    rollup = Rollup(
        line=1, start=0x400000, end=0x401000, perms="---p", offset=0, major=0, minor=0, inode=0,
        pathname=b"[rollup]", fields={"Rss": 4, "Foo": 1},
    )  # fmt: skip
    for model in (Smaps(mappings=(mapping,)), rollup):
        found = smapsfmt.validate(model)
        assert [d.rule for d in found if d.line == 3][:1] == ["unknown-field"]
