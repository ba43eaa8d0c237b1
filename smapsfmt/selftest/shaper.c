/* The shaper of `smapsfmt selftest`: gives processes known memory shapes, freezes them, and
 * prints their /proc/PID/smaps and /proc/PID/smaps_rollup, each framed with its length and
 * SHA-256, with one line per shape saying what the shape did.
 *
 * Build: cc -O2 -static -o shaper shaper.c   (libc only; it also runs as a guest's /init)
 * Usage: shaper [--system] [--list] [SHAPE ...]
 *   no SHAPE: every shape that leaves the system's settings alone (with --system, every shape)
 *   --system: allow the shapes that change system settings (ksm, swap, hugetlb); root only.
 *             Each setting is restored when the shape ends, on failure too, and on SIGINT,
 *             SIGTERM or SIGHUP.
 *   --list:   print the shapes, one a line: NAME and "plain" or "system"
 *
 * Output (stdout), in this order for each shape:
 *   @@smapsfmt-shaper 1 BEGIN SHAPE PID FILE LENGTH SHA256HEX    FILE: smaps, smaps_rollup
 *   LENGTH raw bytes of the file, as read(2) gave them
 *   @@smapsfmt-shaper 1 END SHAPE FILE
 *   @@smapsfmt-shaper 1 SHAPE SHAPE key=value ...
 * and one KERNEL line first, one DONE line last. Values are [A-Za-z0-9_.:/,+-]; any other text
 * is given as KEY_hex=HEX of its bytes. A setup step is KEY=ok, or KEY=ERRNO-NAME when it
 * failed, or KEY=skipped. Lines between frames (kernel messages on a serial console) are
 * ignored by the reader, which finds each frame by its markers and checks its length and hash.
 *
 * Each shape runs in a process of its own, the shaper executed again (/proc/self/exe) with the
 * internal arguments --shape-process NAME FD, so that it shares no copy-on-write page with
 * the main process; its sharers are its clones, children of the main process (CLONE_PARENT),
 * which waits for all of them to stop before it reads, and kills them after.
 *
 * Exit status: 0 every shape ran (a step the kernel refused is data, not a failure), 1 a shape
 * process died or a setting could not be restored, 2 usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if __has_include(<linux/userfaultfd.h>)
#include <linux/userfaultfd.h>
#endif

#define PROTO "@@smapsfmt-shaper 1"

#ifndef MADV_FREE
#define MADV_FREE 8
#endif
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#endif
#ifndef PR_SET_VMA_ANON_NAME
#define PR_SET_VMA_ANON_NAME 0
#endif
#ifndef PR_SET_THP_DISABLE
#define PR_SET_THP_DISABLE 41
#endif
#ifndef CLONE_PARENT
#define CLONE_PARENT 0x00008000
#endif
#ifndef SWAP_FLAG_PREFER
#define SWAP_FLAG_PREFER 0x8000
#endif

static long page_size;
static int failures;

/* --- output ---------------------------------------------------------------------------------- */

static void out_write(const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = write(1, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(3); /* standard output is gone: nothing left to report to */
		p += n;
		len -= (size_t)n;
	}
}

static void outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void outf(const char *fmt, ...)
{
	char buf[16384];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	out_write(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

/* --- SHA-256 (FIPS 180-4) --------------------------------------------------------------------- */

struct sha256 {
	uint32_t h[8];
	uint64_t total;
	unsigned char block[64];
	size_t used;
};

static const uint32_t sha_k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(struct sha256 *s, const unsigned char *b)
{
	uint32_t w[64], a, bb, c, d, e, f, g, h;
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
		       (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0], bb = s->h[1], c = s->h[2], d = s->h[3];
	e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) +
			      sha_k[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
		h = g, g = f, f = e, e = d + t1, d = c, c = bb, bb = a, a = t1 + t2;
	}
	s->h[0] += a, s->h[1] += bb, s->h[2] += c, s->h[3] += d;
	s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_hex(const unsigned char *data, size_t len, char hex[65])
{
	static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	struct sha256 s;
	memcpy(s.h, init, sizeof init);
	s.total = len;
	size_t i = 0;
	for (; i + 64 <= len; i += 64)
		sha_block(&s, data + i);
	unsigned char tail[128] = {0};
	size_t rest = len - i;
	memcpy(tail, data + i, rest);
	tail[rest] = 0x80;
	size_t tail_len = rest + 1 + 8 <= 64 ? 64 : 128;
	uint64_t bits = s.total * 8;
	for (int j = 0; j < 8; j++)
		tail[tail_len - 1 - j] = (unsigned char)(bits >> (8 * j));
	for (size_t j = 0; j < tail_len; j += 64)
		sha_block(&s, tail + j);
	for (int j = 0; j < 8; j++)
		sprintf(hex + 8 * j, "%08x", s.h[j]);
	hex[64] = 0;
}

/* --- the record of a shape: key=value tokens ------------------------------------------------- */

struct rec {
	char text[8192];
	size_t len;
};

static const char *errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case ENODEV: return "ENODEV";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case EROFS: return "EROFS";
	case ERANGE: return "ERANGE";
	case ENOSYS: return "ENOSYS";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT: return "ETIMEDOUT";
	default: {
		static char other[24];
		snprintf(other, sizeof other, "E%d", e);
		return other;
	}
	}
}

