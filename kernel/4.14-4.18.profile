# Linux 4.14 to 4.18: what fs/proc/task_mmu.c prints in /proc/PID/smaps and smaps_rollup.
# Format of this file: kernel/README.md. Sources: KERNEL-FACTS keys [Sxx] resolve in
# ../shared/KERNEL-FACTS.md section 14 (repository, commit, Makefile version).

profile 4.14-4.18
kernels 4.14 4.18
sampled 4.14.78, 4.15.18
source task_mmu.c 4.14.78, 4.15.18 (Ubuntu) show_smap [S19, S20]
note KernelPageSize and MMUPageSize move right after Size (the smaps_rollup rework).
note smaps_rollup walks the smaps sequence: its header ends at the end of the gate VMA (ffffffffff601000 on x86_64).
note smaps_rollup Locked adds the running Pss total per locked mapping and Swap assigns shmem swap instead of adding: both unreliable.
note Values are printed with seq_printf %8lu; 4.19 uses seq_put_decimal_ull_width, same bytes.

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
smaps "Shared_Clean:   %8lu kB\n"
smaps "Shared_Dirty:   %8lu kB\n"
smaps "Private_Clean:  %8lu kB\n"
smaps "Private_Dirty:  %8lu kB\n"
smaps "Referenced:     %8lu kB\n"
smaps "Anonymous:      %8lu kB\n"
smaps "LazyFree:       %8lu kB\n"
smaps "AnonHugePages:  %8lu kB\n"
smaps "ShmemPmdMapped: %8lu kB\n"
smaps "Shared_Hugetlb: %8lu kB\n"
smaps "Private_Hugetlb: %7lu kB\n"
smaps "Swap:           %8lu kB\n"
smaps "SwapPss:        %8lu kB\n"
smaps "Locked:         %8lu kB\n"
smaps? "ProtectionKey:  %8u\n"
vmflags "VmFlags: " rd wr ex sh mr mw me ms gd pf dw lo io sr rr dc de ac nr ht ar dd mm hg nh mg sd mp um uw wf sf ??

# smaps_rollup: one entry; the header spans the first mapping's start to the last
# mapping's end.
rollup-header "%08lx-%08lx ---p 00000000 00:00 0 " "[rollup]"
rollup-end includes-gate
rollup "Rss:            %8lu kB\n"
rollup "Pss:            %8lu kB\n"
rollup "Shared_Clean:   %8lu kB\n"
rollup "Shared_Dirty:   %8lu kB\n"
rollup "Private_Clean:  %8lu kB\n"
rollup "Private_Dirty:  %8lu kB\n"
rollup "Referenced:     %8lu kB\n"
rollup "Anonymous:      %8lu kB\n"
rollup "LazyFree:       %8lu kB\n"
rollup "AnonHugePages:  %8lu kB\n"
rollup "ShmemPmdMapped: %8lu kB\n"
rollup "Shared_Hugetlb: %8lu kB\n"
rollup "Private_Hugetlb: %7lu kB\n"
rollup "Swap:           %8lu kB\n"
rollup "SwapPss:        %8lu kB\n"
rollup "Locked:         %8lu kB\n"
