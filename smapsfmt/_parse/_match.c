/* smapsfmt._parse._match: runs the fast path's entry patterns in C and builds their models.
 *
 * This module knows nothing of the smaps format. smapsfmt._parse.accel translates a compiled Python
 * regular expression (an entry pattern of smapsfmt._parse.fast, composed from the grammar's own
 * terminals) into a program of a few node kinds, and says what to do with each capture group:
 * which attribute of which class it fills, and how it is converted. A Program matches entries
 * one after another, with the backtracking semantics of Python's re for these node kinds, and
 * builds one object per entry (or appends the converted values to lists, column by column).
 * It stops at the first entry its pattern does not match, and gives up (status 1) where a
 * conversion is beyond it, leaving that entry to the Python code.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

enum { OP_LIT, OP_SET, OP_REP, OP_OPEN, OP_CLOSE, OP_ALT, OP_END, OP_LOOK, OP_SPAN };
enum { K_SKIP, K_HEX, K_DEC, K_TEXT, K_PATH, K_DEVICE, K_FIELD, K_FLAGS, K_RAW, K_LEN };
enum { ST_STOP = 0, ST_GIVE_UP = 1 };
/* How a repetition runs: backtracking; never giving back; giving back whole iterations. */
enum { REP_GENERAL, REP_KEEP, REP_ITERATE };
/* How alternatives run: each with what follows, backtracking; or, where at most one can match
 * at any place and in one way only, the first that matches, with no choice left open. */
enum { ALT_GENERAL, ALT_EXCLUSIVE };

#define MAX_DEPTH 4000
#define MEMO 256 /* slots of the memo of converted texts: a power of 2 */
#define LOCAL_MARKS 128 /* marks kept on the stack: patterns of up to 63 groups */

#define IN_SET(set, c) ((set)[(c) >> 3] & (1u << ((c) & 7)))

typedef struct Node Node;
typedef struct {
    Py_ssize_t n;
    int simple; /* only literals, sets and runs never given back, none captured */
    Node *v;
} Seq;

/* Nodes are kept small (the whole program of an entry stays in the first-level cache): the
 * 256-byte tables of the sets are shared within a program (see Tables). */
struct Node {
    int op;
    int mode;       /* OP_REP: REP_*; OP_ALT: ALT_* (see smapsfmt._parse.accel) */
    int one_set;    /* OP_REP: the body is one set, which `table` and `single` describe */
    int single;     /* OP_SET, one-set OP_REP, OP_SPAN: the set's one character, or -1 */
    int stops;      /* the same: 1 or 2 when the set lacks only those characters, else 0 */
    unsigned char stop[2];
    const unsigned char *table; /* the set, one byte per character (faster to test) */
    Py_ssize_t min, max; /* OP_REP; max < 0: unbounded */
    Py_ssize_t group;    /* OP_OPEN, OP_CLOSE */
    unsigned char *lit;
    Py_ssize_t litlen;
    Seq body;        /* OP_REP, OP_LOOK */
    Py_ssize_t nalts; /* OP_ALT */
    Seq *alts;
    Py_ssize_t hint; /* OP_ALT exclusive: the branch that matched last, tried first */
};

/* The distinct sets of a program, one 256-byte table each. */
typedef struct {
    unsigned char **v;
    Py_ssize_t n;
} Tables;

static void free_tables(Tables *tables) {
    for (Py_ssize_t i = 0; i < tables->n; i++)
        PyMem_Free(tables->v[i]);
    PyMem_Free(tables->v);
    tables->v = NULL;
    tables->n = 0;
}

/* The shared table of the 32-byte set `bits`. */
static const unsigned char *table_of(Tables *tables, const unsigned char *bits) {
    unsigned char table[256];
    for (int c = 0; c < 256; c++)
        table[c] = IN_SET(bits, c) ? 1 : 0;
    for (Py_ssize_t i = 0; i < tables->n; i++)
        if (memcmp(tables->v[i], table, 256) == 0)
            return tables->v[i];
    unsigned char **v = PyMem_Realloc(tables->v, (size_t)(tables->n + 1) * sizeof *v);
    if (!v) {
        PyErr_NoMemory();
        return NULL;
    }
    tables->v = v;
    if (!(v[tables->n] = PyMem_Malloc(256))) {
        PyErr_NoMemory();
        return NULL;
    }
    memcpy(v[tables->n], table, 256);
    return v[tables->n++];
}


/* ---- building a program from its description (nested tuples, see smapsfmt._parse.accel) ---- */

static void free_seq(Seq *seq);

static void free_node(Node *n) {
    PyMem_Free(n->lit);
    free_seq(&n->body);
    for (Py_ssize_t i = 0; i < n->nalts; i++)
        free_seq(&n->alts[i]);
    PyMem_Free(n->alts);
}

static void free_seq(Seq *seq) {
    for (Py_ssize_t i = 0; i < seq->n; i++)
        free_node(&seq->v[i]);
    PyMem_Free(seq->v);
    seq->v = NULL;
    seq->n = 0;
}

static int build_seq(PyObject *spec, Seq *seq, int depth, Tables *tables);

/* What run_length needs of a set: its one member, or the one or two characters it lacks
 * (a name or a path runs to the end of its line). */
static void describe_set(Node *n) {
    int members = 0, missing = 0;
    n->single = -1;
    for (int c = 0; c < 256; c++) {
        if (n->table[c]) {
            if (++members == 1)
                n->single = c;
        } else if (++missing <= 2) {
            n->stop[missing - 1] = (unsigned char)c;
        }
    }
    if (members != 1)
        n->single = -1;
    n->stops = missing <= 2 ? missing : 0;
}

