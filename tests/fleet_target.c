/*
 * A process of known, stable memory for tests/test_fleet_*.py: built static and run from its
 * own copy of the program file, so that no page it maps is shared with another process and
 * its Pss is its Rss, unchanged while it waits.
 *
 * Usage: fleet_target MIB
 * Maps MIB MiB of private anonymous memory, writes every page, prints "ready" and waits for a
 * signal; it dies with its parent (PR_SET_PDEATHSIG).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        return 3;
    size_t len = strtoul(argv[1], NULL, 10) << 20;
    unsigned char *memory = mmap(NULL, len, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED)
        return 4;
    for (size_t i = 0; i < len; i += 4096)
        memory[i] = 1;
    puts("ready");
    fflush(stdout);
    for (;;)
        pause();
}