static void rec_add(struct rec *r, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void rec_add(struct rec *r, const char *key, const char *fmt, ...)
{
	char value[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(value, sizeof value, fmt, ap);
	va_end(ap);
	int n = snprintf(r->text + r->len, sizeof r->text - r->len, " %s=%s", key, value);
	if (n > 0 && (size_t)n < sizeof r->text - r->len)
		r->len += (size_t)n;
}

/* A step: KEY=ok when rc >= 0, else KEY=ERRNO-NAME of errno. Returns rc >= 0. */
static int rec_step(struct rec *r, const char *key, long rc)
{
	int e = errno;
	rec_add(r, key, "%s", rc >= 0 ? "ok" : errname(e));
	errno = e;
	return rc >= 0;
}

static void rec_text(struct rec *r, const char *key, const char *bytes, size_t len)
{
	int plain = len > 0;
	for (size_t i = 0; i < len; i++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:/,+-",
			    bytes[i]) || bytes[i] == 0)
			plain = 0;
	if (plain) {
		rec_add(r, key, "%.*s", (int)len, bytes);
		return;
	}
	char hexkey[64], hex[4096];
	snprintf(hexkey, sizeof hexkey, "%s_hex", key);
	size_t n = 0;
	for (size_t i = 0; i < len && n + 3 < sizeof hex; i++)
		n += (size_t)snprintf(hex + n, sizeof hex - n, "%02x", (unsigned char)bytes[i]);
	hex[n] = 0;
	rec_add(r, hexkey, "%s", hex);
}

static void rec_range(struct rec *r, const void *start, size_t len)
{
	rec_add(r, "start", "%lx", (unsigned long)start);
	rec_add(r, "end", "%lx", (unsigned long)start + len);
}

/* --- small helpers --------------------------------------------------------------------------- */

static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t used = 0;
	while (used + 1 < size) {
		ssize_t n = read(fd, buf + used, size - 1 - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		used += (size_t)n;
	}
	buf[used] = 0;
	close(fd);
	return (int)used;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int e = errno;
	close(fd);
	errno = e;
	if (n < 0)
		return -1;
	if ((size_t)n != len) {
		errno = EIO;
		return -1;
	}
	return 0;
}

static long read_number(const char *path)
{
	char buf[64];
	if (read_file(path, buf, sizeof buf) < 0)
		return -1;
	return strtol(buf, NULL, 10);
}

/* The number after "KEY " or "KEY:" at the start of a line of a /proc text; -1 when absent. */
static long proc_value(const char *path, const char *key)
{
	static char buf[65536];
	if (read_file(path, buf, sizeof buf) < 0)
		return -1;
	size_t klen = strlen(key);
	for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (strncmp(line, key, klen) == 0 && (line[klen] == ' ' || line[klen] == ':'))
			return strtol(line + klen + 1, NULL, 10);
	return -1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* `len` bytes with `prot`, as a mapping of its own: PROT_NONE pages on both sides keep the
 * kernel from merging it with a neighbour, so that one smaps entry is exactly this range. */
static char *map_alone(size_t len, int prot, int flags, int fd)
{
	size_t ps = (size_t)page_size;
	char *base = mmap(NULL, len + 2 * ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	char *p = mmap(base + ps, len, prot, flags | MAP_FIXED, fd, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void touch(char *p, size_t pages, int salt)
{
	for (size_t i = 0; i < pages; i++)
		p[i * (size_t)page_size] = (char)(i + salt + 1);
}

/* A child whose parent is the shaper's main process (CLONE_PARENT): the main process can wait
 * for it to stop and reap it. It shares nothing: a fork. */
static pid_t fork_sibling(void)
{
	return (pid_t)syscall(SYS_clone, (unsigned long)(CLONE_PARENT | SIGCHLD), 0, 0, 0, 0);
}

static int report_fd = -1;

/* Stop, and stay stopped until killed. By system calls: after a raw clone the C library's
 * idea of the calling thread (raise uses it) is still the parent's. */
static void __attribute__((noreturn)) stop_self(void)
{
	for (;;)
		syscall(SYS_kill, (pid_t)syscall(SYS_getpid), SIGSTOP);
}

/* A sibling sharing the shape's memory: it stops at once and stays stopped until killed. */
static pid_t sharer(void (*before_stop)(void *), void *arg)
{
	pid_t pid = fork_sibling();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the main process, however it ends */
		close(report_fd);
		if (before_stop)
			before_stop(arg);
		stop_self();
	}
	return pid;
}

static void add_sharers(struct rec *r, pid_t *pids, int n)
{
	char list[512] = "";
	size_t used = 0;
	int made = 1;
	for (int i = 0; i < n; i++) {
		if (pids[i] <= 0)
			continue;
		made++;
		used += (size_t)snprintf(list + used, sizeof list - used, "%s%d", used ? "," : "",
					 (int)pids[i]);
	}
	rec_add(r, "sharers", "%d", made);
	if (used)
		rec_add(r, "sharer_pids", "%s", list);
}

/* --- system settings, restored by the main process -------------------------------------------- */

struct setting {
	char path[256];
	char before[64];
	int changed;
};

static struct setting settings[8];
static int nsettings;

/* Write `value` to `path`, keeping its value before for restore_settings. */
static int set_setting(struct rec *r, const char *key, const char *path, const char *value)
{
	char before[64];
	if (read_file(path, before, sizeof before) < 0)
		return rec_step(r, key, -1);
	before[strcspn(before, "\n")] = 0;
	struct setting *s = &settings[nsettings++];
	snprintf(s->path, sizeof s->path, "%s", path);
	snprintf(s->before, sizeof s->before, "%s", before);
	s->changed = 1;
	return rec_step(r, key, write_file(path, value));
}

static int restore_settings(struct rec *r)
{
	int ok = 1;
	for (int i = nsettings - 1; i >= 0; i--) {
		struct setting *s = &settings[i];
		if (!s->changed)
			continue;
		int rc = write_file(s->path, s->before);
		if (r) {
			rec_text(r, "restored", s->path, strlen(s->path));
			rec_step(r, "restore", rc);
		}
		ok &= rc == 0;
		s->changed = 0;
	}
	nsettings = 0;
	return ok;
}

/* The zram swap device of the swap shape. */
static int zram_id = -1;
static char zram_node[256];
static int zram_node_made, zram_swapon;

static int restore_swap(struct rec *r)
{
	int ok = 1;
	char path[128], id[16];
	if (zram_swapon) {
		int rc = (int)syscall(SYS_swapoff, zram_node);
		if (r)
			rec_step(r, "swapoff", rc);
		ok &= rc == 0;
		zram_swapon = 0;
	}
	if (zram_node_made) {
		unlink(zram_node);
		zram_node_made = 0;
	}
	if (zram_id >= 0) {
		snprintf(path, sizeof path, "/sys/block/zram%d/reset", zram_id);
		int rc = write_file(path, "1");
		if (r)
			rec_step(r, "zram_reset", rc);
		snprintf(id, sizeof id, "%d", zram_id);
		rc = write_file("/sys/class/zram-control/hot_remove", id);
		if (r)
			rec_step(r, "zram_remove", rc);
		ok &= rc == 0;
		zram_id = -1;
	}
	return ok;
}

/* --- shapes ------------------------------------------------------------------------------------ */

/* Sizes, in pages: small enough for a guest with little memory, large enough to be told apart. */
enum {
	ANON_PAGES = 128,
	ANON_TOUCHED = 64,
	SHARED_PAGES = 64,
	SHARERS = 3,
	MLOCK_PAGES = 16,
	LAZY_PAGES = 256,
	FILE_PAGES = 8,
	VMA_COUNT = 4000,
	SMALL_PAGES = 16,
	KSM_PAGES = 32,
	SWAP_PAGES = 64,
};

static void shape_anon(struct rec *r)
{
	size_t len = ANON_PAGES * (size_t)page_size;
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	touch(p, ANON_TOUCHED, 0);
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", ANON_PAGES);
	rec_add(r, "touched", "%d", ANON_TOUCHED);
}

static void shape_shared(struct rec *r)
{
	size_t len = SHARED_PAGES * (size_t)page_size;
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	touch(p, SHARED_PAGES, 0);
	pid_t pids[SHARERS - 1];
	for (int i = 0; i < SHARERS - 1; i++)
		pids[i] = sharer(NULL, NULL);
	rec_step(r, "fork", pids[SHARERS - 2]);
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", SHARED_PAGES);
	rec_add(r, "touched", "%d", SHARED_PAGES);
	add_sharers(r, pids, SHARERS - 1);
}

struct region {
	char *p;
	size_t pages;
};

static void write_all_pages(void *arg)
{
	struct region *reg = arg;
	touch(reg->p, reg->pages, 7);
}

static void shape_shmem(struct rec *r)
{
	size_t len = SHARED_PAGES * (size_t)page_size;
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	touch(p, SHARED_PAGES, 0);
	struct region reg = {p, SHARED_PAGES};
	pid_t pids[SHARERS - 1];
	for (int i = 0; i < SHARERS - 1; i++)
		pids[i] = sharer(write_all_pages, &reg);
	rec_step(r, "fork", pids[SHARERS - 2]);
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", SHARED_PAGES);
	rec_add(r, "touched", "%d", SHARED_PAGES);
	add_sharers(r, pids, SHARERS - 1);
}

static void shape_mlock(struct rec *r)
{
	size_t len = MLOCK_PAGES * (size_t)page_size;
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	touch(p, MLOCK_PAGES, 0);
	struct rlimit lim;
	if (getrlimit(RLIMIT_MEMLOCK, &lim) == 0)
		rec_add(r, "memlock_limit", "%lld",
			lim.rlim_cur == RLIM_INFINITY ? -1LL : (long long)lim.rlim_cur);
	rec_step(r, "mlock", mlock(p, len));
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", MLOCK_PAGES);
	rec_add(r, "touched", "%d", MLOCK_PAGES);
}

static void pin_to_this_cpu(struct rec *r)
{
	int cpu = sched_getcpu();
	cpu_set_t set;
	CPU_ZERO(&set);
	if (cpu >= 0)
		CPU_SET(cpu, &set);
	rec_step(r, "pin_cpu", cpu < 0 ? -1 : sched_setaffinity(0, sizeof set, &set));
}

static void shape_lazyfree(struct rec *r)
{
	size_t len = LAZY_PAGES * (size_t)page_size;
	/* One CPU: the pages MADV_FREE leaves in a per-CPU batch are in one batch. */
	pin_to_this_cpu(r);
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	touch(p, LAZY_PAGES, 0);
	rec_step(r, "madv_free", madvise(p, len, MADV_FREE));
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", LAZY_PAGES);
	rec_add(r, "touched", "%d", LAZY_PAGES);
}

static int make_temp_dir(char *dir, size_t size)
{
	const char *bases[] = {getenv("TMPDIR"), "/tmp", "/dev/shm", "/run", "/"};
	for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
		if (!bases[i] || !*bases[i])
			continue;
		snprintf(dir, size, "%s/smapsfmt-shaper.XXXXXX", bases[i]);
		if (mkdtemp(dir)) {
			char real[PATH_MAX];
			if (realpath(dir, real))
				snprintf(dir, size, "%s", real);
			return 0;
		}
	}
	return -1;
}

static void shape_file(struct rec *r)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	if (!rec_step(r, "mkdtemp", make_temp_dir(dir, sizeof dir)))
		return;
	/* Blanks and a newline: the kernel prints the newline as \012, the blanks raw. */
	snprintf(path, sizeof path, "%s/smapsfmt shaper\nmapped file", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (!rec_step(r, "create", fd)) {
		rmdir(dir);
		return;
	}
	size_t len = FILE_PAGES * (size_t)page_size;
	char *data = malloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)('A' + i % 26);
	ssize_t n = write(fd, data, len);
	free(data);
	rec_step(r, "write", n == (ssize_t)len ? 0 : -1);
	rec_step(r, "fsync", fsync(fd));
	struct stat st;
	struct statfs sfs;
	if (fstat(fd, &st) == 0) {
		rec_add(r, "inode", "%llu", (unsigned long long)st.st_ino);
		rec_add(r, "dev", "%x:%x", major(st.st_dev), minor(st.st_dev));
	}
	if (fstatfs(fd, &sfs) == 0)
		rec_add(r, "fs_magic", "%lx", (unsigned long)sfs.f_type);
	char *p = map_alone(len, PROT_READ, MAP_PRIVATE, fd);
	rec_step(r, "mmap", p ? 0 : -1);
	close(fd);
	rec_step(r, "unlink", unlink(path));
	rmdir(dir);
	if (!p)
		return;
	volatile char sum = 0;
	for (size_t i = 0; i < FILE_PAGES; i++)
		sum += p[i * (size_t)page_size];
	(void)sum;
	rec_text(r, "path", path, strlen(path));
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", FILE_PAGES);
	rec_add(r, "touched", "%d", FILE_PAGES);
}

static void shape_vmas(struct rec *r)
{
	size_t len = VMA_COUNT * (size_t)page_size;
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	touch(p, VMA_COUNT, 0);
	/* Every other page read-only: VMA_COUNT mappings of one page each. */
	long rc = 0;
	for (size_t i = 1; i < VMA_COUNT && rc == 0; i += 2)
		rc = mprotect(p + i * (size_t)page_size, (size_t)page_size, PROT_READ);
	rec_step(r, "mprotect", rc);
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", VMA_COUNT);
	rec_add(r, "touched", "%d", VMA_COUNT);
	rec_add(r, "vmas", "%d", rc == 0 ? VMA_COUNT : 0);
}

static void shape_thp(struct rec *r)
{
	char mode[256];
	long huge = read_number("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
	if (!rec_step(r, "thp_sysfs", huge > 0 ? 0 : -1))
		return;
	if (read_file("/sys/kernel/mm/transparent_hugepage/enabled", mode, sizeof mode) > 0) {
		char *open = strchr(mode, '['), *close = open ? strchr(open, ']') : NULL;
		if (open && close)
			rec_text(r, "thp_enabled", open + 1, (size_t)(close - open - 1));
	}
	size_t len = (size_t)huge;
	char *base = mmap(NULL, 3 * len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (!rec_step(r, "mmap", base == MAP_FAILED ? -1 : 0))
		return;
	char *p = (char *)(((uintptr_t)base + len - 1) & ~(uintptr_t)(len - 1));
	if (!rec_step(r, "mprotect", mprotect(p, len, PROT_READ | PROT_WRITE)))
		return;
	rec_step(r, "madv_hugepage", madvise(p, len, MADV_HUGEPAGE));
	long alloc = proc_value("/proc/vmstat", "thp_fault_alloc");
	long fallback = proc_value("/proc/vmstat", "thp_fault_fallback");
	p[0] = 1; /* one fault: a huge page for the whole range, or one small page */
	if (alloc >= 0 && fallback >= 0) {
		rec_add(r, "thp_fault_alloc", "%ld", proc_value("/proc/vmstat", "thp_fault_alloc") - alloc);
		rec_add(r, "thp_fault_fallback", "%ld",
			proc_value("/proc/vmstat", "thp_fault_fallback") - fallback);
	}
	rec_range(r, p, len);
	rec_add(r, "huge_kb", "%ld", huge / 1024);
	rec_add(r, "pages", "%ld", huge / page_size);
}

static void shape_pkey(struct rec *r)
{
	size_t len = SMALL_PAGES * (size_t)page_size;
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	touch(p, SMALL_PAGES, 0);
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", SMALL_PAGES);
	rec_add(r, "touched", "%d", SMALL_PAGES);
#if defined(SYS_pkey_alloc) && defined(SYS_pkey_mprotect)
	long key = syscall(SYS_pkey_alloc, 0UL, 0UL);
	if (!rec_step(r, "pkey_alloc", key))
		return;
	if (rec_step(r, "pkey_mprotect",
		     syscall(SYS_pkey_mprotect, p, len, PROT_READ | PROT_WRITE, key)))
		rec_add(r, "pkey", "%ld", key);
#else
	errno = ENOSYS;
	rec_step(r, "pkey_alloc", -1);
#endif
}

static void shape_anon_name(struct rec *r)
{
	static const char name[] = "smapsfmt-shaper";
	size_t len = SMALL_PAGES * (size_t)page_size;
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	touch(p, SMALL_PAGES, 0);
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", SMALL_PAGES);
	rec_add(r, "touched", "%d", SMALL_PAGES);
	rec_text(r, "name", name, strlen(name));
	rec_step(r, "anon_name", prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)p, len, name));
}

static void shape_uffd(struct rec *r)
{
	size_t len = SMALL_PAGES * (size_t)page_size;
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	touch(p, SMALL_PAGES, 0); /* before registering: no fault is left for a handler */
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", SMALL_PAGES);
	rec_add(r, "touched", "%d", SMALL_PAGES);
#if defined(SYS_userfaultfd) && defined(UFFDIO_API)
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif
	/* User faults only (5.11+): allowed without privilege; older kernels refuse the flag. */
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY);
	if (fd < 0 && errno == EINVAL)
		fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	if (!rec_step(r, "userfaultfd", fd))
		return;
	struct uffdio_api api = {.api = UFFD_API};
	if (!rec_step(r, "uffd_api", ioctl((int)fd, UFFDIO_API, &api)))
		return;
	struct uffdio_register reg = {.range = {(unsigned long)p, len}};
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
#ifdef UFFDIO_REGISTER_MODE_WP
	reg.mode |= UFFDIO_REGISTER_MODE_WP;
	if (rec_step(r, "uffd_wp", ioctl((int)fd, UFFDIO_REGISTER, &reg))) {
		rec_add(r, "uffd_missing", "ok");
		return;
	}
	reg.mode = UFFDIO_REGISTER_MODE_MISSING;
#else
	rec_add(r, "uffd_wp", "ENOSYS");
#endif
	rec_step(r, "uffd_missing", ioctl((int)fd, UFFDIO_REGISTER, &reg));
#else
	errno = ENOSYS;
	rec_step(r, "userfaultfd", -1);
#endif
}

/* KSM: the main process turns ksmd on (prepare), waits for it to merge the stopped shape's
 * pages and turns it off again (frozen), so that ksm_stat and smaps are read in one state. */
static int prepare_ksm(struct rec *r)
{
	if (!rec_step(r, "ksm_sysfs", access("/sys/kernel/mm/ksm/run", W_OK)))
		return 0;
	return set_setting(r, "ksm_pages_to_scan", "/sys/kernel/mm/ksm/pages_to_scan", "1000") &&
	       set_setting(r, "ksm_sleep", "/sys/kernel/mm/ksm/sleep_millisecs", "10") &&
	       set_setting(r, "ksm_run", "/sys/kernel/mm/ksm/run", "1");
}

static void shape_ksm(struct rec *r)
{
	size_t len = KSM_PAGES * (size_t)page_size;
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	memset(p, 0x5a, len); /* identical pages, and not zero (zero pages are not counted) */
	rec_step(r, "madv_mergeable", madvise(p, len, MADV_MERGEABLE));
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", KSM_PAGES);
	rec_add(r, "touched", "%d", KSM_PAGES);
}

static void frozen_ksm(struct rec *r, pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ksm_stat", (int)pid);
	long merged = -1;
	for (int waited = 0; waited < 10000; waited += 20) {
		merged = proc_value(path, "ksm_merging_pages");
		if (merged < 0 || merged >= KSM_PAGES)
			break;
		sleep_ms(20);
	}
	rec_step(r, "ksm_stop", write_file("/sys/kernel/mm/ksm/run", "0"));
	merged = proc_value(path, "ksm_merging_pages");
	if (merged >= 0)
		rec_add(r, "ksm_merging_pages", "%ld", merged);
	else
		rec_add(r, "ksm_stat", "%s", errname(errno ? errno : ENOENT));
}

static int write_swap_header(const char *node, long pages)
{
	int fd = open(node, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	char *page = calloc(1, (size_t)page_size);
	uint32_t *info = (uint32_t *)(page + 1024); /* union swap_header: version, last_page, ... */
	info[0] = 1;
	info[1] = (uint32_t)(pages - 1);
	memcpy(page + page_size - 10, "SWAPSPACE2", 10);
	ssize_t n = write(fd, page, (size_t)page_size);
	int e = errno;
	free(page);
	close(fd);
	errno = e;
	return n == page_size ? 0 : -1;
}

static int prepare_swap(struct rec *r)
{
	char buf[64], path[128];
	if (!rec_step(r, "zram_add", read_file("/sys/class/zram-control/hot_add", buf, sizeof buf)))
		return 0;
	zram_id = atoi(buf);
	rec_add(r, "zram", "%d", zram_id);
	snprintf(path, sizeof path, "/sys/block/zram%d/disksize", zram_id);
	long size = 32L << 20;
	snprintf(buf, sizeof buf, "%ld", size);
	if (!rec_step(r, "zram_disksize", write_file(path, buf)))
		return 0;
	snprintf(zram_node, sizeof zram_node, "/dev/zram%d", zram_id);
	struct stat st;
	if (stat(zram_node, &st) < 0) { /* no devtmpfs (a guest's initramfs): a node of our own */
		snprintf(path, sizeof path, "/sys/block/zram%d/dev", zram_id);
		unsigned maj = 0, min = 0;
		if (read_file(path, buf, sizeof buf) < 0 || sscanf(buf, "%u:%u", &maj, &min) != 2)
			return rec_step(r, "zram_node", -1);
		snprintf(zram_node, sizeof zram_node, "/smapsfmt-zram%d", zram_id);
		if (!rec_step(r, "zram_node", mknod(zram_node, S_IFBLK | 0600, makedev(maj, min))))
			return 0;
		zram_node_made = 1;
	}
	if (!rec_step(r, "mkswap", write_swap_header(zram_node, size / page_size)))
		return 0;
	/* The highest priority: the shape's pages go to this device, not to another swap. */
	long rc = syscall(SYS_swapon, zram_node, SWAP_FLAG_PREFER | 32767);
	zram_swapon = rc == 0;
	return rec_step(r, "swapon", rc);
}

/* Pages of [p, p + pages) that are swapped out, from /proc/self/pagemap (bit 62). */
static long count_swapped(char *p, size_t pages)
{
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	long swapped = 0;
	for (size_t i = 0; i < pages; i++) {
		uint64_t entry;
		off_t at = (off_t)(((uintptr_t)p / (uintptr_t)page_size + i) * sizeof entry);
		if (pread(fd, &entry, sizeof entry, at) != (ssize_t)sizeof entry) {
			close(fd);
			return -1;
		}
		swapped += (long)(entry >> 62 & 1);
	}
	close(fd);
	return swapped;
}

static void shape_swap(struct rec *r)
{
	size_t len = SWAP_PAGES * (size_t)page_size;
	pin_to_this_cpu(r);
	char *p = map_alone(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (!rec_step(r, "mmap", p ? 0 : -1))
		return;
	for (size_t i = 0; i < len; i++)
		p[i] = (char)(i * 7 + i / 4096);
	rec_step(r, "madv_pageout", madvise(p, len, MADV_PAGEOUT));
	long swapped = count_swapped(p, SWAP_PAGES);
	if (rec_step(r, "pagemap", swapped))
		rec_add(r, "swapped", "%ld", swapped);
	/* A second process: every swap entry then has two references (SwapPss is half). */
	pid_t pids[1] = {sharer(NULL, NULL)};
	rec_step(r, "fork", pids[0]);
	rec_range(r, p, len);
	rec_add(r, "pages", "%d", SWAP_PAGES);
	rec_add(r, "touched", "%d", SWAP_PAGES);
	add_sharers(r, pids, 1);
}

static long hugetlb_before = -1;

static int prepare_hugetlb(struct rec *r)
{
	long size_kb = proc_value("/proc/meminfo", "Hugepagesize");
	if (!rec_step(r, "hugetlb_meminfo", size_kb > 0 ? 0 : -1))
		return 0;
	long free_pages = proc_value("/proc/meminfo", "HugePages_Free");
	if (free_pages >= 1) {
		rec_add(r, "nr_hugepages", "enough");
		return 1;
	}
	hugetlb_before = read_number("/proc/sys/vm/nr_hugepages");
	char want[32];
	snprintf(want, sizeof want, "%ld", hugetlb_before + 1);
	if (!set_setting(r, "nr_hugepages", "/proc/sys/vm/nr_hugepages", want))
		return 0;
	if (proc_value("/proc/meminfo", "HugePages_Free") < 1) {
		errno = ENOMEM; /* the kernel found no free huge page */
		return rec_step(r, "hugetlb_reserve", -1);
	}
	return 1;
}

static void shape_hugetlb(struct rec *r)
{
	long size = proc_value("/proc/meminfo", "Hugepagesize") * 1024;
	char *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
	if (!rec_step(r, "mmap_hugetlb", p == MAP_FAILED ? -1 : 0))
		return;
	p[0] = 1;
	rec_range(r, p, (size_t)size);
	rec_add(r, "huge_kb", "%ld", size / 1024);
}

struct shape {
	const char *name;
	int system; /* changes system settings: with --system only */
	void (*setup)(struct rec *);
	int (*prepare)(struct rec *);          /* main process, before: 0 = not possible */
	void (*frozen)(struct rec *, pid_t);   /* main process, once the shape is stopped */
	int (*restore)(struct rec *);          /* main process, after, always */
};

static const struct shape shapes[] = {
	{"anon", 0, shape_anon, NULL, NULL, NULL},
	{"shared", 0, shape_shared, NULL, NULL, NULL},
	{"shmem", 0, shape_shmem, NULL, NULL, NULL},
	{"mlock", 0, shape_mlock, NULL, NULL, NULL},
	{"lazyfree", 0, shape_lazyfree, NULL, NULL, NULL},
	{"file", 0, shape_file, NULL, NULL, NULL},
	{"vmas", 0, shape_vmas, NULL, NULL, NULL},
	{"thp", 0, shape_thp, NULL, NULL, NULL},
	{"pkey", 0, shape_pkey, NULL, NULL, NULL},
	{"anon-name", 0, shape_anon_name, NULL, NULL, NULL},
	{"uffd", 0, shape_uffd, NULL, NULL, NULL},
	{"ksm", 1, shape_ksm, prepare_ksm, frozen_ksm, restore_settings},
	{"swap", 1, shape_swap, prepare_swap, NULL, restore_swap},
	{"hugetlb", 1, shape_hugetlb, prepare_hugetlb, NULL, restore_settings},
};
#define NSHAPES (sizeof shapes / sizeof *shapes)

/* --- the main process: run a shape, freeze it, read and print its files ---------------------- */

static pid_t live[SHARERS + 2];
static int nlive;

static pid_t group; /* the process group of the shape running: its process and sharers */

/* Kill the shape's processes and reap them (the sharers are children of this process too). */
static void kill_live(void)
{
	if (group > 0)
		kill(-group, SIGKILL);
	for (int i = 0; i < nlive; i++)
		if (live[i] > 0)
			kill(live[i], SIGKILL);
	while (waitpid(-1, NULL, 0) > 0 || errno == EINTR)
		;
	nlive = 0;
	group = 0;
}

static void on_signal(int sig)
{
	kill_live();
	restore_swap(NULL);
	restore_settings(NULL);
	signal(sig, SIG_DFL);
	raise(sig);
}

static char *read_proc(pid_t pid, const char *file, size_t *len, int *err)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = errno;
		return NULL;
	}
	size_t cap = 1 << 16;
	char *buf = malloc(cap);
	for (;;) {
		if (*len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*err = errno;
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	return buf;
}

static void put_frame(const char *shape, pid_t pid, const char *file, char *data, size_t len)
{
	char hex[65];
	sha256_hex((const unsigned char *)data, len, hex);
	outf("%s BEGIN %s %d %s %zu %s\n", PROTO, shape, (int)pid, file, len, hex);
	out_write(data, len);
	outf("%s END %s %s\n", PROTO, shape, file);
	free(data);
}

static char *read_or_note(pid_t pid, const char *file, size_t *len, struct rec *r)
{
	int err = 0;
	char *data = read_proc(pid, file, len, &err);
	if (!data) {
		errno = err;
		rec_step(r, file, -1);
	}
	return data;
}

/* smaps and smaps_rollup of a stopped process, as one pair. A stopped process's pages can
 * still change: another CPU draining its per-CPU LRU batches turns MADV_FREE pages into
 * LazyFree ones (mm/swap.c of 6.18: folio_mark_lazyfree queues the folio in the CPU's
 * lru_lazyfree batch, and lru_lazyfree, lru_lazyfree_fn in older kernels, clears its
 * swap-backed flag, which smaps counts as LazyFree, only when the batch is drained;
 * lru_add_drain_all drains every CPU's batch).
 * So smaps is read again after the rollup, and the pair is taken only when
 * both reads of smaps agree (nothing changed around the rollup's read); a few tries, then
 * the last reads as they are (the host's proof then says what differs). */
static void print_pair(const char *shape, pid_t pid, struct rec *r)
{
	size_t len = 0, rollup_len = 0, again_len = 0;
	char *smaps = read_or_note(pid, "smaps", &len, r);
	char *rollup = NULL;
	for (int tries = 0; smaps && tries < 5; tries++) {
		free(rollup);
		rollup = read_or_note(pid, "smaps_rollup", &rollup_len, r);
		char *again = rollup ? read_or_note(pid, "smaps", &again_len, r) : NULL;
		if (!again)
			break;
		int same = again_len == len && memcmp(again, smaps, len) == 0;
		free(smaps);
		smaps = again;
		len = again_len;
		if (same)
			break;
	}
	if (!smaps) /* no smaps to pair with: the rollup alone, as far as it reads */
		rollup = read_or_note(pid, "smaps_rollup", &rollup_len, r);
	else
		put_frame(shape, pid, "smaps", smaps, len);
	if (rollup)
		put_frame(shape, pid, "smaps_rollup", rollup, rollup_len);
}

/* Read the shape process's report from the pipe until every writer has closed it. */
static void read_report(int fd, struct rec *r)
{
	struct pollfd pfd = {fd, POLLIN, 0};
	for (;;) {
		int ready = poll(&pfd, 1, 60000);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready == 0) { /* a shape that hangs: killed, and reported as died */
			rec_add(r, "report", "ETIMEDOUT");
			kill(-group, SIGKILL);
			break;
		}
		size_t room = sizeof r->text - 1 - r->len;
		ssize_t n = read(fd, r->text + r->len, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		r->len += (size_t)n;
	}
	r->text[r->len] = 0;
}

static const char *signame(int sig)
{
	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGKILL: return "SIGKILL";
	case SIGABRT: return "SIGABRT";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	default: return "SIGNAL";
	}
}

/* Wait until `pid` stops; 1 when it did, else 0 with its end in the record. */
static int wait_stopped(pid_t pid, struct rec *r)
{
	int status;
	pid_t got;
	while ((got = waitpid(pid, &status, WUNTRACED)) < 0 && errno == EINTR)
		;
	if (got == pid && WIFSTOPPED(status))
		return 1;
	if (got == pid && WIFSIGNALED(status))
		rec_add(r, "died", "%s", signame(WTERMSIG(status)));
	else if (got == pid)
		rec_add(r, "died", "exit%d", WEXITSTATUS(status));
	else
		rec_add(r, "died", "%s", errname(errno));
	for (int i = 0; i < nlive; i++)
		if (live[i] == pid)
			live[i] = 0; /* reaped */
	return 0;
}

/* The shape process: set the shape up, report to the main process through `fd`, stop. */
static void __attribute__((noreturn)) shape_process(const struct shape *s, int fd, int exec_errno)
{
	struct rec r = {.len = 0};
	report_fd = fd;
	if (exec_errno) {
		errno = exec_errno;
		rec_step(&r, "exec", -1);
	}
	/* No transparent huge pages but in the thp shape: the other shapes count base pages, and
	 * a large folio would map more than was touched. Kept across exec and fork. */
	if (s->setup != shape_thp)
		rec_step(&r, "thp_disable", prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
	s->setup(&r);
	size_t off = 0;
	while (off < r.len) {
		ssize_t n = write(fd, r.text + off, r.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	stop_self();
}

static void run_shape(const struct shape *s)
{
	struct rec main_rec = {.len = 0}, child_rec = {.len = 0};
	int possible = s->prepare ? s->prepare(&main_rec) : 1;
	pid_t pid = -1;
	int stopped = 0;
	if (possible) {
		int fds[2];
		if (pipe2(fds, O_CLOEXEC) < 0) {
			rec_step(&main_rec, "pipe", -1);
		} else {
			fflush(stdout);
			pid = fork();
			if (pid == 0) {
				/* A fresh address space (exec): the shape process shares no
				 * copy-on-write page with this one, whose own writes would
				 * otherwise change the shape's Shared and Private lines
				 * between the reads of smaps and smaps_rollup. */
				char fd_text[16];
				prctl(PR_SET_PDEATHSIG, SIGKILL); /* kept across exec */
				setpgid(0, 0);
				close(fds[0]);
				fcntl(fds[1], F_SETFD, 0);
				snprintf(fd_text, sizeof fd_text, "%d", fds[1]);
				char *args[] = {"shaper", "--shape-process", (char *)s->name, fd_text, NULL};
				execv("/proc/self/exe", args);
				shape_process(s, fds[1], errno); /* no exec: run it here */
			}
			close(fds[1]);
			if (pid < 0) {
				rec_step(&main_rec, "fork", -1);
			} else {
				live[nlive++] = pid;
				setpgid(pid, pid); /* as the child does: whichever runs first */
				group = pid;
				read_report(fds[0], &child_rec);
			}
			close(fds[0]);
		}
	}
	if (pid > 0) {
		/* The sharers the shape made, from its record, are the main process's children. */
		const char *list = strstr(child_rec.text, " sharer_pids=");
		for (const char *q = list ? list + 13 : NULL; q && *q && *q != ' ';) {
			long other = strtol(q, (char **)&q, 10);
			if (other > 0 && nlive < (int)(sizeof live / sizeof *live))
				live[nlive++] = (pid_t)other;
			if (*q == ',')
				q++;
			else
				break;
		}
		stopped = 1;
		for (int i = 0; i < nlive; i++)
			stopped &= wait_stopped(live[i], &main_rec);
	}
	if (stopped) {
		if (s->frozen)
			s->frozen(&main_rec, pid);
		print_pair(s->name, pid, &main_rec);
	} else if (pid > 0) {
		failures++;
	}
	kill_live();
	if (s->restore && !s->restore(&main_rec))
		failures++;
	outf("%s SHAPE %s pid=%d status=%s%s%s\n", PROTO, s->name, (int)pid,
	     stopped ? "ok" : possible ? "died" : "impossible", main_rec.text, child_rec.text);
}

static void usage(FILE *to)
{
	fprintf(to, "usage: shaper [--system] [--list] [SHAPE ...]\n");
}

int main(int argc, char **argv)
{
	page_size = sysconf(_SC_PAGESIZE);
	int system = 0, list = 0, chosen[NSHAPES] = {0}, any = 0;
	if (argc == 4 && strcmp(argv[1], "--shape-process") == 0) {
		for (size_t k = 0; k < NSHAPES; k++)
			if (strcmp(shapes[k].name, argv[2]) == 0)
				shape_process(&shapes[k], atoi(argv[3]), 0);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--system") == 0) {
			system = 1;
			continue;
		}
		if (strcmp(argv[i], "--list") == 0) {
			list = 1;
			continue;
		}
		if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		size_t k = 0;
		while (k < NSHAPES && strcmp(shapes[k].name, argv[i]) != 0)
			k++;
		if (k == NSHAPES) {
			fprintf(stderr, "shaper: unknown shape or option %s\n", argv[i]);
			usage(stderr);
			return 2;
		}
		chosen[k] = any = 1;
	}
	if (list) {
		for (size_t k = 0; k < NSHAPES; k++)
			printf("%s %s\n", shapes[k].name, shapes[k].system ? "system" : "plain");
		return 0;
	}
	for (size_t k = 0; k < NSHAPES; k++) {
		if (!any)
			chosen[k] = !shapes[k].system || system;
		if (chosen[k] && shapes[k].system && !system) {
			fprintf(stderr, "shaper: shape %s changes system settings: give --system\n",
				shapes[k].name);
			return 2;
		}
	}
	if (system && geteuid() != 0) {
		fprintf(stderr, "shaper: --system needs root\n");
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct utsname u;
	uname(&u);
	struct rec k = {.len = 0};
	rec_text(&k, "release", u.release, strlen(u.release));
	rec_text(&k, "machine", u.machine, strlen(u.machine));
	rec_add(&k, "page_size", "%ld", page_size);
	rec_add(&k, "uid", "%d", (int)geteuid());
	rec_add(&k, "word_size", "%d", (int)(8 * sizeof(long)));
	rec_add(&k, "cpus", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	outf("%s KERNEL%s\n", PROTO, k.text);
	int ran = 0;
	for (size_t i = 0; i < NSHAPES; i++)
		if (chosen[i]) {
			run_shape(&shapes[i]);
			ran++;
		}
	outf("%s DONE shapes=%d failures=%d\n", PROTO, ran, failures);
	return failures ? 1 : 0;
}