static int build_node(PyObject *spec, Node *n, int depth, Tables *tables) {
    memset(n, 0, sizeof *n);
    if (!PyTuple_Check(spec) || PyTuple_GET_SIZE(spec) < 1) {
        PyErr_SetString(PyExc_ValueError, "a node is a tuple (op, ...)");
        return -1;
    }
    n->op = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 0));
    Py_ssize_t size = PyTuple_GET_SIZE(spec);
    PyObject *a = size > 1 ? PyTuple_GET_ITEM(spec, 1) : NULL;
    switch (n->op) {
    case OP_LIT:
    case OP_SET: {
        char *text;
        Py_ssize_t len;
        if (!a || PyBytes_AsStringAndSize(a, &text, &len) < 0)
            return -1;
        if (n->op == OP_SET) {
            if (len != 32) {
                PyErr_SetString(PyExc_ValueError, "a set is 32 bytes");
                return -1;
            }
            if (!(n->table = table_of(tables, (const unsigned char *)text)))
                return -1;
            describe_set(n);
        } else {
            if (len < 1) {
                PyErr_SetString(PyExc_ValueError, "an empty literal");
                return -1;
            }
            n->lit = PyMem_Malloc((size_t)len);
            if (!n->lit) {
                PyErr_NoMemory();
                return -1;
            }
            memcpy(n->lit, text, (size_t)len);
            n->litlen = len;
        }
        return 0;
    }
    case OP_REP:
        if (size != 5) {
            PyErr_SetString(PyExc_ValueError, "(REP, min, max, mode, body)");
            return -1;
        }
        n->min = PyLong_AsSsize_t(a);
        n->max = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, 2));
        n->mode = (int)PyLong_AsLong(PyTuple_GET_ITEM(spec, 3));
        if (PyErr_Occurred())
            return -1;
        if (n->mode < REP_GENERAL || n->mode > REP_ITERATE) {
            PyErr_SetString(PyExc_ValueError, "a repetition's mode is 0, 1 or 2");
            return -1;
        }
        if (build_seq(PyTuple_GET_ITEM(spec, 4), &n->body, depth + 1, tables) < 0)
            return -1;
        if (n->body.n == 1 && n->body.v[0].op == OP_SET) {
            n->one_set = 1;
            n->table = n->body.v[0].table;
            n->single = n->body.v[0].single;
            n->stops = n->body.v[0].stops;
            memcpy(n->stop, n->body.v[0].stop, sizeof n->stop);
        }
        return 0;
    case OP_OPEN:
    case OP_CLOSE:
        n->group = a ? PyLong_AsSsize_t(a) : -1;
        if (n->group < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "a group number");
            return -1;
        }
        return 0;
    case OP_ALT: { /* (ALT, (seq, ...)[, mode]) */
        if (!a || !PyTuple_Check(a) || size > 3) {
            PyErr_SetString(PyExc_ValueError, "(ALT, (seq, ...)[, mode])");
            return -1;
        }
        if (size == 3) {
            long mode = PyLong_AsLong(PyTuple_GET_ITEM(spec, 2));
            if (mode != ALT_GENERAL && mode != ALT_EXCLUSIVE) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "an alternation's mode is 0 or 1");
                return -1;
            }
            n->mode = (int)mode;
        }
        n->nalts = PyTuple_GET_SIZE(a);
        n->alts = PyMem_Calloc((size_t)n->nalts + 1, sizeof(Seq));
        if (!n->alts) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < n->nalts; i++)
            if (build_seq(PyTuple_GET_ITEM(a, i), &n->alts[i], depth + 1, tables) < 0)
                return -1;
        return 0;
    }
    case OP_END:
        return 0;
    case OP_SPAN: { /* (SPAN, literal, set, min, max, group or -1) */
        char *text, *bits;
        Py_ssize_t len, nbits;
        if (size != 6 || PyBytes_AsStringAndSize(a, &text, &len) < 0 ||
            PyBytes_AsStringAndSize(PyTuple_GET_ITEM(spec, 2), &bits, &nbits) < 0 || nbits != 32) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "(SPAN, literal, set, min, max, group)");
            return -1;
        }
        if (len) {
            if (!(n->lit = PyMem_Malloc((size_t)len))) {
                PyErr_NoMemory();
                return -1;
            }
            memcpy(n->lit, text, (size_t)len);
            n->litlen = len;
        }
        if (!(n->table = table_of(tables, (const unsigned char *)bits)))
            return -1;
        describe_set(n);
        n->min = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, 3));
        n->max = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, 4));
        n->group = PyLong_AsSsize_t(PyTuple_GET_ITEM(spec, 5));
        return PyErr_Occurred() ? -1 : 0;
    }
    case OP_LOOK:
        if (!a) {
            PyErr_SetString(PyExc_ValueError, "(LOOK, seq)");
            return -1;
        }
        return build_seq(a, &n->body, depth + 1, tables);
    }
    PyErr_Format(PyExc_ValueError, "unknown node %d", n->op);
    return -1;
}

static int build_seq(PyObject *spec, Seq *seq, int depth, Tables *tables) {
    seq->n = 0;
    seq->v = NULL;
    if (depth > 64) {
        PyErr_SetString(PyExc_ValueError, "nodes nested too deep");
        return -1;
    }
    if (!PyTuple_Check(spec)) {
        PyErr_SetString(PyExc_ValueError, "a sequence is a tuple of nodes");
        return -1;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(spec);
    seq->v = PyMem_Calloc((size_t)n + 1, sizeof(Node));
    if (!seq->v) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        seq->n = i + 1; /* what free_seq frees if this node fails half built */
        if (build_node(PyTuple_GET_ITEM(spec, i), &seq->v[i], depth, tables) < 0)
            return -1;
    }
    seq->n = n;
    seq->simple = 1;
    for (Py_ssize_t i = 0; i < n; i++) {
        const Node *node = &seq->v[i];
        int kept_run = (node->op == OP_REP && node->one_set && node->mode == REP_KEEP) ||
                       (node->op == OP_SPAN && node->group < 0);
        if (node->op != OP_LIT && node->op != OP_SET && !kept_run)
            seq->simple = 0;
    }
    return 0;
}

/* ---- matching ---- */

typedef struct Cont {
    const Seq *seq; /* resume this sequence at index i ... */
    Py_ssize_t i;
    const Node *rep; /* ... or, when rep is set, go on with iteration `count` of rep */
    Py_ssize_t count;
    Py_ssize_t from; /* where that iteration started */
    const struct Cont *next;
} Cont;

typedef struct {
    const unsigned char *s;
    Py_ssize_t end;
    Py_ssize_t *marks; /* 2 per group, -1 when unset */
    Py_ssize_t *trail; /* (index, old value) pairs, undone on backtracking */
    Py_ssize_t trail_len, trail_cap;
    int depth;
    int overflow;
    int choices; /* backtracking points open: marks set meanwhile must be undoable */
} State;

static Py_ssize_t run(State *st, const Seq *seq, Py_ssize_t i, Py_ssize_t pos, const Cont *k);

/* How many characters from `from` (at most `limit`) are in the set of n (a one-set repetition
 * or a span): a run of one character, or of all but one or two, is scanned eight bytes at a
 * time (a byte equal to the one, or to one of the two, is found as a zero byte of a XOR). */
static inline Py_ssize_t run_length(const Node *n, const unsigned char *from, Py_ssize_t limit) {
    Py_ssize_t c = 0;
    const Py_ssize_t avail = limit; /* the bytes there are to read */
    if (n->max >= 0 && n->max < limit)
        limit = n->max;
#if defined(__GNUC__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    if (n->single >= 0) {
        uint64_t eight = ones * (uint64_t)n->single;
        while (c + 8 <= limit) {
            uint64_t word;
            memcpy(&word, from + c, 8);
            if (word != eight)
                return c + (__builtin_ctzll(word ^ eight) >> 3); /* the first other byte */
            c += 8;
        }
        if (c < limit && c + 8 <= avail) { /* under 8 left to count, read as one word */
            uint64_t word;
            memcpy(&word, from + c, 8);
            Py_ssize_t k = word != eight ? __builtin_ctzll(word ^ eight) >> 3 : 8;
            return c + (k < limit - c ? k : limit - c);
        }
    } else if (n->stops) {
        uint64_t a = ones * n->stop[0], b = ones * n->stop[n->stops - 1];
        while (c + 8 <= limit) {
            uint64_t word;
            memcpy(&word, from + c, 8);
            uint64_t x = word ^ a, y = word ^ b;
            uint64_t hit = ((x - ones) & ~x & highs) | ((y - ones) & ~y & highs);
            if (hit) /* its lowest bit marks the first stop exactly */
                return c + (__builtin_ctzll(hit) >> 3);
            c += 8;
        }
    }
#endif
    while (c < limit && n->table[from[c]])
        c++;
    return c;
}

