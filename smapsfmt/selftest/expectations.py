"""What the kernel must print for each shape: data, derived from the meaning the ABI document
(Documentation/ABI/testing/procfs-smaps) gives each field, never from a capture.

A row says, for one shape, which line it checks (``where``: ``entry``, the shape's own mapping
in smaps, found by the range the shaper reports; ``rollup``, smaps_rollup; ``range``, every
mapping inside the shape's range), which field, and what the field must be:

    == EXPR            exactly this many kB (or this number, for a field printed bare)
    in LO .. HI        between two values, both included
    has MNEMONIC       VmFlags holds the mnemonic
    is NAME            the header's name is this text (a fact holding bytes)

EXPR is arithmetic (+ - * //, max, min, ``fixed``) over the facts the shaper printed for the
shape (pages, touched, sharers, swapped, ...) and ``page_kb`` (the page size in kB), never over
what the kernel printed. ``fixed(P, N)`` is the kB
the kernel prints for P pages each mapped (or swapped) N times: the sum in PSS fixed point,
``P * ((PAGE_SIZE << 12) // N)``, shifted right by 22 (fs/proc/task_mmu.c smaps_account,
PSS_SHIFT 12). A row applies only where its needs hold (NEEDS: a condition over the facts and
the reason given, as ``n/a``, where it does not).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from typing import NamedTuple

from .shapes import SHAPES

__all__ = ["LAZYFREE_BATCH", "NEEDS", "ROWS", "SHAPES", "Row", "evaluate"]

# MADV_FREE marks pages lazy-free through a per-CPU batch (mm/swap.c folio_mark_lazyfree): the
# pages still in the batch when smaps is read are not counted yet. The batch holds PAGEVEC_SIZE
# pages: 15 in 6.1 (include/linux/pagevec.h), 31 in later 6.x trees ("31 pointers + header
# align the folio_batch structure to a power of two"; renamed FOLIO_BATCH_SIZE in
# include/linux/folio_batch.h); kernels under qemu left 15 pages uncounted on 6.1 and 31 on
# 6.12. The shaper pins the shape to one CPU, so that there is one batch.
LAZYFREE_BATCH = 31


class Row(NamedTuple):
    shape: str
    where: str  # entry | rollup | range
    field: str  # a field's kernel name; VmFlags; name; inode; offset; entries
    expect: str
    needs: tuple[str, ...] = ()
    why: str = ""


# Conditions a row may need: (expression over the facts, the n/a reason). A name in {braces}
# is replaced by that fact.
NEEDS: dict[str, tuple[str, str]] = {
    "mlock": ("mlock == 'ok'", "mlock(2) gave {mlock} (RLIMIT_MEMLOCK {memlock_limit} bytes)"),
    "madv_free": ("madv_free == 'ok'", "madvise(MADV_FREE) gave {madv_free} (before 4.5)"),
    "not-overlay": (
        "fs_magic != '794c7630'",
        "the file is on overlayfs, whose stat(2) inode is not the one the mapping holds",
    ),
    "thp": (
        "madv_hugepage == 'ok' and thp_enabled != 'never'",
        "no transparent huge pages: madvise(MADV_HUGEPAGE) gave {madv_hugepage}, "
        "transparent_hugepage/enabled is {thp_enabled}",
    ),
    "thp-allocated": (
        "thp_fault_fallback == 0 and thp_fault_alloc > 0",
        "the kernel found no free huge page and fell back to small pages "
        "(/proc/vmstat thp_fault_fallback rose by {thp_fault_fallback})",
    ),
    "pkey": (
        "pkey_mprotect == 'ok'",
        "no protection keys: pkey_alloc(2) gave {pkey_alloc} (a CPU or kernel without them)",
    ),
    "anon-name": (
        "anon_name == 'ok'",
        "prctl(PR_SET_VMA_ANON_NAME) gave {anon_name} (a kernel without CONFIG_ANON_VMA_NAME, "
        "or before 5.17)",
    ),
    "uffd": (
        "uffd_missing == 'ok'",
        "userfaultfd(2) gave {userfaultfd}, registering gave {uffd_missing} (a kernel without "
        "CONFIG_USERFAULTFD, or without the right to use it)",
    ),
    "uffd-wp": (
        "uffd_wp == 'ok'",
        "write-protect registration gave {uffd_wp} (no userfaultfd write-protect on this "
        "kernel or architecture)",
    ),
    "ksm": (
        "madv_mergeable == 'ok'",
        "madvise(MADV_MERGEABLE) gave {madv_mergeable} (a kernel without CONFIG_KSM)",
    ),
    "ksm-stat": (
        "ksm_merging_pages > 0",
        "no KSM merge to compare: /proc/PID/ksm_stat gave {ksm_stat} (before 6.1), or ksmd "
        "merged no page within 10 s ({ksm_merging_pages} pages)",
    ),
    "swap": (
        "madv_pageout == 'ok' and swapped > 0",
        "no page swapped out: madvise(MADV_PAGEOUT) gave {madv_pageout} (before 5.4), "
        "{swapped} pages swapped",
    ),
    "hugetlb": (
        "mmap_hugetlb == 'ok'",
        "no hugetlb page: mmap(MAP_HUGETLB) gave {mmap_hugetlb}",
    ),
}

_RSS = "the pages touched, each faulted in once (Rss: resident pages of the mapping)"
_PRIVATE = "every page mapped by this process only (mapcount 1)"

ROWS: tuple[Row, ...] = (
    # anon: private anonymous memory, half of it written
    Row("anon", "entry", "Size", "== pages * page_kb", (), "Size: vm_end - vm_start"),
    Row("anon", "entry", "KernelPageSize", "== page_kb", (), "the base page size"),
    Row("anon", "entry", "Rss", "== touched * page_kb", (), _RSS),
    Row("anon", "entry", "Anonymous", "== touched * page_kb", (), "resident anonymous pages"),
    Row("anon", "entry", "Private_Dirty", "== touched * page_kb", (), _PRIVATE + ", written"),
    Row("anon", "entry", "Private_Clean", "== 0", (), "every page written"),
    Row("anon", "entry", "Shared_Clean", "== 0", (), _PRIVATE),
    Row("anon", "entry", "Shared_Dirty", "== 0", (), _PRIVATE),
    Row("anon", "entry", "Pss", "== touched * page_kb", (), "a page mapped once counts whole"),
    Row("anon", "entry", "Pss_Dirty", "== touched * page_kb", (), "the Pss of dirty pages"),
    Row("anon", "entry", "Referenced", "== touched * page_kb", (), "each page just accessed"),
    Row("anon", "entry", "LazyFree", "== 0", (), "no MADV_FREE"),
    Row("anon", "entry", "Swap", "== 0", (), "nothing swapped out"),
    Row("anon", "entry", "Locked", "== 0", (), "not VM_LOCKED"),
    # shared: private anonymous pages written, then shared copy-on-write by fork
    Row("shared", "entry", "Rss", "== touched * page_kb", (), _RSS),
    Row("shared", "entry", "Anonymous", "== touched * page_kb", (), "anonymous pages"),
    Row("shared", "entry", "Shared_Dirty", "== touched * page_kb", (),
        "every page mapped by the sharers processes (mapcount >= 2), written"),
    Row("shared", "entry", "Private_Dirty", "== 0", (), "no page mapped once"),
    Row("shared", "entry", "Private_Clean", "== 0", (), "no page mapped once"),
    Row("shared", "entry", "Pss", "in fixed(touched, sharers) .. touched * page_kb // sharers",
        (), "each page divided by its sharers, summed in fixed point, truncated once"),
    Row("shared", "entry", "Pss_Dirty",
        "in fixed(touched, sharers) .. touched * page_kb // sharers", (),
        "every page is dirty: Pss_Dirty is Pss"),
    # shmem: shared anonymous memory, written by every sharer
    Row("shmem", "entry", "Rss", "== touched * page_kb", (), _RSS),
    Row("shmem", "entry", "Anonymous", "== 0", (), "shmem pages are not anonymous"),
    Row("shmem", "entry", "Shared_Dirty", "== touched * page_kb", (),
        "every page mapped and written by the sharers processes"),
    Row("shmem", "entry", "Private_Dirty", "== 0", (), "no page mapped once"),
    Row("shmem", "entry", "Pss", "in fixed(touched, sharers) .. touched * page_kb // sharers",
        (), "each page divided by its sharers, summed in fixed point, truncated once"),
    # mlock
    Row("mlock", "entry", "Rss", "== touched * page_kb", (), _RSS),
    Row("mlock", "entry", "Locked", "== touched * page_kb", ("mlock",),
        "Locked: the Pss of a VM_LOCKED mapping, here every page mapped once"),
    Row("mlock", "entry", "VmFlags", "has lo", ("mlock",), "VM_LOCKED prints lo"),
    Row("mlock", "rollup", "Locked", "== touched * page_kb", ("mlock",),
        "the only locked mapping of the process: the rollup sums its Locked"),
    # lazyfree: written, then MADV_FREE
    Row("lazyfree", "entry", "Rss", "== touched * page_kb", ("madv_free",),
        "MADV_FREE pages stay resident until memory is reclaimed"),
    Row("lazyfree", "entry", "LazyFree",
        f"in max(0, touched - {LAZYFREE_BATCH}) * page_kb .. touched * page_kb", ("madv_free",),
        f"LazyFree: the clean MADV_FREE pages, but for at most {LAZYFREE_BATCH} pages still in "
        "the CPU's batch"),
    Row("lazyfree", "entry", "Private_Dirty", "== 0", ("madv_free",),
        "MADV_FREE cleans each page (mm/madvise.c madvise_free_pte_range)"),
    Row("lazyfree", "rollup", "LazyFree",
        f"in max(0, touched - {LAZYFREE_BATCH}) * page_kb .. touched * page_kb", ("madv_free",),
        "the only lazy-free mapping of the process: the rollup is its LazyFree"),
    # file: a file with blanks and a newline in its name, mapped, read, then unlinked
    Row("file", "entry", "name", "is deleted_path", (),
        "the path with its newline as \\012 and ' (deleted)' after it (seq_file_path, d_path)"),
    Row("file", "entry", "Size", "== pages * page_kb", (), "Size: vm_end - vm_start"),
    Row("file", "entry", "Rss", "== touched * page_kb", (), "every page of the file read"),
    Row("file", "entry", "Anonymous", "== 0", (), "page-cache pages are not anonymous"),
    Row("file", "entry", "Shared_Clean", "== 0", (), _PRIVATE),
    Row("file", "entry", "Shared_Dirty", "== 0", (), _PRIVATE),
    Row("file", "entry", "Pss", "== touched * page_kb", (), "a page mapped once counts whole"),
    Row("file", "entry", "offset", "== 0", (), "mapped from the start of the file"),
    Row("file", "entry", "inode", "== inode", ("not-overlay",), "the inode stat(2) gave"),
    # vmas: thousands of one-page mappings
    Row("vmas", "range", "entries", "== vmas", (), "one mapping per page of alternating access"),
    Row("vmas", "range", "Rss", "== touched * page_kb", (), _RSS),
    # thp: a PMD-aligned range with MADV_HUGEPAGE, one write
    Row("thp", "entry", "AnonHugePages", "== huge_kb", ("thp", "thp-allocated"),
        "one PMD-mapped transparent huge page covers the range"),
    Row("thp", "entry", "Rss", "== huge_kb", ("thp", "thp-allocated"),
        "the huge page is resident whole"),
    Row("thp", "entry", "Anonymous", "== huge_kb", ("thp", "thp-allocated"),
        "AnonHugePages are anonymous"),
    Row("thp", "entry", "THPeligible", "== 1", ("thp",), "MADV_HUGEPAGE on an enabled kernel"),
    # pkey
    Row("pkey", "entry", "ProtectionKey", "== pkey", ("pkey",),
        "the key pkey_mprotect(2) gave the mapping"),
    # anon-name
    Row("anon-name", "entry", "name", "is anon_label", ("anon-name",),
        "a named anonymous mapping prints [anon:NAME]"),
    # uffd
    Row("uffd", "entry", "VmFlags", "has um", ("uffd",), "VM_UFFD_MISSING prints um"),
    Row("uffd", "entry", "VmFlags", "has uw", ("uffd", "uffd-wp"), "VM_UFFD_WP prints uw"),
    # ksm (system settings): identical pages merged by ksmd
    Row("ksm", "entry", "VmFlags", "has mg", ("ksm",), "MADV_MERGEABLE prints mg"),
    Row("ksm", "entry", "Rss", "== touched * page_kb", ("ksm",), _RSS),
    Row("ksm", "entry", "Anonymous", "== touched * page_kb", ("ksm",), "KSM pages are anonymous"),
    Row("ksm", "entry", "KSM", "== ksm_merging_pages * page_kb", ("ksm", "ksm-stat"),
        "KSM: the merged pages, as /proc/PID/ksm_stat counts them"),
    Row("ksm", "rollup", "KSM", "== ksm_merging_pages * page_kb", ("ksm", "ksm-stat"),
        "the only mergeable mapping of the process"),
    # swap (system settings): pages out to a zram swap device, then shared by fork
    Row("swap", "entry", "Swap", "== swapped * page_kb", ("swap",),
        "the pages /proc/PID/pagemap shows swapped out"),
    Row("swap", "entry", "SwapPss",
        "in fixed(swapped, sharers) .. swapped * page_kb // sharers", ("swap",),
        "each swap entry divided by its references (one per sharer)"),
    Row("swap", "entry", "Rss", "== (touched - swapped) * page_kb", ("swap",),
        "the pages not swapped out"),
    Row("swap", "rollup", "Swap", "== swapped * page_kb", ("swap",),
        "the only swapped mapping of the process"),
    Row("swap", "rollup", "SwapPss",
        "in fixed(swapped, sharers) .. swapped * page_kb // sharers", ("swap",),
        "the only swapped mapping of the process: one fixed-point sum"),
    # hugetlb (system settings): one huge page
    Row("hugetlb", "entry", "KernelPageSize", "== huge_kb", ("hugetlb",), "the huge page size"),
    Row("hugetlb", "entry", "MMUPageSize", "== huge_kb", ("hugetlb",), "the huge page size"),
    Row("hugetlb", "entry", "Private_Hugetlb", "== huge_kb", ("hugetlb",),
        "one huge page, mapped once"),
    Row("hugetlb", "entry", "Shared_Hugetlb", "== 0", ("hugetlb",), "mapped once"),
    Row("hugetlb", "entry", "Rss", "== 0", ("hugetlb",), "hugetlb pages are not in Rss"),
    Row("hugetlb", "entry", "VmFlags", "has ht", ("hugetlb",), "VM_HUGETLB prints ht"),
    Row("hugetlb", "rollup", "Private_Hugetlb", "== huge_kb", ("hugetlb",),
        "the only hugetlb mapping of the process"),
)  # fmt: skip


class Missing(Exception):
    """An expression names a fact the shaper did not print."""


_BINARY: dict[type, Callable[[int, int], int]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.FloorDiv: lambda a, b: a // b,
}


def evaluate(text: str, names: Mapping[str, object], page_size: int) -> object:
    """The value of an expression of the table (see the module docstring). Raises Missing for
    a name without a value."""

    def fixed(pages: int, sharers: int) -> int:
        return (pages * ((page_size << 12) // sharers)) >> 22

    functions: dict[str, Callable[..., int]] = {"fixed": fixed, "max": max, "min": min}

    def value(node: ast.expr) -> object:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, str)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise Missing(node.id)
            return names[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = value(node.left), value(node.right)
            if not (isinstance(left, int) and isinstance(right, int)):
                raise TypeError(f"arithmetic on text in {text!r}")
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            args = [value(a) for a in node.args]
            return functions[node.func.id](*args)
        if isinstance(node, ast.BoolOp):
            results = [bool(value(v)) for v in node.values]
            return all(results) if isinstance(node.op, ast.And) else any(results)
        if isinstance(node, ast.Compare) and len(node.ops) == 1:
            left, right = value(node.left), value(node.comparators[0])
            op = node.ops[0]
            if isinstance(op, ast.Eq):
                return left == right
            if isinstance(op, ast.NotEq):
                return left != right
            if isinstance(left, int) and isinstance(right, int):
                if isinstance(op, ast.Gt):
                    return left > right
                if isinstance(op, ast.Lt):
                    return left < right
            return False
        raise ValueError(f"not an expression of the table: {ast.dump(node)} in {text!r}")

    return value(ast.parse(text, mode="eval").body)
