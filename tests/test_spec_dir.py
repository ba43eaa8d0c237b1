"""Adding a field to the kernel means editing the spec files, and nothing else.

A copy of the spec files (grammar, ABI document, kernel profiles) gets a new field, ``Foo:`` in
kB after ``Locked:``: a line in the newest profile's smaps and smaps_rollup, and an entry in the
ABI document (summed exactly by the rollup, at most Rss). ``SMAPSFMT_SPEC_DIR`` points the real
command line at the copy; the parser, the model, the validator, the aggregator and the renderer
all take the field from there.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from support import LIVE, ROOT, run_cli

SLEEP = LIVE / "6.18/sleep"
PROFILE = "kernel/6.6-7.3.profile"
SMAPS_DOC = "Documentation/ABI/testing/procfs-smaps"

FOO_ENTRY = """What:\t\t/proc/pid/smaps: Foo
Date:\t\tJanuary 2027
KernelVersion:\t7.4
Contact:\tlinux-mm@kvack.org
Description:
\t\tA new amount of the mapping, at most its Rss.

\t\t:Unit: kB
\t\t:Value: decimal
\t\t:Scope: smaps, smaps_rollup
\t\t:Rollup: exact-sum
\t\t:Invariant smaps-foo-le-rss: Foo <= Rss
\t\t:Source: the patch that adds Foo