/* The literal at `at`, compared 8 bytes at a time (labels are short; no call to memcmp): the
 * last 8 (or 4) bytes as one word that may overlap the words before. */
static inline int same(const unsigned char *at, const unsigned char *lit, Py_ssize_t len) {
    if (len >= 8) {
        uint64_t a, b;
        for (Py_ssize_t i = 0; i < len - 8; i += 8) {
            memcpy(&a, at + i, 8);
            memcpy(&b, lit + i, 8);
            if (a != b)
                return 0;
        }
        memcpy(&a, at + len - 8, 8);
        memcpy(&b, lit + len - 8, 8);
        return a == b;
    }
    if (len >= 4) {
        uint32_t a, b, y, z;
        memcpy(&a, at, 4);
        memcpy(&b, lit, 4);
        memcpy(&y, at + len - 4, 4);
        memcpy(&z, lit + len - 4, 4);
        return a == b && y == z;
    }
    while (len-- > 0)
        if (*at++ != *lit++)
            return 0;
    return 1;
}

static void undo(State *st, Py_ssize_t height) {
    while (st->trail_len > height) {
        st->trail_len -= 2;
        st->marks[st->trail[st->trail_len]] = st->trail[st->trail_len + 1];
    }
}

static Py_ssize_t rep(State *st, const Node *n, Py_ssize_t count, Py_ssize_t pos,
                      const Cont *after);

static Py_ssize_t resume(State *st, const Cont *k, Py_ssize_t pos) {
    if (!k)
        return pos;
    if (k->rep) {
        if (pos == k->from) /* an empty iteration: re stops repeating */
            return k->count - 1 >= k->rep->min ? resume(st, k->next, pos) : -1;
        return rep(st, k->rep, k->count, pos, k->next);
    }
    return run(st, k->seq, k->i, pos, k->next);
}

/* Greedy repetition of a sequence: iteration number `count` + 1 if allowed, else what follows. */
static Py_ssize_t rep(State *st, const Node *n, Py_ssize_t count, Py_ssize_t pos,
                      const Cont *after) {
    if (++st->depth > MAX_DEPTH) {
        st->overflow = 1;
        st->depth--;
        return -1;
    }
    Py_ssize_t r = -1;
    Py_ssize_t height = st->trail_len;
    if (n->max < 0 || count < n->max) {
        Cont c = {NULL, 0, n, count + 1, pos, after};
        st->choices++;
        r = run(st, &n->body, 0, pos, &c);
        st->choices--;
        if (r >= 0 || st->overflow)
            goto done;
        undo(st, height);
    }
    r = count >= n->min ? resume(st, after, pos) : -1;
done:
    st->depth--;
    return r;
}

/* A repetition of a body that matches in one way (see smapsfmt._parse.accel): its iterations are
 * taken one after another, and only whole iterations are given back, last first, until what
 * follows (seq from i + 1, then k) matches. No recursion per iteration. */
static Py_ssize_t iterate(State *st, const Node *n, const Seq *seq, Py_ssize_t i, Py_ssize_t pos,
                          const Cont *k) {
    /* Where each iteration ended, and the height of the trail then. */
    Py_ssize_t local[2 * 32], *at = local, cap = 32, count = 0, r = -1;
    at[0] = pos;
    at[1] = st->trail_len;
    st->choices++;
    while (n->max < 0 || count < n->max) {
        Py_ssize_t e = run(st, &n->body, 0, at[2 * count], NULL);
        if (e == at[2 * count])
            st->overflow = 1; /* an empty iteration: not this module's case */
        if (st->overflow)
            break;
        if (e < 0) {
            undo(st, at[2 * count + 1]);
            break;
        }
        if (count + 1 == cap) {
            Py_ssize_t *more = PyMem_Malloc((size_t)(4 * cap) * sizeof(Py_ssize_t));
            if (!more) {
                st->overflow = 1; /* out of memory: give up, the caller decides */
                break;
            }
            memcpy(more, at, (size_t)(2 * cap) * sizeof(Py_ssize_t));
            if (at != local)
                PyMem_Free(at);
            at = more;
            cap *= 2;
        }
        count++;
        at[2 * count] = e;
        at[2 * count + 1] = st->trail_len;
    }
    for (; !st->overflow && count >= n->min; count--) {
        undo(st, at[2 * count + 1]);
        r = run(st, seq, i + 1, at[2 * count], k);
        if (r >= 0)
            break;
    }
    st->choices--;
    if (at != local)
        PyMem_Free(at);
    return st->overflow ? -1 : r;
}

static int set_mark(State *st, Py_ssize_t index, Py_ssize_t pos) {
    if (!st->choices) {
        st->marks[index] = pos;
        return 0;
    }
    if (st->trail_len + 2 > st->trail_cap) {
        Py_ssize_t cap = st->trail_cap * 2 + 64;
        Py_ssize_t *t = PyMem_Realloc(st->trail, (size_t)cap * sizeof(Py_ssize_t));
        if (!t)
            return -1;
        st->trail = t;
        st->trail_cap = cap;
    }
    st->trail[st->trail_len++] = index;
    st->trail[st->trail_len++] = st->marks[index];
    st->marks[index] = pos;
    return 0;
}

/* A simple sequence (see Seq) needs neither recursion nor marks: its end, or -1. */
static Py_ssize_t run_simple(const State *st, const Seq *seq, Py_ssize_t pos) {
    const unsigned char *s = st->s;
    const Py_ssize_t end = st->end;
    for (Py_ssize_t i = 0; i < seq->n; i++) {
        const Node *n = &seq->v[i];
        if (n->op == OP_SET) {
            if (pos >= end || !n->table[s[pos]])
                return -1;
            pos++;
            continue;
        }
        if (n->op == OP_LIT || n->op == OP_SPAN) {
            if (end - pos < n->litlen || !same(s + pos, n->lit, n->litlen))
                return -1;
            pos += n->litlen;
            if (n->op == OP_LIT)
                continue;
        }
        Py_ssize_t c = run_length(n, s + pos, end - pos); /* a span's run, or a kept one */
        if (c < n->min)
            return -1;
        pos += c;
    }
    return pos;
}

