/* A small guest shaper for booted kernels: /shaper of the initramfs, run by init.c.
 *
 * For each shape it forks a process group that sets up its memory, stops itself (SIGSTOP, seen
 * by waitpid(WUNTRACED)), reads that process's smaps then smaps_rollup with read(2), prints each
 * file framed (the protocol of frames.py: BEGIN <shape> <pid> <file> <length> <sha256>, the
 * bytes, END <shape> <file>) and a line "@@smapsfmt-shaper 1 SHAPE <shape> key=value ..." saying
 * where the shaped mapping is and what was done to it, then kills and reaps the group.
 * The checks of these shapes are in boot.py. Built static (see guest.py).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sha256.h"

static long page;

static void write_all(const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t done = write(1, p, n);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return;
        p += done, n -= (size_t)done;
    }
}

static unsigned char *slurp(const char *path, size_t *size) {
    int fd = open(path, O_RDONLY);
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    if (fd < 0 || !buf) return NULL;
    for (;;) {
        if (n == cap && !(buf = realloc(buf, cap *= 2))) return NULL;
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) break;
        n += (size_t)got;
    }
    close(fd);
    *size = n;
    return buf;
}

static void frame(const char *shape, pid_t pid, const char *file) {
    char path[64], hex[65], line[256];
    size_t n = 0;
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
    unsigned char *data = slurp(path, &n);
    if (!data) return;
    sha256_hex(data, n, hex);
    int len = snprintf(line, sizeof line, "@@smapsfmt-shaper 1 BEGIN %s %d %s %zu %s\n", shape,
                       (int)pid, file, n, hex);
    write_all(line, (size_t)len);
    write_all(data, n);
    len = snprintf(line, sizeof line, "@@smapsfmt-shaper 1 END %s %s\n", shape, file);
    write_all(line, (size_t)len);
    free(data);
}

/* The description of the shape, written by the shaped process before it stops. */
static void describe(const char *shape, const char *fmt, ...) {
    char line[512];
    va_list ap;
    int n = snprintf(line, sizeof line, "@@smapsfmt-shaper 1 SHAPE %s ", shape);
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    line[n++] = '\n';
    write_all(line, (size_t)n);
}

