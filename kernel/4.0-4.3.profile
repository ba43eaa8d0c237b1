# Linux 4.0 to 4.3: what fs/proc/task_mmu.c prints in /proc/PID/smaps.
# Format of this file: kernel/README.md. Sources: KERNEL-FACTS keys [Sxx] resolve in
# ../shared/KERNEL-FACTS.md section 14 (repository, commit, Makefile version).

profile 4.0-4.3
kernels 4.0 4.3
sampled 4.0.5, 4.2.8
source task_mmu.c 4.0.5, 4.2.8 show_smap [S13, S14]
note um and uw appeared inside the window 4.2-4.4 (upstream 4.3).

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
smaps "Anonymous:      %8lu kB\n"
smaps "AnonHugePages:  %8lu kB\n"
smaps "Swap:           %8lu kB\n"
smaps "KernelPageSize: %8lu kB\n"
smaps "MMUPageSize:    %8lu kB\n"
smaps "Locked:         %8lu kB\n"
vmflags "VmFlags: " rd wr ex sh mr mw me ms gd pf dw lo io sr rr dc de ac nr ht ar dd mm hg nh mg sd mp um uw ??

# No smaps_rollup before 4.14.
rollup none
