# Linux 5.3 to 5.3: what fs/proc/task_mmu.c prints in /proc/PID/smaps and smaps_rollup.
# Format of this file: kernel/README.md. Sources: KERNEL-FACTS keys [Sxx] resolve in
# ../shared/KERNEL-FACTS.md section 14 (repository, commit, Makefile version).

profile 5.3
kernels 5.3 5.3
sampled 5.3.1
source task_mmu.c 5.3.1 show_smap, show_smaps_rollup [S25]
note THPeligible is printed with two TABs.
note smaps_rollup gains Pss_Anon, Pss_File, Pss_Shmem.

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
smaps "THPeligible:\t\t%d\n"
smaps? "ProtectionKey:  %8u\n"
vmflags "VmFlags: " rd wr ex sh mr mw me ms gd pf dw lo io sr rr dc de ac nr ht ar dd mm hg nh mg sd mp um uw wf sf ??

# smaps_rollup: one entry; the header spans the first mapping's start to the last
# mapping's end.
rollup-header "%08lx-%08lx ---p 00000000 00:00 0 " "[rollup]"
rollup-end excludes-gate
rollup "Rss:            %8lu kB\n"
rollup "Pss:            %8lu kB\n"
rollup "Pss_Anon:       %8lu kB\n"
rollup "Pss_File:       %8lu kB\n"
rollup "Pss_Shmem:      %8lu kB\n"
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