static Py_ssize_t run(State *st, const Seq *seq, Py_ssize_t i, Py_ssize_t pos, const Cont *k) {
    if (++st->depth > MAX_DEPTH) {
        st->overflow = 1;
        st->depth--;
        return -1;
    }
    const unsigned char *s = st->s;
    const Py_ssize_t end = st->end;
    Py_ssize_t r = -1;
    for (; i < seq->n; i++) {
        const Node *n = &seq->v[i];
        switch (n->op) {
        case OP_LIT:
            if (end - pos < n->litlen || !same(s + pos, n->lit, n->litlen))
                goto fail;
            pos += n->litlen;
            continue;
        case OP_SET:
            if (pos >= end || !n->table[s[pos]])
                goto fail;
            pos++;
            continue;
        case OP_END:
            if (pos != end)
                goto fail;
            continue;
        case OP_OPEN:
        case OP_CLOSE:
            if (set_mark(st, 2 * n->group + (n->op == OP_CLOSE), pos) < 0) {
                st->overflow = 1; /* out of memory: give up, the caller decides */
                goto fail;
            }
            continue;
        case OP_LOOK:
            if (run(st, &n->body, 0, pos, NULL) < 0)
                goto fail;
            continue;
        case OP_SPAN: { /* a literal, then a run never given back, captured or not */
            if (end - pos < n->litlen || !same(s + pos, n->lit, n->litlen))
                goto fail;
            pos += n->litlen;
            Py_ssize_t c = run_length(n, s + pos, end - pos);
            if (c < n->min)
                goto fail;
            if (n->group >= 0 && (set_mark(st, 2 * n->group, pos) < 0 ||
                                  set_mark(st, 2 * n->group + 1, pos + c) < 0)) {
                st->overflow = 1; /* out of memory: give up, the caller decides */
                goto fail;
            }
            pos += c;
            continue;
        }
        case OP_REP:
            if (n->one_set) {
                Py_ssize_t c = run_length(n, s + pos, end - pos);
                if (c < n->min)
                    goto fail;
                if (n->mode == REP_KEEP) {
                    pos += c;
                    continue;
                }
                Py_ssize_t height = st->trail_len; /* marks set from here on are undone */
                st->choices++;
                for (; c >= n->min; c--) {
                    r = run(st, seq, i + 1, pos + c, k);
                    if (r >= 0 || st->overflow)
                        break;
                    undo(st, height);
                }
                st->choices--;
                if (r >= 0 || st->overflow)
                    goto done;
                goto fail;
            } else if (n->mode == REP_KEEP) {
                /* A body that matches in one way, whose iterations are never given back
                 * (see smapsfmt._parse.accel): they are taken one after another, and no choice
                 * stays open for what follows. */
                Py_ssize_t count = 0;
                st->choices++;
                while (n->max < 0 || count < n->max) {
                    Py_ssize_t height = st->trail_len;
                    Py_ssize_t e = run(st, &n->body, 0, pos, NULL);
                    if (e == pos)
                        st->overflow = 1; /* an empty iteration: not this module's case */
                    if (e < 0 || st->overflow) {
                        undo(st, height);
                        break;
                    }
                    pos = e;
                    count++;
                }
                st->choices--;
                if (st->overflow || count < n->min)
                    goto fail;
                continue;
            } else if (n->mode == REP_ITERATE) {
                r = iterate(st, n, seq, i, pos, k);
                goto done;
            } else {
                Cont after = {seq, i + 1, NULL, 0, 0, k};
                r = rep(st, n, 0, pos, &after);
                goto done;
            }
        case OP_ALT: {
            if (n->mode == ALT_EXCLUSIVE) { /* the branch that matches, alone */
                /* At most one branch can match here, so the order they are tried in does not
                 * change the result: the one that matched last is tried first (the same
                 * field of the entries before this one is often printed alike). */
                const Py_ssize_t first = n->hint;
                if (n->nalts == 0)
                    goto fail;
                Py_ssize_t e = n->alts[first].simple ? run_simple(st, &n->alts[first], pos)
                                                     : run(st, &n->alts[first], 0, pos, NULL);
                for (Py_ssize_t a = 0; a < n->nalts && e < 0 && !st->overflow; a++) {
                    if (a == first)
                        continue;
                    e = n->alts[a].simple ? run_simple(st, &n->alts[a], pos)
                                          : run(st, &n->alts[a], 0, pos, NULL);
                    if (e >= 0)
                        ((Node *)n)->hint = a; /* a hint only: any branch would be right */
                }
                if (e < 0)
                    goto fail;
                pos = e;
                continue;
            }
            Cont after = {seq, i + 1, NULL, 0, 0, k};
            Py_ssize_t height = st->trail_len; /* marks set from here on are undone */
            st->choices++;
            for (Py_ssize_t a = 0; a < n->nalts; a++) {
                r = run(st, &n->alts[a], 0, pos, &after);
                if (r >= 0 || st->overflow)
                    break;
                undo(st, height);
            }
            st->choices--;
            if (r >= 0 || st->overflow)
                goto done;
            goto fail;
        }
        default:
            goto fail;
        }
    }
    r = resume(st, k, pos);
    goto done;
fail:
    r = -1;
done:
    st->depth--;
    return r;
}

/* A memo of converted texts: the same perms, paths and flags repeat across entries, and
 * across the runs of one program (a sampler parses the same process again and again). A slot
 * is chosen by a hash of the kind and the text, and a new text takes the slot over: the many
 * distinct paths of a process do not push its few flags and perms out. The values are
 * immutable; each is kept with its own copy of the text it came from. */
typedef struct {
    PyObject *text;  /* bytes: the text converted */
    Py_ssize_t kind; /* the conversion: the same text converts differently by kind */
    PyObject *value;
} Memo;

typedef struct {
    Memo m[MEMO];
} Memos;

static Memo *memo_slot(Memos *memos, Py_ssize_t kind, const unsigned char *at, Py_ssize_t len) {
    const uint64_t k = 0x9e3779b97f4a7c15ULL; /* mixed in eight bytes at a time */
    uint64_t h = ((uint64_t)kind << 32 ^ (uint64_t)len) * k;
    for (; len >= 8; at += 8, len -= 8) {
        uint64_t word;
        memcpy(&word, at, 8);
        h = (h ^ word) * k;
        h ^= h >> 29;
    }
    uint64_t rest = 0;
    memcpy(&rest, at, (size_t)len);
    h = (h ^ rest) * k;
    return &memos->m[(h ^ (h >> 32)) & (MEMO - 1)];
}

static PyObject *memo_get(Memo *m, Py_ssize_t kind, const unsigned char *at, Py_ssize_t len) {
    if (m->value && m->kind == kind && PyBytes_GET_SIZE(m->text) == len &&
        memcmp(PyBytes_AS_STRING(m->text), at, (size_t)len) == 0) {
        Py_INCREF(m->value);
        return m->value;
    }
    return NULL;
}

static int memo_put(Memo *m, Py_ssize_t kind, const unsigned char *at, Py_ssize_t len,
                    PyObject *value) {
    PyObject *text;
    if (PyBytes_CheckExact(value)) { /* a pathname: the value is its own text */
        text = value;
        Py_INCREF(text);
    } else if (!(text = PyBytes_FromStringAndSize((const char *)at, len))) {
        return -1;
    }
    Py_XSETREF(m->text, text);
    m->kind = kind;
    Py_INCREF(value);
    Py_XSETREF(m->value, value);
    return 0;
}

static void memo_clear(Memos *memos) {
    for (int i = 0; i < MEMO; i++) {
        Py_CLEAR(memos->m[i].value);
        Py_CLEAR(memos->m[i].text);
    }
}

/* ---- the Program object ---- */

