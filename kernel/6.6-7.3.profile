# Linux 6.6 to 7.3: what fs/proc/task_mmu.c prints in /proc/PID/smaps and smaps_rollup.
# Format of this file: kernel/README.md. Sources: KERNEL-FACTS keys [Sxx] resolve in
# ../shared/KERNEL-FACTS.md section 14 (repository, commit, Makefile version). After 6.18 the
# sources are the kernel's own patches (below) and Debian's kernels booted under qemu.

profile 6.6-7.3
kernels 6.6 7.3
sampled 6.6.87, 6.8.0, 6.11.11, 6.12.63, 6.13.7, 6.18.2; observed 6.18.44 x86_64; observed under qemu: Debian's 6.19, 7.0-7.2, 7.3 and 7.3-rc amd64 kernels
source task_mmu.c 6.6.87, 6.8.0, 6.11.11, 6.12.63, 6.13.7, 6.18.2 [S41-S47]; captures tests/fixtures/valid/live/6.18
source task_mmu.c show_smap_vma_flags: 6.18.37 (the stable release patch "Linux 6.18.37", stable@vger.kernel.org, 2026-06-27: Makefile 6.18.36 -> 6.18.37, fs/proc/task_mmu.c index b490245ff9be..4c5adfd4fc1f); upstream commit 5dba5cc2e0ff "mm: introduce VM_MAYBE_GUARD and make visible in /proc/$pid/smaps" (series v4 of 2025-11-18)
source output of Debian's 6.19, 7.0-7.2, 7.3 and 7.3-rc kernels (linux-binary[-unsigned]-* packages of trixie-backports, sid and experimental, such as 6.19.14+deb13, 7.2.13+deb14, 7.3.4+deb13) booted under qemu-system-x86_64: their smaps and smaps_rollup validated against this layout
source captures tests/fixtures/valid/qemu/6.12-amd64, 6.19-amd64 (6.19.14+deb13-amd64), 7.x-amd64 (7.3.4+deb13-amd64) and 7.x-arm64-16k (7.3.4+deb13-arm64-16k, 16 KiB pages): every shape of smapsfmt selftest, each file matched to this profile, each rollup proved (tests/test_kernels.py)
note KSM follows Anonymous, in smaps_rollup too; THPeligible is right-aligned in 8 columns.
note ss appeared inside the window 6.5-6.6, dp and sl inside 6.8-6.11.
note gu (VM_MAYBE_GUARD, bit 11: the VMA may hold guard regions, MADV_GUARD_INSTALL) from upstream commit 5dba5cc2e0ff, after 6.18, and from 6.18.37 (a stable backport); bit 11 had held dw (VM_DENYWRITE) until upstream commit 8d0920bde5eb removed it.
note 6.19 to 7.3 print the 6.18 lines, widths and rollup unchanged; their fs/proc/task_mmu.c trees were not read line by line: the range rests on the patches above and on the output of Debian's kernels.

# The header: show_map_vma / show_vma_header_prefix; the name, when there is one,
# starts at column 73 on 64-bit kernels, 49 on 32-bit ones (seq_pad), or one blank
# after a longer prefix.
header "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "
name-column 73 49

# Each entry: the header, then these lines in this order (smaps? = printed only for some
# mappings).
smaps "Size:           %8lu kB\n"
smaps "KernelPageSize: %8lu kB\n"
smaps "MMUPageSize:    %8lu kB\n"
smaps "Rss:            %8lu kB\n"
smaps "Pss:            %8lu kB\n"
smaps "Pss_Dirty:      %8lu kB\n"
smaps "Shared_Clean:   %8lu kB\n"
smaps "Shared_Dirty:   %8lu kB\n"
smaps "Private_Clean:  %8lu kB\n"
smaps "Private_Dirty:  %8lu kB\n"
smaps "Referenced:     %8lu kB\n"
smaps "Anonymous:      %8lu kB\n"
smaps "KSM:            %8lu kB\n"
smaps "LazyFree:       %8lu kB\n"
smaps "AnonHugePages:  %8lu kB\n"
smaps "ShmemPmdMapped: %8lu kB\n"
smaps "FilePmdMapped:  %8lu kB\n"
smaps "Shared_Hugetlb: %8lu kB\n"
smaps "Private_Hugetlb: %7lu kB\n"
smaps "Swap:           %8lu kB\n"
smaps "SwapPss:        %8lu kB\n"
smaps "Locked:         %8lu kB\n"
smaps "THPeligible:    %8u\n"
smaps? "ProtectionKey:  %8u\n"
vmflags "VmFlags: " rd wr ex sh mr mw me ms gd pf gu lo io sr rr dc de ac nr ht ar dd mm hg nh mg sd um uw wf sf bt mt ui lf ss dp sl ??

# smaps_rollup: one entry; the header spans the first mapping's start to the last
# mapping's end.
rollup-header "%08lx-%08lx ---p 00000000 00:00 0 " "[rollup]"
rollup-end excludes-gate
rollup "Rss:            %8lu kB\n"
rollup "Pss:            %8lu kB\n"
rollup "Pss_Dirty:      %8lu kB\n"
rollup "Pss_Anon:       %8lu kB\n"
rollup "Pss_File:       %8lu kB\n"
rollup "Pss_Shmem:      %8lu kB\n"
rollup "Shared_Clean:   %8lu kB\n"
rollup "Shared_Dirty:   %8lu kB\n"
rollup "Private_Clean:  %8lu kB\n"
rollup "Private_Dirty:  %8lu kB\n"
rollup "Referenced:     %8lu kB\n"
rollup "Anonymous:      %8lu kB\n"
rollup "KSM:            %8lu kB\n"
rollup "LazyFree:       %8lu kB\n"
rollup "AnonHugePages:  %8lu kB\n"
rollup "ShmemPmdMapped: %8lu kB\n"
rollup "FilePmdMapped:  %8lu kB\n"
rollup "Shared_Hugetlb: %8lu kB\n"
rollup "Private_Hugetlb: %7lu kB\n"
rollup "Swap:           %8lu kB\n"
rollup "SwapPss:        %8lu kB\n"
rollup "Locked:         %8lu kB\n"
