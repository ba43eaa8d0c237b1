/*
 * A process for tests/test_exact.py, built static so that no page of it is shared with any
 * process outside its own group: its program file is a fresh copy, it maps no library.
 *
 * It shapes its memory so that pages have mapcounts 1, 2 and 3 and the fixed-point Pss has
 * fractions: 4 MiB of shared anonymous memory (shmem) touched by itself and two children;
 * 4 MiB of private anonymous memory, COW-shared with the children after fork, of which child
 * 0 writes the first MiB; 4 MiB of transparent huge pages (madvise, 2 MiB aligned) written
 * before the fork, so PMD-mapped large folios shared three ways; 1 MiB mlocked before the
 * fork; the file argv[1] mapped shared and read by all three. Then it prints the children's
 * pids and sleeps; the test stops all three with SIGSTOP.
 *
 * Usage: exact_target FILE
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB (1024UL * 1024UL)

static volatile unsigned long sink;

static void touch(const unsigned char *p, size_t len) {
    for (size_t i = 0; i < len; i += 4096)
        sink += p[i];
}

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    unsigned char *shared = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
                                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    unsigned char *private = mmap(NULL, 4 * MIB, PROT_READ | PROT_WRITE,
                                  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *big = mmap(NULL, 8 * MIB, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *locked = mmap(NULL, 1 * MIB, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED || private == MAP_FAILED || big == MAP_FAILED ||
        locked == MAP_FAILED)
        return 3;
    unsigned char *huge = (unsigned char *)(((uintptr_t)big + 2 * MIB - 1) & ~(2 * MIB - 1));
    if (madvise(huge, 4 * MIB, MADV_HUGEPAGE) != 0)
        return 4;
    memset(shared, 's', 4 * MIB);
    memset(private, 'p', 4 * MIB);
    memset(huge, 'h', 4 * MIB);
    memset(locked, 'l', 1 * MIB);
    if (mlock(locked, 1 * MIB) != 0)
        return 5;
    int fd = open(argv[1], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        return 6;
    unsigned char *file = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (file == MAP_FAILED)
        return 7;
    touch(file, st.st_size);

    int ready[2];
    if (pipe(ready) != 0)
        return 8;
    pid_t children[2];
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        if (pid < 0)
            return 9;
        if (pid == 0) {
            /* fork copies no page table entries of shared mappings: map their pages again */
            touch(shared, 4 * MIB);
            touch(file, st.st_size);
            if (i == 0)
                memset(private, 'c', 1 * MIB);
            if (write(ready[1], "r", 1) != 1)
                _exit(10);
            for (;;)
                pause();
        }
        children[i] = pid;
    }
    char byte;
    for (int i = 0; i < 2; i++)
        if (read(ready[0], &byte, 1) != 1)
            return 11;
    printf("%d %d\n", (int)children[0], (int)children[1]);
    fflush(stdout);
    for (;;)
        pause();
}
