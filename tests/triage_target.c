/*
 * A process for the ps tests and benchmark, built static into a fresh file, so that no page of
 * it is shared with a process outside the test: no library, its own program file, its own
 * backing file. Its Private/Shared split, USS and Pss then depend on nothing else running.
 *
 * Usage: triage_target N FILE KIB
 *   maps N one-page mappings of FILE (read-only and read-write in turn, so that none merge),
 *   reads each, touches KIB KiB of anonymous memory, prints "ready" and sleeps until killed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static volatile unsigned long sink;

int main(int argc, char **argv) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the test that started it */
    if (argc != 4)
        return 2;
    long count = atol(argv[1]);
    long kib = atol(argv[3]);
    long page = sysconf(_SC_PAGESIZE);
    int fd = open(argv[2], O_RDWR);
    if (fd < 0 || ftruncate(fd, count * page) != 0)
        return 3;
    for (long i = 0; i < count; i++) {
        int prot = PROT_READ | (i % 2 ? PROT_WRITE : 0);
        unsigned char *p = mmap(NULL, page, prot, MAP_SHARED, fd, i * page);
        if (p == MAP_FAILED)
            return 4;
        sink += p[0];
    }
    if (kib > 0) {
        unsigned char *anon = mmap(NULL, kib * 1024, PROT_READ | PROT_WRITE,
                                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (anon == MAP_FAILED)
            return 5;
        for (long i = 0; i < kib * 1024; i += page)
            anon[i] = 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;)
        pause();
}