"""


def _spec_with_foo(tmp: Path) -> Path:
    spec = tmp / "spec"
    for part in ("grammar", "kernel", "Documentation/ABI/testing"):
        shutil.copytree(ROOT / part, spec / part)
    profile = spec / PROFILE
    text = profile.read_text(encoding="utf-8")
    for kind in ("smaps", "rollup"):
        locked = f'{kind} "Locked:         %8lu kB\\n"\n'
        assert text.count(locked) == 1, f"{PROFILE}: no {kind} Locked line to add Foo after"
        text = text.replace(locked, locked + f'{kind} "Foo:            %8lu kB\\n"\n')
    profile.write_text(text, encoding="utf-8")
    doc = spec / SMAPS_DOC
    text = doc.read_text(encoding="utf-8")
    anchor = "What:\t\t/proc/pid/smaps: Nonlinear\n"
    assert text.count(anchor) == 1
    doc.write_text(text.replace(anchor, FOO_ENTRY + anchor), encoding="utf-8")
    return spec


def _with_foo(smaps: str) -> tuple[str, int]:
    """The capture with a Foo line after each Locked line (half the entry's Rss), and the
    sum of the Foo values."""
    out: list[str] = []
    rss = total = 0
    for line in smaps.splitlines(keepends=True):
        out.append(line)
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Locked:"):
            out.append(f"Foo:            {rss // 2:8d} kB\n")
            total += rss // 2
    return "".join(out), total


def _rollup_with_foo(rollup: str, value: int) -> str:
    locked = re.search(r"^Locked: .*\n", rollup, re.M)
    assert locked is not None
    return rollup[: locked.end()] + f"Foo:            {value:8d} kB\n" + rollup[locked.end() :]


def test_a_field_added_to_a_copy_of_the_spec_is_handled_everywhere(tmp_path: Path) -> None:
    spec = _spec_with_foo(tmp_path)
    env = {"SMAPSFMT_SPEC_DIR": str(spec)}
    smaps_text, total = _with_foo((SLEEP / "smaps").read_text(encoding="latin-1"))
    assert total > 0
    smaps = tmp_path / "smaps"
    smaps.write_text(smaps_text, encoding="latin-1")
    rollup_text = _rollup_with_foo((SLEEP / "smaps_rollup").read_text(encoding="latin-1"), total)
    rollup = tmp_path / "smaps_rollup"
    rollup.write_text(rollup_text, encoding="latin-1")

    # The parser and the model: a known field, not an unknown line.
    parsed = run_cli("parse", "--format", "json", str(smaps), env_extra=env)
    assert parsed.returncode == 0, parsed.stderr
    first = json.loads(parsed.stdout)["mappings"][0]
    assert first["fields"]["Foo"] == 4 and first["unknown_lines"] == []
    text = run_cli("parse", str(smaps), env_extra=env)
    assert b"  Foo:                    4 kB\n" in text.stdout
    assert b"not in the specification" not in text.stdout
    # The typed attribute, named from the ABI document.
    code = (
        "import sys, smapsfmt; m = smapsfmt.parse_smaps(open(sys.argv[1], 'rb').read())[0]; "
        "print(m.foo, 'Foo' in m.unknown_fields)"
    )
    attribute = subprocess.run(
        [sys.executable, "-c", code, str(smaps)], capture_output=True, check=False,
        env={**_plain_env(), **env}, cwd=tmp_path,
    )  # fmt: skip
    assert attribute.stdout == b"4 False\n", attribute.stderr

    # The validator: the newest profile prints Foo, and the document's invariant holds.
    valid = run_cli("validate", str(smaps), str(rollup), env_extra=env)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert valid.stdout.decode() == (
        f"{smaps}: smaps, 37 mappings: 0 errors, 0 warnings; profile Linux 6.6-7.3 (matched)\n"
        f"{rollup}: smaps_rollup: 0 errors, 0 warnings; profile Linux 6.6-7.3 (matched)\n"
        "2 files: 2 valid, 0 invalid, 0 unreadable; 0 errors, 0 warnings\n"
    )
    broken = tmp_path / "broken"
    broken_text = smaps_text.replace(
        "Foo:                   4 kB", "Foo:                  99 kB", 1
    )
    broken.write_text(broken_text, encoding="latin-1")
    invalid = run_cli("validate", str(broken), env_extra=env)
    assert invalid.returncode == 1
    assert invalid.stdout.decode().splitlines()[0] == (
        f"{broken}:24:23: smaps-foo-le-rss: Foo <= Rss does not hold: Foo = 99, Rss = 8"
    )

    # The aggregator and the renderer: the rollup sums Foo and prints it with the profile's
    # label, where the profile puts it; check proves the kernel's rollup, and refutes a wrong one.
    summed = run_cli("rollup", str(smaps), env_extra=env)
    assert summed.returncode == 0, summed.stderr
    lines = summed.stdout.decode().splitlines()
    assert lines[-2:] == ["Locked:                0 kB", f"Foo:            {total:8d} kB"]
    proven = run_cli("check", str(smaps), str(rollup), env_extra=env)
    assert proven.returncode == 0, proven.stdout
    assert f"  Foo:                  {total} kB  = {total} kB  holds".encode() in proven.stdout
    wrong = tmp_path / "wrong_rollup"
    wrong_text = rollup_text.replace(
        f"Foo:            {total:8d}", f"Foo:            {total - 1:8d}"
    )
    wrong.write_text(wrong_text, encoding="latin-1")
    refuted = run_cli("check", str(smaps), str(wrong), env_extra=env)
    assert refuted.returncode == 1
    assert refuted.stdout.decode().splitlines()[0] == (
        f"{wrong}:24:1: rollup-sum: Foo is {total - 1} kB in the rollup, the 37 mappings sum "
        f"to {total} kB"
    )


def _spec_with_a_newer_kernel(tmp: Path) -> Path:
    """A copy of the spec with a new newest profile, 7.4: the 6.6-7.3 lines and Foo after
    Locked, in smaps and smaps_rollup; the ABI document says Foo appeared in 7.4."""
    spec = tmp / "spec"
    for part in ("grammar", "kernel", "Documentation/ABI/testing"):
        shutil.copytree(ROOT / part, spec / part)
    text = (spec / PROFILE).read_text(encoding="utf-8")
    for old, new in (
        ("profile 6.6-7.3\n", "profile 7.4\n"),
        ("kernels 6.6 7.3\n", "kernels 7.4 7.4\n"),
    ):
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    for kind in ("smaps", "rollup"):
        locked = f'{kind} "Locked:         %8lu kB\\n"\n'
        text = text.replace(locked, locked + f'{kind} "Foo:            %8lu kB\\n"\n')
    (spec / "kernel/7.4.profile").write_text(text, encoding="utf-8")
    index = spec / "kernel/INDEX"
    index.write_text(
        index.read_text(encoding="utf-8").replace(
            "6.6-7.3.profile\n", "6.6-7.3.profile\n7.4.profile\n"
        ),
        encoding="utf-8",
    )
    doc = spec / SMAPS_DOC
    anchor = "What:\t\t/proc/pid/smaps: Nonlinear\n"
    doc.write_text(
        doc.read_text(encoding="utf-8").replace(anchor, FOO_ENTRY + anchor), encoding="utf-8"
    )
    return spec


def test_a_field_of_a_new_kernel_dates_texts_with_no_code_edit(tmp_path: Path) -> None:
    # The fields that date a text are those whose presence differs between the profiles: a
    # newer profile printing Foo makes "no Foo" evidence that a text is older than 7.4.
    env = {"SMAPSFMT_SPEC_DIR": str(_spec_with_a_newer_kernel(tmp_path))}
    smaps, rollup = SLEEP / "smaps", SLEEP / "smaps_rollup"
    refused = run_cli("check", "--kernel", "7.4", str(smaps), str(rollup), env_extra=env)
    assert refused.returncode == 1, refused.stderr
    assert [line for line in refused.stdout.decode().splitlines() if line[:1] != " "] == [
        f"{rollup}:1:1: rollup-kernel-mismatch: the smaps cannot come from Linux 7.4: it is "
        "printed by Linux 6.6-7.3 (KernelPageSize right after Size (4.14+); THPeligible (5.0+); "
        "FilePmdMapped (5.4+); Pss_Dirty (6.0+); KSM (6.6+); no Foo (before 7.4))",
        f"{rollup}:1:1: rollup-kernel-mismatch: the rollup cannot come from Linux 7.4: it is "
        "printed by Linux 6.6-7.3 (Pss_Anon (5.3+); FilePmdMapped (5.4+); Pss_Dirty (6.0+); "
        "KSM (6.6+); no Foo (before 7.4); the range ends before the gate)",
        f"{rollup}: NOT the rollup of {smaps} (37 mappings, Linux 6.6-7.3): 2 violations; "
        "profile Linux 6.6-7.3 (matched; --kernel 7.4)",
    ]
    # Without the copy, Foo dates nothing.
    plain = run_cli("check", "--kernel", "7.3", str(smaps), str(rollup))
    assert plain.returncode == 0, plain.stdout
    # With Foo, the capture is 7.4's.
    smaps_text, total = _with_foo(smaps.read_text(encoding="latin-1"))
    with_foo = tmp_path / "smaps"
    with_foo.write_text(smaps_text, encoding="latin-1")
    summed = run_cli("rollup", str(with_foo), env_extra=env)
    assert summed.returncode == 0, summed.stderr
    assert b"smapsfmt: note: profile Linux 7.4 (matched)\n" in summed.stderr
    assert summed.stdout.decode().splitlines()[-1] == f"Foo:            {total:8d} kB"


def test_without_the_copy_the_field_is_not_in_the_specification(tmp_path: Path) -> None:
    smaps_text, _ = _with_foo((SLEEP / "smaps").read_text(encoding="latin-1"))
    smaps = tmp_path / "smaps"
    smaps.write_text(smaps_text, encoding="latin-1")
    text = run_cli("parse", str(smaps))
    assert b"  Foo:                    4 kB   (not in the specification)\n" in text.stdout
    valid = run_cli("validate", str(smaps))
    assert valid.stdout.decode().splitlines()[0] == (
        f"{smaps}:24:1: unknown-field (warning): 'Foo:' is not a field of the ABI document "
        "(a vendor field?); Linux 6.6-7.3 does not print it"
    )


def _plain_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("SMAPSFMT_SPEC_DIR", None)
    return env


def test_a_spec_dir_without_the_files_is_a_usage_error_naming_the_file(tmp_path: Path) -> None:
    capture = LIVE / "6.18" / "thp" / "smaps"
    missing = tmp_path / "nowhere"
    for args in (["parse", str(capture)], ["validate", str(capture)]):
        result = run_cli(*args, env_extra={"SMAPSFMT_SPEC_DIR": str(missing)})
        assert result.returncode == 2, result.stderr
        stderr = result.stderr.decode()
        assert stderr.startswith("smapsfmt: error: smapsfmt specification file '"), stderr
        assert stderr.endswith(
            f"' cannot be read from SMAPSFMT_SPEC_DIR={missing}: No such file or directory\n"
        )


def _spec_edited(tmp: Path, name: str, old: str, new: str) -> Path:
    """A copy of the spec files with ``old`` replaced by ``new`` in the file ``name``
    (``kernel/*.profile``: in every profile)."""
    spec = tmp / f"spec-{len(list(tmp.iterdir()))}"
    for part in ("grammar", "kernel", "Documentation/ABI/testing"):
        shutil.copytree(ROOT / part, spec / part)
    files = sorted(spec.glob(name))
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert old in text, path
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return spec


def test_a_spec_copy_that_does_not_follow_its_format_is_a_usage_error(tmp_path: Path) -> None:
    """The copy SMAPSFMT_SPEC_DIR names is the user's: an error in it is theirs to fix (exit
    2, the file and line when the reader knows them, in JSON too), not an internal error of
    smapsfmt's."""
    header = 'header "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "'
    broken = {
        (PROFILE, "\nkernels ", "\nkernelz "): f"{PROFILE}:7: unknown directive 'kernelz'",
        ("kernel/*.profile", header, header.replace("%c%c%c%c", "%c%c %c%c")):
            "the header format '%08lx-%08lx %c%c %c%c %08llx %02x:%02x %lu ': perms is "
            "printed in one piece",
        (SMAPS_DOC, "Pss <= Rss\n", "Pss <= Rss / 2\n"):
            f"{SMAPS_DOC}:230: invariant expression: arithmetic is + - * % // & |",
    }  # fmt: skip
    for (name, old, new), message in broken.items():
        spec = _spec_edited(tmp_path, name, old, new)
        env = {"SMAPSFMT_SPEC_DIR": str(spec)}
        expected = f"the specification in SMAPSFMT_SPEC_DIR={spec}: {message}"
        for command in (["validate"], ["rollup", "--kernel", "6.18"]):
            result = run_cli(*command, str(SLEEP / "smaps"), "--format", "json", env_extra=env)
            assert (result.returncode, result.stderr.decode()) == (
                2, f"smapsfmt: error: {expected}\n"
            ), command  # fmt: skip
            assert json.loads(result.stdout)["error"] == {
                "kind": "usage", "rule": None, "path": None, "line": None, "column": None,
                "message": expected, "exit": 2,
            }  # fmt: skip