typedef struct {
    PyObject_HEAD
    Seq seq;
    Tables tables;
    Py_ssize_t ngroups;
    Py_ssize_t *kind;   /* per group: K_* */
    Py_ssize_t *arg;    /* per group: slot index, or label index for K_FIELD */
    Py_ssize_t *arg2;   /* per group: second slot (K_DEVICE minor) or -1 */
    PyTypeObject *cls;  /* NULL: columns only */
    Py_ssize_t nslots;
    Py_ssize_t *offset; /* per slot: the member's offset in cls */
    PyObject *labels;   /* tuple of str */
    PyObject *template; /* dict: label -> None, copied for each entry */
    PyObject *constants; /* tuple of (slot, value) */
    Py_ssize_t *constant_slot; /* the slot of each constant, read once */
    Py_ssize_t line_slot, fields_slot;
    Py_ssize_t lines; /* lines per entry; 0: as many as each entry's newlines */
    Py_ssize_t max_hex; /* hex numbers longer than this: give up */
    Memos memos;
    /* entire(): the last entry it built, for the next call (a sampler reads the same file
     * again and again, most of its fields printed alike): the data it was in, its fields,
     * and where each field group's text was in that data (length -1: not there). */
    PyObject *kept_data;
    PyObject *kept_fields;
    Py_ssize_t *kept_at, *kept_len;
} Program;

static void Program_dealloc(Program *self) {
    memo_clear(&self->memos);
    free_seq(&self->seq);
    free_tables(&self->tables);
    PyMem_Free(self->kind);
    PyMem_Free(self->arg);
    PyMem_Free(self->arg2);
    PyMem_Free(self->offset);
    PyMem_Free(self->constant_slot);
    PyMem_Free(self->kept_at);
    PyMem_Free(self->kept_len);
    Py_XDECREF(self->kept_data);
    Py_XDECREF(self->kept_fields);
    Py_XDECREF(self->cls);
    Py_XDECREF(self->labels);
    Py_XDECREF(self->template);
    Py_XDECREF(self->constants);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Program_init(Program *self, PyObject *args, PyObject *kwargs) {
    static char *names[] = {"nodes", "groups", "recipe", "cls", "slots", "labels",
                            "constants", "line_slot", "fields_slot", "lines", "max_hex",
                            NULL};
    PyObject *nodes, *recipe, *cls, *slots, *labels, *constants;
    Py_ssize_t groups;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OnOOOO!O!nnnn", names, &nodes, &groups,
                                     &recipe, &cls, &slots, &PyTuple_Type, &labels,
                                     &PyTuple_Type, &constants, &self->line_slot,
                                     &self->fields_slot, &self->lines, &self->max_hex))
        return -1;
    if (self->kind) {
        PyErr_SetString(PyExc_TypeError, "a Program is built once");
        return -1;
    }
    if (build_seq(nodes, &self->seq, 0, &self->tables) < 0)
        return -1;
    if (!PyTuple_Check(recipe) || PyTuple_GET_SIZE(recipe) != groups + 1) {
        PyErr_SetString(PyExc_ValueError, "recipe: one (kind, arg, arg2) per group, from 0");
        return -1;
    }
    self->ngroups = groups;
    self->kind = PyMem_Calloc((size_t)groups + 1, sizeof(Py_ssize_t));
    self->arg = PyMem_Calloc((size_t)groups + 1, sizeof(Py_ssize_t));
    self->arg2 = PyMem_Calloc((size_t)groups + 1, sizeof(Py_ssize_t));
    self->kept_at = PyMem_Calloc((size_t)groups + 1, sizeof(Py_ssize_t));
    self->kept_len = PyMem_Calloc((size_t)groups + 1, sizeof(Py_ssize_t));
    if (!self->kind || !self->arg || !self->arg2 || !self->kept_at || !self->kept_len) {
        PyErr_NoMemory();
        return -1;
    }
    if (!PyTuple_Check(slots)) {
        PyErr_SetString(PyExc_TypeError, "slots: a tuple of member descriptors");
        return -1;
    }
    self->nslots = PyTuple_GET_SIZE(slots);
    for (Py_ssize_t g = 0; g <= groups; g++) {
        PyObject *item = PyTuple_GET_ITEM(recipe, g);
        if (!PyArg_ParseTuple(item, "nnn", &self->kind[g], &self->arg[g], &self->arg2[g]))
            return -1;
        Py_ssize_t limit = self->kind[g] == K_FIELD ? PyTuple_GET_SIZE(labels) : self->nslots;
        if (self->kind[g] < K_SKIP || self->kind[g] > K_LEN ||
            (self->kind[g] != K_SKIP && (self->arg[g] < 0 || self->arg[g] >= limit)) ||
            (self->kind[g] == K_DEVICE && (self->arg2[g] < 0 || self->arg2[g] >= limit))) {
            PyErr_Format(PyExc_ValueError, "recipe of group %zd out of range", g);
            return -1;
        }
    }
    if (self->line_slot < 0 || self->line_slot >= self->nslots || self->fields_slot < 0 ||
        self->fields_slot >= self->nslots) {
        PyErr_SetString(PyExc_ValueError, "line_slot and fields_slot are slots");
        return -1;
    }
    if (self->lines < 0) {
        PyErr_SetString(PyExc_ValueError, "lines: a count, or 0 to count each entry's lines");
        return -1;
    }
    self->offset = PyMem_Calloc((size_t)self->nslots + 1, sizeof(Py_ssize_t));
    if (!self->offset) {
        PyErr_NoMemory();
        return -1;
    }
    if (cls != Py_None) {
        if (!PyType_Check(cls)) {
            PyErr_SetString(PyExc_TypeError, "cls: a class or None");
            return -1;
        }
        for (Py_ssize_t i = 0; i < self->nslots; i++) {
            PyObject *d = PyTuple_GET_ITEM(slots, i);
            if (!PyObject_TypeCheck(d, &PyMemberDescr_Type)) {
                PyErr_SetString(PyExc_TypeError, "slots: member descriptors (__slots__)");
                return -1;
            }
            PyMemberDescrObject *m = (PyMemberDescrObject *)d;
            if (m->d_member->type != T_OBJECT_EX ||
                !PyType_IsSubtype((PyTypeObject *)cls, PyDescr_TYPE(m))) {
                PyErr_SetString(PyExc_TypeError, "slots: object slots of cls");
                return -1;
            }
            self->offset[i] = m->d_member->offset;
        }
        self->constant_slot =
            PyMem_Calloc((size_t)PyTuple_GET_SIZE(constants) + 1, sizeof(Py_ssize_t));
        if (!self->constant_slot) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(constants); i++) {
            Py_ssize_t slot;
            PyObject *value;
            if (!PyArg_ParseTuple(PyTuple_GET_ITEM(constants, i), "nO", &slot, &value))
                return -1;
            if (slot < 0 || slot >= self->nslots) {
                PyErr_SetString(PyExc_ValueError, "constant slot out of range");
                return -1;
            }
            self->constant_slot[i] = slot;
        }
        Py_INCREF(cls);
        self->cls = (PyTypeObject *)cls;
    }
    self->template = PyDict_New();
    if (!self->template)
        return -1;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(labels); i++)
        if (PyDict_SetItem(self->template, PyTuple_GET_ITEM(labels, i), Py_None) < 0)
            return -1;
    if (PyDict_GET_SIZE(self->template) != PyTuple_GET_SIZE(labels)) {
        PyErr_SetString(PyExc_ValueError, "labels repeat");
        return -1;
    }
    Py_INCREF(labels);
    self->labels = labels;
    Py_INCREF(constants);
    self->constants = constants;
    return 0;
}

