"""Bounds on what smapsfmt holds of one input, derived from what a kernel can print.

MAX_LINE: the longest line any kernel prints in smaps or smaps_rollup, with a wide margin. The
longest is a file mapping's header: a prefix padded to 73 columns (more with a 20-digit inode)
and a pathname that ``d_path`` writes into a buffer of PATH_MAX = 4096 bytes
(include/uapi/linux/limits.h; fs/d_path.c, which may append `` (deleted)``). ``show_map_vma``
prints it with ``seq_file_path(m, file, "\\n")`` (fs/proc/task_mmu.c, 4.x-6.18), and
``mangle_path`` (fs/seq_file.c) writes each newline byte as the four bytes ``\\012``: at most
4 * 4095 + 10 bytes of name, under 16.5 KiB of line. Android's ``[anon:NAME]`` reads at most
NAME_MAX (255) bytes of the name. A line longer than MAX_LINE is therefore not smaps text, and
smapsfmt refuses it at its offset instead of holding it.
"""

from __future__ import annotations

__all__ = ["MAX_LINE"]

MAX_LINE = 65536
