# Linux 2.6.28 to 2.6.31: what fs/proc/task_mmu.c prints in /proc/PID/smaps.
# Format of this file: kernel/README.md. Sources: KERNEL-FACTS keys [Sxx] resolve in
# ../shared/KERNEL-FACTS.md section 14 (repository, commit, Makefile version).

profile 2.6.28-2.6.31
kernels 2.6.28 2.6.31
sampled 2.6.28
source task_mmu.c 2.6.28 show_smap [S4]
note The offset is printed for every mapping, anonymous ones included (%08llx).
note KernelPageSize and MMUPageSize appeared inside the window 2.6.28-2.6.32 (upstream 2.6.29, unverified).

# The header: show_map_vma / show_vma_header_prefix; the name, when there is one,
# starts at column 73 on 64-bit kernels, 49 on 32-bit ones (seq_pad), or one blank
# after a longer prefix.
header "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "
name-column 73 49

# Each entry: the header, then these lines in this order (smaps? = printed only for some
# mappings).
smaps "Size:           %8lu kB\n"
smaps "Rss:            %8lu kB\n"
smaps "Pss:            %8lu kB\n"
smaps "Shared_Clean:   %8lu kB\n"
smaps "Shared_Dirty:   %8lu kB\n"
smaps "Private_Clean:  %8lu kB\n"
smaps "Private_Dirty:  %8lu kB\n"
smaps "Referenced:     %8lu kB\n"
smaps "Swap:           %8lu kB\n"
vmflags none

# No smaps_rollup before 4.14.
rollup none
