"""The shapes, in the shaper's order, and whether each changes system settings (the
command line's start-up reads this, and nothing heavier)."""

from __future__ import annotations

SHAPES: dict[str, bool] = {
    "anon": False, "shared": False, "shmem": False, "mlock": False, "lazyfree": False,
    "file": False, "vmas": False, "thp": False, "pkey": False, "anon-name": False,
    "uffd": False, "ksm": True, "swap": True, "hugetlb": True,
}  # fmt: skip