/* An unsigned number in base 10 or 16; NULL with no exception set: give up. */
static PyObject *number(const unsigned char *at, Py_ssize_t len, int base, Py_ssize_t max_hex) {
    if (len <= (base == 16 ? 16 : 19)) {
        unsigned long long v = 0;
        for (Py_ssize_t i = 0; i < len; i++) {
            unsigned c = at[i];
            v = v * (unsigned)base + (c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return PyLong_FromUnsignedLongLong(v);
    }
    if (base == 16 && len > max_hex)
        return NULL;
    char *text = PyMem_Malloc((size_t)len + 1);
    if (!text)
        return PyErr_NoMemory();
    memcpy(text, at, (size_t)len);
    text[len] = '\0';
    PyObject *v = PyLong_FromString(text, NULL, base);
    PyMem_Free(text);
    if (!v && PyErr_ExceptionMatches(PyExc_ValueError))
        PyErr_Clear(); /* beyond int's digit limit: give up, the grammar reports it */
    return v;
}

static PyObject *flags(const unsigned char *at, Py_ssize_t len) {
    Py_ssize_t count = 0;
    for (Py_ssize_t i = 0; i < len; i++)
        if (at[i] != ' ' && (i == 0 || at[i - 1] == ' '))
            count++;
    PyObject *t = PyTuple_New(count);
    if (!t)
        return NULL;
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < len;) {
        if (at[i] == ' ') {
            i++;
            continue;
        }
        Py_ssize_t j = i;
        while (j < len && at[j] != ' ')
            j++;
        PyObject *word = PyUnicode_DecodeLatin1((const char *)at + i, j - i, NULL);
        if (!word) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, k++, word);
        i = j;
    }
    return t;
}

/* One converted group value; NULL with an exception: error; NULL without: give up. */
static PyObject *convert(Program *p, Py_ssize_t kind, const unsigned char *at, Py_ssize_t len,
                         Memos *memos) {
    PyObject *v;
    Memo *slot;
    switch (kind) {
    case K_HEX:
        return number(at, len, 16, p->max_hex);
    case K_DEC:
    case K_FIELD:
        while (len > 0 && *at == ' ') /* a value right-aligned in its group, as %8lu prints */
            at++, len--;
        return number(at, len, 10, p->max_hex);
    case K_TEXT:
    case K_FLAGS:
    case K_PATH:
        if (kind == K_PATH)
            while (len > 0 && *at == ' ')
                at++, len--;
        slot = memo_slot(memos, kind, at, len);
        v = memo_get(slot, kind, at, len);
        if (v)
            return v;
        if (kind == K_TEXT)
            v = PyUnicode_DecodeLatin1((const char *)at, len, NULL);
        else if (kind == K_FLAGS)
            v = flags(at, len);
        else
            v = PyBytes_FromStringAndSize((const char *)at, len);
        if (v && memo_put(slot, kind, at, len, v) < 0)
            Py_CLEAR(v);
        return v;
    case K_RAW:
        return PyBytes_FromStringAndSize((const char *)at, len);
    case K_LEN:
        return PyLong_FromSsize_t(len);
    }
    PyErr_SetString(PyExc_SystemError, "no such conversion");
    return NULL;
}

/* Store `value` (a new reference) as slot i: on the object, or appended to column i. */
static int store(Program *p, PyObject *obj, PyObject *sinks, Py_ssize_t i, PyObject *value) {
    if (obj) {
        PyObject **at = (PyObject **)((char *)obj + p->offset[i]);
        Py_XSETREF(*at, value);
        return 0;
    }
    PyObject *sink = PyTuple_GET_ITEM(sinks, i);
    int rc = sink == Py_None ? 0 : PyList_Append(sink, value);
    Py_DECREF(value);
    return rc;
}

/* Convert the groups of one matched entry: -1 error, 1 give up, 0 done. */
/* The last entry built in this run: its fields (object mode) and where each group's text
 * was. Consecutive entries share many field values (zeros, page sizes): a field whose text is
 * the same keeps the value of the last entry, with neither conversion nor insertion. */
typedef struct {
    int valid;                /* an entry was built in this run */
    PyObject *fields;         /* object mode: its fields dict (owned) */
    const unsigned char **at; /* per group */
    Py_ssize_t *len;
} Last;

static int emit(Program *p, State *st, PyObject *out, PyObject *sinks, PyObject *columns,
                Py_ssize_t line, Memos *memos, Last *last) {
    PyObject *obj = NULL, *fields = NULL;
    const unsigned char *s = st->s;
    int rc = -1;
    if (out != Py_None) {
        obj = p->cls->tp_alloc(p->cls, 0);
        if (!obj)
            return -1;
        fields = PyDict_Copy(last->valid ? last->fields : p->template);
        if (!fields)
            goto finish;
    }
    for (Py_ssize_t g = 1; g <= p->ngroups; g++) {
        Py_ssize_t kind = p->kind[g];
        if (kind == K_SKIP)
            continue;
        Py_ssize_t a = st->marks[2 * g], b = st->marks[2 * g + 1];
        if (a < 0 || b < a) { /* the group did not take part */
            if (kind == K_PATH) {
                PyObject *empty = PyBytes_FromStringAndSize("", 0);
                if (!empty || store(p, obj, sinks, p->arg[g], empty) < 0)
                    goto finish;
            } else if (kind == K_RAW || kind == K_FLAGS || kind == K_TEXT || kind == K_LEN) {
                Py_INCREF(Py_None);
                if (store(p, obj, sinks, p->arg[g], Py_None) < 0)
                    goto finish;
            } else if (kind == K_FIELD && !obj) { /* columns: None for a line not there */
                if (PyList_Append(PyTuple_GET_ITEM(columns, p->arg[g]), Py_None) < 0)
                    goto finish;
            } else {
                rc = 1; /* a number the pattern made optional: not this program's case */
                goto finish;
            }
            continue;
        }
        if (kind == K_DEVICE) {
            const unsigned char *colon = memchr(s + a, ':', (size_t)(b - a));
            if (!colon) {
                rc = 1;
                goto finish;
            }
            PyObject *major = number(s + a, colon - (s + a), 16, p->max_hex);
            if (!major) {
                rc = PyErr_Occurred() ? -1 : 1;
                goto finish;
            }
            if (store(p, obj, sinks, p->arg[g], major) < 0)
                goto finish;
            PyObject *minor = number(colon + 1, s + b - colon - 1, 16, p->max_hex);
            if (!minor) {
                rc = PyErr_Occurred() ? -1 : 1;
                goto finish;
            }
            if (store(p, obj, sinks, p->arg2[g], minor) < 0)
                goto finish;
            continue;
        }
        if (kind == K_FIELD && last->valid && last->len[g] == b - a &&
            memcmp(last->at[g], s + a, (size_t)(b - a)) == 0) {
            if (obj)
                continue; /* the value came with the copy of the last entry's fields */
            PyObject *column = PyTuple_GET_ITEM(columns, p->arg[g]);
            if (PyList_Append(column, PyList_GET_ITEM(column, PyList_GET_SIZE(column) - 1)) < 0)
                goto finish;
            continue;
        }
        PyObject *v = convert(p, kind, s + a, b - a, memos);
        if (!v) {
            rc = PyErr_Occurred() ? -1 : 1;
            goto finish;
        }
        if (kind == K_FIELD) {
            if (obj) {
                int r = PyDict_SetItem(fields, PyTuple_GET_ITEM(p->labels, p->arg[g]), v);
                Py_DECREF(v);
                if (r < 0)
                    goto finish;
            } else {
                int r = PyList_Append(PyTuple_GET_ITEM(columns, p->arg[g]), v);
                Py_DECREF(v);
                if (r < 0)
                    goto finish;
            }
        } else if (store(p, obj, sinks, p->arg[g], v) < 0) {
            goto finish;
        }
    }
    PyObject *n = PyLong_FromSsize_t(line);
    if (!n || store(p, obj, sinks, p->line_slot, n) < 0)
        goto finish;
    if (obj) {
        PyObject *proxy = PyDictProxy_New(fields);
        if (!proxy || store(p, obj, sinks, p->fields_slot, proxy) < 0)
            goto finish;
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(p->constants); i++) {
            PyObject *value = PyTuple_GET_ITEM(PyTuple_GET_ITEM(p->constants, i), 1);
            Py_INCREF(value);
            store(p, obj, sinks, p->constant_slot[i], value);
        }
        if (PyList_Append(out, obj) < 0)
            goto finish;
        Py_INCREF(fields);
        Py_XSETREF(last->fields, fields);
    }
    for (Py_ssize_t g = 1; g <= p->ngroups; g++)
        if (p->kind[g] == K_FIELD) {
            Py_ssize_t a = st->marks[2 * g], b = st->marks[2 * g + 1];
            last->at[g] = s + (a < 0 ? 0 : a);
            last->len[g] = a < 0 || b < a ? -1 : b - a; /* -1: not there, equal to no text */
        }
    last->valid = 1;
    rc = 0;