static char *anon(size_t pages, int flags) {
    char *p = mmap(NULL, pages * (size_t)page, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | flags, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void touch(char *p, size_t pages) {
    for (size_t i = 0; i < pages; i++) p[i * (size_t)page] = 1;
}

static void shape_anon(void) {
    char *p = anon(64, MAP_PRIVATE);
    touch(p, 64);
    describe("anon", "addr=%lx pages=64 pagesize=%ld", (unsigned long)p, page);
}

static void shape_mlock(void) {
    char *p = anon(32, MAP_PRIVATE);
    touch(p, 32);
    int rc = mlock(p, 32 * (size_t)page);
    describe("mlock", "addr=%lx pages=32 pagesize=%ld mlock=%d", (unsigned long)p, page, rc);
}

static void shape_shared(void) {
    char *p = anon(48, MAP_SHARED);
    touch(p, 48);
    for (int i = 0; i < 2; i++) {
        pid_t child = fork();
        if (child == 0) {
            volatile char sum = 0;
            for (size_t j = 0; j < 48; j++) sum += p[j * (size_t)page];
            raise(SIGSTOP);
            _exit(0);
        }
        int status;
        waitpid(child, &status, WUNTRACED);
    }
    describe("shared3", "addr=%lx pages=48 pagesize=%ld processes=3", (unsigned long)p, page);
}

static void shape_pkey(void) {
    char *p = anon(4, MAP_PRIVATE);
    touch(p, 4);
#ifdef SYS_pkey_alloc
    long key = syscall(SYS_pkey_alloc, 0, 0);
    long rc = key < 0 ? -1 : syscall(SYS_pkey_mprotect, p, 4 * (size_t)page,
                                     PROT_READ | PROT_WRITE, key);
    describe("pkey", "addr=%lx pages=4 pagesize=%ld pkey=%ld errno=%d", (unsigned long)p, page,
             rc == 0 ? key : -1L, rc == 0 ? 0 : errno);
#else
    describe("pkey", "addr=%lx pages=4 pagesize=%ld pkey=-1 errno=%d", (unsigned long)p, page,
             ENOSYS);
#endif
}

static void shape_madv_free(void) {
    char *p = anon(64, MAP_PRIVATE);
    touch(p, 64);
    int rc = madvise(p, 64 * (size_t)page, MADV_FREE);
    describe("madv-free", "addr=%lx pages=64 pagesize=%ld madvise=%d", (unsigned long)p, page, rc);
}

static void shape_names(void) {
    static const char *names[] = {"/tmp/with blanks", "/tmp/new\nline", "/tmp/gone"};
    char *maps[3];
    for (int i = 0; i < 3; i++) {
        int fd = open(names[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (ftruncate(fd, 2 * page) != 0) _exit(3);
        maps[i] = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        touch(maps[i], 2);
        close(fd);
    }
    unlink(names[2]);
    describe("names", "blanks=%lx newline=%lx deleted=%lx pages=2 pagesize=%ld",
             (unsigned long)maps[0], (unsigned long)maps[1], (unsigned long)maps[2], page);
}

static void shape_thp(void) {
    char mode[128] = "none";
    size_t n = 0, huge = 0;
    unsigned char *text = slurp("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", &n);
    if (text) huge = (size_t)strtoull((char *)text, NULL, 10);
    text = slurp("/sys/kernel/mm/transparent_hugepage/enabled", &n);
    if (text) {
        char *open_ = memchr(text, '[', n), *close_ = open_ ? memchr(open_, ']', n - (size_t)(open_ - (char *)text)) : NULL;
        if (open_ && close_ && close_ - open_ - 1 < (long)sizeof mode) {
            memcpy(mode, open_ + 1, (size_t)(close_ - open_ - 1));
            mode[close_ - open_ - 1] = 0;
        }
    }
    if (huge == 0) {
        describe("thp", "addr=0 bytes=0 pagesize=%ld mode=%s", page, mode);
        return;
    }
    size_t span = 3 * huge;
    char *raw = anon(span / (size_t)page, MAP_PRIVATE);
    char *p = (char *)(((uintptr_t)raw + huge - 1) & ~(uintptr_t)(huge - 1));
    int rc = madvise(p, huge, MADV_HUGEPAGE);
    memset(p, 1, huge);
    describe("thp", "addr=%lx bytes=%zu pagesize=%ld madvise=%d mode=%s", (unsigned long)p, huge,
             page, rc, mode);
}

static const struct {
    const char *name;
    void (*setup)(void);
} SHAPES[] = {
    {"anon", shape_anon},   {"mlock", shape_mlock}, {"shared3", shape_shared},
    {"pkey", shape_pkey},   {"madv-free", shape_madv_free}, {"names", shape_names},
    {"thp", shape_thp},
};
#define NSHAPES (sizeof SHAPES / sizeof SHAPES[0])

/* A shape runs in a process of its own, exec'd afresh: a forked copy would share copy-on-write
 * pages with this reader, and the reader's own writes (its buffers) would move them from
 * Shared_Dirty to Private_Dirty between the read of smaps and that of smaps_rollup. */
static void run(const char *shape) {
    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        execl("/proc/self/exe", "shaper", "--shape", shape, (char *)NULL);
        _exit(127);
    }
    int status;
    if (waitpid(leader, &status, WUNTRACED) < 0 || !WIFSTOPPED(status)) {
        char line[128];
        int n = snprintf(line, sizeof line, "@@smapsfmt-shaper 1 FAILED %s\n", shape);
        write_all(line, (size_t)n);
        return;
    }
    frame(shape, leader, "smaps");
    frame(shape, leader, "smaps_rollup");
    kill(-leader, SIGKILL);
    for (;;) {
        pid_t done = waitpid(-1, &status, 0);
        if (done < 0 && errno != EINTR) break;
    }
}

int main(int argc, char **argv) {
    page = sysconf(_SC_PAGESIZE);
    if (argc == 3 && strcmp(argv[1], "--shape") == 0) {
        for (size_t i = 0; i < NSHAPES; i++) {
            if (strcmp(SHAPES[i].name, argv[2]) == 0) {
                SHAPES[i].setup();
                raise(SIGSTOP);
                _exit(0);
            }
        }
        _exit(2);
    }
    for (size_t i = 0; i < NSHAPES; i++) run(SHAPES[i].name);
    return 0;
}
