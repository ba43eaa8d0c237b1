/* The first process of a smapsfmt guest under qemu: /init of its initramfs.
 *
 * It mounts /proc, /sys and /dev, puts the console in raw mode (no "\n" -> "\r\n": the framed
 * files must arrive byte for byte), prints what kernel and machine it runs on, runs the program
 * the kernel modules the host put in the initramfs as /module-NN-NAME.ko (zram and what it
 * needs, for the swap shape: modules.py), in name order, with init_module(2), saying each one's
 * outcome (ok, or the errno: EEXIST when already built in); then
 * "/shaper --system" (the selftest's shaper.c: every shape, those changing system settings
 * too, printed framed: frames.py), and
 * powers the machine off. Every line it prints starts with "@@smapsfmt-init 1 ". Built static;
 * no library but libc.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static void write_all(const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t done = write(1, p, n);
        if (done < 0 && errno == EINTR) continue;
        if (done <= 0) return;
        p += done, n -= (size_t)done;
    }
}

static void say(const char *fmt, const char *a, const char *b) {
    char line[512];
    int n = snprintf(line, sizeof line, "@@smapsfmt-init 1 ");
    n += snprintf(line + n, sizeof line - (size_t)n, fmt, a, b);
    if (n > (int)sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    write_all(line, (size_t)n);
}

/* The whole of a /proc file, read with read(2) until end of file. */
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

static int is_module(const struct dirent *d) {
    return strncmp(d->d_name, "module-", 7) == 0;
}

/* Each /module-NN-NAME.ko, in name order (dependencies first), loaded with init_module(2). */
static void load_modules(void) {
    struct dirent **found = NULL;
    int n = scandir("/", &found, is_module, alphasort);
    for (int i = 0; i < n; i++) {
        char path[300], outcome[64];
        size_t size = 0;
        snprintf(path, sizeof path, "/%s", found[i]->d_name);
        unsigned char *image = slurp(path, &size);
        long rc = image ? syscall(SYS_init_module, image, (unsigned long)size, "") : -1;
        int e = errno;
        if (rc == 0)
            snprintf(outcome, sizeof outcome, "ok");
        else
            snprintf(outcome, sizeof outcome, "%s", e == EEXIST ? "EEXIST" : strerror(e));
        say("MODULE %s %s", found[i]->d_name, outcome);
        free(image);
        free(found[i]);
    }
    free(found);
}

int main(void) {
    struct utsname u;
    struct termios t;
    char pagesize[32];

    mkdir("/proc", 0555), mkdir("/sys", 0555), mkdir("/dev", 0755), mkdir("/tmp", 01777);
    mount("proc", "/proc", "proc", 0, NULL);
    mount("sysfs", "/sys", "sysfs", 0, NULL);
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    if (tcgetattr(1, &t) == 0) {
        t.c_oflag &= ~(tcflag_t)OPOST; /* bytes out exactly as written */
        tcsetattr(1, TCSANOW, &t);
    }
    uname(&u);
    snprintf(pagesize, sizeof pagesize, "%ld", sysconf(_SC_PAGESIZE));
    say("START %s %s", u.release, u.machine);
    say("PAGESIZE %s%s", pagesize, "");
    {
        size_t n = 0;
        unsigned char *version = slurp("/proc/version", &n);
        if (version && n > 0) {
            version[n - 1] = '\0';
            say("VERSION %s%s", (char *)version, "");
        }
    }
    load_modules();
    if (access("/shaper", X_OK) == 0) {
        pid_t child = fork();
        if (child == 0) {
            execl("/shaper", "/shaper", "--system", (char *)NULL); /* the guest is thrown away */
            _exit(127);
        }
        int status = 0;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
        }
        char code[32];
        snprintf(code, sizeof code, "%d", WIFEXITED(status) ? WEXITSTATUS(status)
                                                             : 128 + WTERMSIG(status));
        say("SHAPER %s%s", code, "");
    }
    say("DONE%s%s", "", "");
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