finish:
    Py_XDECREF(fields);
    Py_XDECREF(obj);
    return rc;
}

/* Columns: every list given must have the same length (what a give-up truncates back to). */
static int equal_lengths(PyObject *sinks, PyObject *columns, Py_ssize_t *filled) {
    Py_ssize_t n = -1;
    PyObject *groups[2] = {sinks, columns};
    for (int t = 0; t < 2; t++)
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(groups[t]); i++) {
            PyObject *list = PyTuple_GET_ITEM(groups[t], i);
            if (list == Py_None)
                continue;
            if (n >= 0 && PyList_GET_SIZE(list) != n) {
                PyErr_SetString(PyExc_ValueError, "sinks and columns of unequal lengths");
                return -1;
            }
            n = PyList_GET_SIZE(list);
        }
    *filled = n < 0 ? 0 : n;
    return 0;
}

static int cut_back(PyObject *sinks, PyObject *columns, Py_ssize_t length) {
    PyObject *groups[2] = {sinks, columns};
    for (int t = 0; t < 2; t++)
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(groups[t]); i++) {
            PyObject *list = PyTuple_GET_ITEM(groups[t], i);
            if (list != Py_None && PyList_GET_SIZE(list) > length &&
                PyList_SetSlice(list, length, PyList_GET_SIZE(list), NULL) < 0)
                return -1;
        }
    return 0;
}

/* The newlines among n bytes, 8 at a time: a byte of x is 0 where the byte was a newline;
 * adding 0x7f to its low 7 bits sets its high bit unless it is 0, with no carry between
 * bytes, so the high bits left clear mark the newlines exactly. Up to 31 words' marks are
 * summed byte by byte (at most 31 per byte, 248 in all), then added up by one multiply. */
static Py_ssize_t count_newlines(const unsigned char *c, Py_ssize_t n) {
    const uint64_t low7 = 0x7f7f7f7f7f7f7f7fULL, newlines = 0x0a0a0a0a0a0a0a0aULL;
    const uint64_t ones = 0x0101010101010101ULL;
    Py_ssize_t count = 0, i = 0;
    while (i + 8 <= n) {
        uint64_t sums = 0;
        for (int words = 0; words < 31 && i + 8 <= n; words++, i += 8) {
            uint64_t w;
            memcpy(&w, c + i, 8);
            uint64_t x = w ^ newlines;
            sums += (~(((x & low7) + low7) | x) & ~low7) >> 7;
        }
        count += (Py_ssize_t)((sums * ones) >> 56);
    }
    for (; i < n; i++)
        count += c[i] == '\n';
    return count;
}

/* Match and build entries from pos on (see Program.run); the end position and line. With
 * `keep` (entire), the last entry built by the call before is where this one starts from, and
 * the last one built here is kept for the next call. */
static int run_entries(Program *self, PyObject *data, Py_ssize_t *pos_io, Py_ssize_t *line_io,
                       PyObject *out, PyObject *sinks, PyObject *columns, Py_ssize_t limit,
                       Py_ssize_t size, int keep, int *status_out) {
    Py_ssize_t pos = *pos_io, line = *line_io, filled = 0;
    int columns_mode = out == Py_None;
    if (columns_mode) {
        if (!PyTuple_Check(sinks) || PyTuple_GET_SIZE(sinks) != self->nslots ||
            !PyTuple_Check(columns) || PyTuple_GET_SIZE(columns) != PyTuple_GET_SIZE(self->labels)) {
            PyErr_SetString(PyExc_TypeError, "columns: sinks (one per slot) and columns");
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(columns); i++)
            if (!PyList_Check(PyTuple_GET_ITEM(columns, i))) {
                PyErr_SetString(PyExc_TypeError, "columns: lists");
                return -1;
            }
        for (Py_ssize_t i = 0; i < self->nslots; i++) {
            PyObject *sink = PyTuple_GET_ITEM(sinks, i);
            if (sink != Py_None && !PyList_Check(sink)) {
                PyErr_SetString(PyExc_TypeError, "sinks: lists or None");
                return -1;
            }
        }
        if (equal_lengths(sinks, columns, &filled) < 0)
            return -1;
    } else if (!self->cls || !PyList_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "out: a list, for a program with a class");
        return -1;
    }
    if (size < 0 || size > PyBytes_GET_SIZE(data))
        size = PyBytes_GET_SIZE(data);
    if (pos < 0 || pos > size) {
        PyErr_SetString(PyExc_ValueError, "pos out of range");
        return -1;
    }
    State st;
    memset(&st, 0, sizeof st);
    st.s = (const unsigned char *)PyBytes_AS_STRING(data);
    st.end = size;
    Py_ssize_t nmarks = 2 * (self->ngroups + 1);
    Py_ssize_t local[LOCAL_MARKS]; /* most patterns: no allocation for the marks */
    st.marks = nmarks <= LOCAL_MARKS ? local : PyMem_Malloc((size_t)nmarks * sizeof(Py_ssize_t));
    Last last = {0, NULL, NULL, NULL};
    const unsigned char *local_at[LOCAL_MARKS / 2];
    Py_ssize_t local_len[LOCAL_MARKS / 2];
    if (nmarks <= LOCAL_MARKS) {
        last.at = local_at;
        last.len = local_len;
    } else {
        last.at = PyMem_Malloc((size_t)nmarks / 2 * sizeof *last.at);
        last.len = PyMem_Malloc((size_t)nmarks / 2 * sizeof *last.len);
    }
    if (!st.marks || !last.at || !last.len) {
        if (nmarks > LOCAL_MARKS) {
            PyMem_Free(st.marks);
            PyMem_Free(last.at);
            PyMem_Free(last.len);
        }
        PyErr_NoMemory();
        return -1;
    }
    /* The data the kept entry's texts are in stays alive while they are compared. */
    PyObject *held = NULL;
    if (keep && self->kept_fields && self->kept_data) {
        held = self->kept_data;
        Py_INCREF(held);
        const unsigned char *base = (const unsigned char *)PyBytes_AS_STRING(held);
        for (Py_ssize_t g = 1; g <= self->ngroups; g++) {
            last.at[g] = base + self->kept_at[g];
            last.len[g] = self->kept_len[g];
        }
        last.fields = self->kept_fields;
        Py_INCREF(last.fields);
        last.valid = 1;
    }
    /* The objects built here hold no reference cycles; collecting while they are made would
     * only walk them again and again. No caller can see the collector paused: the loop holds
     * the GIL, runs no Python code (objects come from tp_alloc) and restores it before it
     * returns. */
    int gc_was = PyGC_Disable();
    int status = ST_STOP, failed = 0;
    Py_ssize_t done = 0;
    while (pos < size && (limit < 0 || done < limit)) {
        for (Py_ssize_t i = 0; i < nmarks; i++)
            st.marks[i] = -1;
        st.trail_len = 0;
        st.depth = 0;
        st.choices = 0;
        Py_ssize_t end = run(&st, &self->seq, 0, pos, NULL);
        if (st.overflow) {
            status = ST_GIVE_UP;
            break;
        }
        if (end <= pos)
            break;
        int rc = emit(self, &st, out, sinks, columns, line, &self->memos, &last);
        if (rc < 0) {
            failed = 1;
            break;
        }
        if (rc > 0) {
            status = ST_GIVE_UP;
            break;
        }
        if (self->lines > 0) {
            line += self->lines;
        } else { /* an entry with an optional line: count its newlines */
            line += count_newlines(st.s + pos, end - pos);
            line += st.s[end - 1] != '\n'; /* the last line, ended by the end of the data */
        }
        pos = end;
        done++;
    }
    if (columns_mode && (failed || status == ST_GIVE_UP) &&
        cut_back(sinks, columns, filled + done) < 0)
        failed = 1;
    if (gc_was)
        PyGC_Enable();
    if (keep && !failed && done > 0 && last.fields) { /* an entry built here: kept */
        for (Py_ssize_t g = 1; g <= self->ngroups; g++)
            if (self->kind[g] == K_FIELD) {
                self->kept_at[g] = last.at[g] - st.s;
                self->kept_len[g] = last.len[g];
            }
        Py_INCREF(data);
        Py_XSETREF(self->kept_data, data);
        Py_INCREF(last.fields);
        Py_XSETREF(self->kept_fields, last.fields);
    }
    Py_XDECREF(held);
    Py_XDECREF(last.fields);
    if (st.marks != local) {
        PyMem_Free(st.marks);
        PyMem_Free(last.at);
        PyMem_Free(last.len);
    }
    PyMem_Free(st.trail);
    if (failed)
        return -1;
    *pos_io = pos;
    *line_io = line;
    *status_out = status;
    return 0;
}

static int index_arg(PyObject *arg, Py_ssize_t *value) {
    *value = PyNumber_AsSsize_t(arg, PyExc_OverflowError);
    return *value == -1 && PyErr_Occurred() ? -1 : 0;
}

/* run(data, pos, line, out=None, sinks=None, columns=None, limit=-1, end=-1), positional
 * only. */
static PyObject *Program_run(Program *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs < 3 || nargs > 8) {
        PyErr_SetString(PyExc_TypeError, "run(data, pos, line, out=None, sinks=None, "
                                         "columns=None, limit=-1, end=-1)");
        return NULL;
    }
    PyObject *data = args[0];
    Py_ssize_t pos, line, limit = -1, end = -1;
    if (!PyBytes_Check(data)) {
        PyErr_SetString(PyExc_TypeError, "data: bytes");
        return NULL;
    }
    if (index_arg(args[1], &pos) < 0 || index_arg(args[2], &line) < 0 ||
        (nargs > 6 && index_arg(args[6], &limit) < 0) ||
        (nargs > 7 && index_arg(args[7], &end) < 0))
        return NULL;
    PyObject *out = nargs > 3 ? args[3] : Py_None;
    PyObject *sinks = nargs > 4 ? args[4] : Py_None;
    PyObject *columns = nargs > 5 ? args[5] : Py_None;
    int status;
    if (run_entries(self, data, &pos, &line, out, sinks, columns, limit, end, 0, &status) < 0)
        return NULL;
    return Py_BuildValue("nni", pos, line, status);
}

/* entire(data, line): the object of data when data is exactly one entry, else None; the
 * entry built is kept for the next call (see run_entries). */
static PyObject *Program_entire(Program *self, PyObject *const *args, Py_ssize_t nargs) {
    Py_ssize_t pos = 0, line;
    if (nargs != 2 || !PyBytes_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "entire(data: bytes, line: int)");
        return NULL;
    }
    if (index_arg(args[1], &line) < 0)
        return NULL;
    PyObject *out = PyList_New(0);
    if (!out)
        return NULL;
    int status;
    PyObject *found = NULL;
    if (run_entries(self, args[0], &pos, &line, out, Py_None, Py_None, 1, -1, 1, &status) == 0) {
        found = pos == PyBytes_GET_SIZE(args[0]) && PyList_GET_SIZE(out) == 1
                    ? PyList_GET_ITEM(out, 0)
                    : Py_None;
        Py_INCREF(found);
    }
    Py_DECREF(out);
    return found;
}

static PyMethodDef Program_methods[] = {
    {"run", (PyCFunction)(void (*)(void))Program_run, METH_FASTCALL,
     "run(data, pos, line, out=None, sinks=None, columns=None, limit=-1, end=-1, /) -> (pos, "
     "line, status)"
     "\n\nMatch entries from pos on and build one object each (appended to out), or, with out "
     "None, append their values to sinks (one list or None per slot) and columns (one list per "
     "label). Stops before the first entry that does not match (status 0) or that it cannot "
     "convert (status 1), or after `limit` entries. With `end` from 0 to len(data), the data "
     "is read as if it were data[:end]."},
    {"entire", (PyCFunction)(void (*)(void))Program_entire, METH_FASTCALL,
     "entire(data, line, /) -> object or None\n\nThe object of data when data is exactly one "
     "entry (its first line numbered `line`); None when it is not, or cannot be converted. "
     "The last entry built is kept (its data and fields): a field printed alike in the next "
     "call's data keeps its value, neither converted nor inserted again."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ProgramType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "smapsfmt._parse._match.Program",
    .tp_basicsize = sizeof(Program),
    .tp_dealloc = (destructor)Program_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An entry pattern, translated by smapsfmt._parse.accel, and what to build of a match.",
    .tp_methods = Program_methods,
    .tp_init = (initproc)Program_init,
    .tp_new = PyType_GenericNew,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "smapsfmt._parse._match",
    "Entry patterns run in C (see smapsfmt._parse.accel).", -1, NULL,
};

PyMODINIT_FUNC PyInit__match(void) {
    if (PyType_Ready(&ProgramType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    Py_INCREF(&ProgramType);
    if (PyModule_AddObject(m, "Program", (PyObject *)&ProgramType) < 0) {
        Py_DECREF(&ProgramType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
