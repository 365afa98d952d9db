/* tfrecord_lite's optional C mask tracer: polygons.region_outlines without the interpreter.
 *
 * The pure-Python functions of polygons.py stay the definition (class_runs, _components,
 * _edges, _loops, _straight, _Ring.join / corners / centres, _simplify, _at_least_three); this
 * does the same steps in the same order and returns the same list of (value, polygon), point
 * for point and type for type (ints where the pure path has ints).  Coordinates are kept
 * doubled (x2 = 2x) so half-pixel cuts stay integers; the Douglas-Peucker arithmetic is done in
 * doubles with the pure path's operations, exact below MAX_PIXELS (see polygons.py).
 *
 * Also polygons.normalised: Python's round(v, 7) is the double nearest to the exact value of
 * v * 10^7 rounded half-even to an integer, over 10^7; fma gives that exact value.
 *
 * Anything the pure path would fail on (it cannot, for a well-formed trace) raises
 * RuntimeError here; every allocation is checked and freed on every path.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* below this many pixels every product of the simplification is exact in a double, as it is
 * in the pure path's ints (|cross| <= 2 * width * height) */
#define MAX_PIXELS ((Py_ssize_t)1 << 24)
#define PIECE 128 /* polygons._PIECE */

typedef struct { int32_t y, a, b; } Run;
typedef struct { int32_t x0, y0, x1, y1; } Edge;
typedef struct { int64_t x2, y2; } Pt;

/* An open-addressing map int64 key -> (head, tail, count); a prefix of the allocation is used
 * for each table, so a small region does not clear a large table. */
typedef struct {
    int64_t *keys;
    int32_t *head, *tail, *count;
    size_t cap, used_mask;
} Map;

typedef struct {
    void *p;
    size_t cap; /* in elements */
} Buf;

typedef struct {
    const uint8_t *mask;
    Py_ssize_t w, h;
    double tol2;
    int on_edges;
    Run *runs;
    Buf scan, parent, cid, ecount, eoff, edges, nextsame, eslot, used, lv, lsad, lo, sv, ssad, so,
        holes, xs2, ys, nxt, cut, nsad, prev, rwnext, pts, fxy, keep, stack, outv;
    Map starts, rw;
    /* the coordinates' objects, made once each: floats by x2 + 4, ints by x */
    PyObject **floats, **ints;
    Py_ssize_t nfloats, nints;
} Ctx;

static int grow(Buf *b, size_t need, size_t size)
{
    if (need <= b->cap)
        return 0;
    size_t n = b->cap ? b->cap : 64;
    while (n < need) {
        if (n > SIZE_MAX / 2) {
            PyErr_NoMemory();
            return -1;
        }
        n *= 2;
    }
    if (n > SIZE_MAX / size) {
        PyErr_NoMemory();
        return -1;
    }
    void *q = realloc(b->p, n * size);
    if (q == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    b->p = q;
    b->cap = n;
    return 0;
}

#define GROW(ctx, name, type, need) grow(&(ctx)->name, (size_t)(need), sizeof(type))
#define AT(ctx, name, type) ((type *)(ctx)->name.p)

static void map_free(Map *m)
{
    free(m->keys);
    free(m->head);
    free(m->tail);
    free(m->count);
    memset(m, 0, sizeof(*m));
}

/* Make room for n keys and clear the part used. */
static int map_reset(Map *m, size_t n)
{
    size_t want = 16;
    while (want < 2 * n) {
        if (want > SIZE_MAX / 4) {
            PyErr_NoMemory();
            return -1;
        }
        want *= 2;
    }
    if (want > m->cap) {
        if (want > SIZE_MAX / sizeof(int64_t)) {
            PyErr_NoMemory();
            return -1;
        }
        map_free(m);
        m->keys = malloc(want * sizeof(int64_t));
        m->head = malloc(want * sizeof(int32_t));
        m->tail = malloc(want * sizeof(int32_t));
        m->count = malloc(want * sizeof(int32_t));
        if (!m->keys || !m->head || !m->tail || !m->count) {
            map_free(m);
            PyErr_NoMemory();
            return -1;
        }
        m->cap = want;
    }
    m->used_mask = want - 1;
    memset(m->keys, 0xff, want * sizeof(int64_t)); /* -1: empty (keys are never negative) */
    return 0;
}

static inline size_t map_hash(int64_t key, size_t mask)
{
    return (size_t)(((uint64_t)key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
}

/* The slot of key, or -1 when absent. */
static inline Py_ssize_t map_find(const Map *m, int64_t key)
{
    size_t i = map_hash(key, m->used_mask);
    while (m->keys[i] != -1) {
        if (m->keys[i] == key)
            return (Py_ssize_t)i;
        i = (i + 1) & m->used_mask;
    }
    return -1;
}

/* Append value to key's list (next links in link[]), in insertion order; returns its slot. */
static inline size_t map_append(Map *m, int64_t key, int32_t value, int32_t *link)
{
    size_t i = map_hash(key, m->used_mask);
    while (m->keys[i] != -1 && m->keys[i] != key)
        i = (i + 1) & m->used_mask;
    link[value] = -1;
    if (m->keys[i] == -1) {
        m->keys[i] = key;
        m->head[i] = m->tail[i] = value;
        m->count[i] = 1;
    } else {
        link[m->tail[i]] = value;
        m->tail[i] = value;
        m->count[i]++;
    }
    return i;
}

static int fail(const char *what)
{
    PyErr_Format(PyExc_RuntimeError, "tfrecord_lite mask tracer: %s", what);
    return -1;
}

/* polygons._minus: the pieces of [a, b) not covered by the sorted runs others[lo, hi). */
static Py_ssize_t minus(int32_t a, int32_t b, const Run *others, Py_ssize_t lo, Py_ssize_t hi,
                        Edge *out, int32_t y, int below)
{
    Py_ssize_t n = 0;
    for (Py_ssize_t k = lo; k < hi; k++) {
        int32_t c = others[k].a, d = others[k].b;
        if (d <= a)
            continue;
        if (c >= b)
            break;
        if (c > a) {
            if (out)
                out[n] = below ? (Edge){c, y + 1, a, y + 1} : (Edge){a, y, c, y};
            n++;
        }
        if (d > a)
            a = d;
        if (a >= b)
            return n;
    }
    if (a < b) {
        if (out)
            out[n] = below ? (Edge){b, y + 1, a, y + 1} : (Edge){a, y, b, y};
        n++;
    }
    return n;
}

/* The end of the run of equal bytes that starts at row[x]: eight bytes at a time where the
 * compiler and byte order allow. */
static inline Py_ssize_t run_end(const uint8_t *row, Py_ssize_t x, Py_ssize_t w)
{
    uint8_t v = row[x];
    Py_ssize_t e = x + 1;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t pattern = 0x0101010101010101ull * v;
    while (e + 8 <= w) {
        uint64_t word;
        memcpy(&word, row + e, 8);
        uint64_t diff = word ^ pattern;
        if (diff)
            return e + (__builtin_ctzll(diff) >> 3);
        e += 8;
    }
#endif
    while (e < w && row[e] == v)
        e++;
    return e;
}

static inline int32_t find(int32_t *parent, int32_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

static inline int sign64(int64_t v) { return (v > 0) - (v < 0); }

/* The loops of one region's edges (polygons._loops), straightened (_straight): vertices in
 * ctx->sv, loop k at [so[k], so[k + 1]).  ctx->starts keeps the vertices' out-edge counts (a
 * count above 1 is a saddle).  Returns the number of loops or -1. */
static Py_ssize_t trace_loops(Ctx *ctx, const Edge *e, Py_ssize_t m)
{
    const int64_t stride = ctx->w + 1;
    if (map_reset(&ctx->starts, (size_t)m) < 0 || GROW(ctx, nextsame, int32_t, m) < 0 ||
        GROW(ctx, used, uint8_t, m) < 0 || GROW(ctx, lv, int32_t, 2 * m) < 0 ||
        GROW(ctx, lo, Py_ssize_t, m + 1) < 0 || GROW(ctx, sv, int32_t, 2 * m) < 0 ||
        GROW(ctx, so, Py_ssize_t, m + 1) < 0 || GROW(ctx, eslot, size_t, m) < 0 ||
        GROW(ctx, lsad, uint8_t, m) < 0 || GROW(ctx, ssad, uint8_t, m) < 0)
        return -1;
    Map *st = &ctx->starts;
    int32_t *nextsame = AT(ctx, nextsame, int32_t);
    uint8_t *used = AT(ctx, used, uint8_t);
    int32_t *lv = AT(ctx, lv, int32_t);
    Py_ssize_t *lo = AT(ctx, lo, Py_ssize_t);
    size_t *eslot = AT(ctx, eslot, size_t);
    uint8_t *lsad = AT(ctx, lsad, uint8_t);
    for (Py_ssize_t i = 0; i < m; i++) {
        eslot[i] = map_append(st, e[i].y0 * stride + e[i].x0, (int32_t)i, nextsame);
        used[i] = 0;
    }
    Py_ssize_t nloops = 0, nv = 0;
    /* a walk starts away from saddles: first the edges whose start has no other, then all */
    for (int pass = 0; pass < 2; pass++) {
        for (Py_ssize_t first = 0; first < m; first++) {
            if (pass == 0 && st->count[eslot[first]] != 1)
                continue;
            if (used[first])
                continue;
            lo[nloops++] = nv;
            Py_ssize_t k = first;
            while (!used[k]) {
                used[k] = 1;
                int32_t x0 = e[k].x0, y0 = e[k].y0, x1 = e[k].x1, y1 = e[k].y1;
                lv[2 * nv] = x0;
                lv[2 * nv + 1] = y0;
                lsad[nv] = st->count[eslot[k]] > 1; /* a saddle: two ways out of the corner */
                nv++;
                Py_ssize_t s = map_find(st, (int64_t)y1 * stride + x1);
                if (s < 0)
                    return fail("an edge ends where none starts");
                int64_t dx = x1 - x0, dy = y1 - y0, best_key = 0;
                int32_t best = -1;
                for (int32_t o = st->head[s]; o != -1; o = nextsame[o]) {
                    if (used[o])
                        continue;
                    /* the turn that joins two pixels meeting at a corner: the smallest key,
                     * the first of equals (a stable sort's first) */
                    int64_t key = dx * (e[o].y1 - y1) - dy * (e[o].x1 - x1);
                    if (best < 0 || key < best_key) {
                        best = o;
                        best_key = key;
                    }
                }
                if (best < 0)
                    break;
                k = best;
            }
        }
    }
    lo[nloops] = nv;
    /* _straight: drop the vertices in the middle of straight runs */
    int32_t *sv = AT(ctx, sv, int32_t);
    uint8_t *ssad = AT(ctx, ssad, uint8_t);
    Py_ssize_t *so = AT(ctx, so, Py_ssize_t);
    Py_ssize_t out = 0;
    for (Py_ssize_t l = 0; l < nloops; l++) {
        so[l] = out;
        Py_ssize_t base = lo[l], n = lo[l + 1] - lo[l];
        for (Py_ssize_t i = 0; i < n; i++) {
            const int32_t *a = lv + 2 * (base + (i + n - 1) % n), *b = lv + 2 * (base + i),
                          *c = lv + 2 * (base + (i + 1) % n);
            if ((int64_t)(b[0] - a[0]) * (c[1] - b[1]) != (int64_t)(b[1] - a[1]) * (c[0] - b[0])) {
                sv[2 * out] = b[0];
                sv[2 * out + 1] = b[1];
                ssad[out] = lsad[base + i];
                out++;
            }
        }
    }
    so[nloops] = out;
    return nloops;
}

typedef struct { int64_t y, x; Py_ssize_t loop, order; } HoleKey;

static int hole_cmp(const void *pa, const void *pb)
{
    const HoleKey *a = pa, *b = pb;
    if (a->y != b->y)
        return a->y < b->y ? -1 : 1;
    if (a->x != b->x)
        return a->x < b->x ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order); /* stable, as sorted() */
}

/* _Ring.add: the loop's vertices as new nodes; with index, its rightward edges indexed. */
static Py_ssize_t ring_add(Ctx *ctx, Py_ssize_t *nodes, const int32_t *v, const uint8_t *saddle,
                           Py_ssize_t n, int index)
{
    int64_t *xs2 = AT(ctx, xs2, int64_t), *ys = AT(ctx, ys, int64_t);
    int32_t *nxt = AT(ctx, nxt, int32_t);
    int8_t *cut = AT(ctx, cut, int8_t);
    uint8_t *nsad = AT(ctx, nsad, uint8_t);
    Py_ssize_t base = *nodes;
    for (Py_ssize_t i = 0; i < n; i++) {
        xs2[base + i] = 2 * (int64_t)v[2 * i];
        ys[base + i] = v[2 * i + 1];
        nxt[base + i] = (int32_t)(base + (i + 1) % n);
        cut[base + i] = 0;
        nsad[base + i] = saddle[i];
    }
    *nodes = base + n;
    if (index) {
        int32_t *rwnext = AT(ctx, rwnext, int32_t);
        for (Py_ssize_t i = base; i < base + n; i++) {
            int32_t j = nxt[i];
            if (ys[i] == ys[j] && xs2[i] < xs2[j])
                map_append(&ctx->rw, ys[i], (int32_t)i, rwnext);
        }
    }
    return base;
}

static Py_ssize_t ring_node(Ctx *ctx, Py_ssize_t *nodes, int64_t x2, int64_t y, int32_t next)
{
    Py_ssize_t i = (*nodes)++;
    AT(ctx, xs2, int64_t)[i] = x2;
    AT(ctx, ys, int64_t)[i] = y;
    AT(ctx, nxt, int32_t)[i] = next;
    AT(ctx, cut, int8_t)[i] = 0;
    AT(ctx, nsad, uint8_t)[i] = 0;
    return i;
}

/* _Ring.join: splice the hole in by a zero-width cut at x = column + 0.5 up to y = top. */
static int ring_join(Ctx *ctx, Py_ssize_t *nodes, const int32_t *hole, const uint8_t *saddle,
                     Py_ssize_t n, int64_t top, int64_t column, int64_t ty)
{
    int64_t cx2 = 2 * column + 1;
    Py_ssize_t start = ring_add(ctx, nodes, hole, saddle, n, 1);
    Py_ssize_t qi = -1;
    for (Py_ssize_t i = 0; i < n; i++)
        if (hole[2 * i] == column && hole[2 * i + 1] == ty) {
            qi = i;
            break;
        }
    if (qi < 0)
        return fail("a hole without its top-left corner");
    int32_t q = (int32_t)(start + qi), p = (int32_t)(start + (qi + n - 1) % n);
    int64_t *xs2 = AT(ctx, xs2, int64_t);
    int32_t *nxt = AT(ctx, nxt, int32_t), *rwnext = AT(ctx, rwnext, int32_t);
    int8_t *cut = AT(ctx, cut, int8_t);
    Py_ssize_t s = map_find(&ctx->rw, top);
    int32_t a = -1;
    if (s >= 0)
        for (int32_t i = ctx->rw.head[s]; i != -1; i = rwnext[i])
            if (xs2[i] <= cx2 && cx2 <= xs2[nxt[i]]) {
                a = i;
                break;
            }
    if (a < 0)
        return fail("no edge above a hole to cut to");
    int32_t b = nxt[a];
    int32_t o2 = (int32_t)ring_node(ctx, nodes, cx2, top, b);
    int32_t h2 = (int32_t)ring_node(ctx, nodes, cx2, ty, o2);
    int32_t h1 = (int32_t)ring_node(ctx, nodes, cx2, ty, q);
    int32_t o1 = (int32_t)ring_node(ctx, nodes, cx2, top, h1);
    nxt[a] = o1;
    nxt[p] = h2;
    map_append(&ctx->rw, top, o2, rwnext);
    cut[o1] = cut[o2] = 1;
    cut[h1] = cut[h2] = -1;
    return 0;
}

/* _simplify: Douglas-Peucker on the closed loop pts[0, n), kept vertices marked in keep. */
static int simplify(Ctx *ctx, const Pt *pts, Py_ssize_t n)
{
    if (GROW(ctx, keep, uint8_t, n + 1) < 0 || GROW(ctx, fxy, double, 2 * n) < 0)
        return -1;
    uint8_t *keep = AT(ctx, keep, uint8_t);
    double *f = AT(ctx, fxy, double); /* the points as the pure path's floats: x at 2i, y at 2i+1 */
    if (n <= 4) {
        memset(keep, 1, (size_t)n);
        return 0;
    }
    memset(keep, 0, (size_t)n + 1);
    for (Py_ssize_t i = 0; i < n; i++) {
        f[2 * i] = (double)pts[i].x2 * 0.5;
        f[2 * i + 1] = (double)pts[i].y2 * 0.5;
    }
    Py_ssize_t far = 0;
    int64_t fard = -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        int64_t dx = pts[i].x2 - pts[0].x2, dy = pts[i].y2 - pts[0].y2, d = dx * dx + dy * dy;
        if (d > fard) {
            fard = d;
            far = i;
        }
    }
    /* the ends, sorted: 0, PIECE, 2 * PIECE, ... with far and n among them */
    Py_ssize_t nends = (n + PIECE - 1) / PIECE + 2;
    if (GROW(ctx, stack, Py_ssize_t, 2 * (2 * n + nends + 2)) < 0)
        return -1;
    Py_ssize_t *stack = AT(ctx, stack, Py_ssize_t), top = 0, prev = -1;
    for (Py_ssize_t i = 0; i <= n; i++) {
        if (i % PIECE == 0 || i == far || i == n) {
            keep[i] = 1;
            if (prev >= 0) {
                stack[top++] = prev;
                stack[top++] = i;
            }
            prev = i;
        }
    }
    /* each pair processed independently: the order of the stack does not change the result */
    while (top > 0) {
        Py_ssize_t j = stack[--top], i = stack[--top];
        if (j - i < 2)
            continue;
        Py_ssize_t jj = j % n;
        double ax = f[2 * i], ay = f[2 * i + 1], bx = f[2 * jj], by = f[2 * jj + 1];
        double dx = bx - ax, dy = by - ay;
        double length2 = dx * dx + dy * dy;
        double best = -1.0, widest = -1.0;
        Py_ssize_t worst = -1;
        for (Py_ssize_t k = i + 1; k < j; k++) {
            double px = f[2 * k], py = f[2 * k + 1];
            double ux = px - ax, uy = py - ay;
            double along = ux * dx + uy * dy, d2;
            if (along <= 0.0) {
                d2 = ux * ux + uy * uy;
            } else if (along >= length2) {
                double vx = px - bx, vy = py - by;
                d2 = vx * vx + vy * vy;
            } else {
                double cross = ux * dy - uy * dx, c2 = cross * cross;
                /* the rounded quotient never falls as c2 grows: one no wider than a quotient
                 * already compared cannot beat best (the first of equals stays) */
                if (c2 <= widest)
                    continue;
                widest = c2;
                d2 = c2 / length2;
            }
            if (d2 > best) {
                best = d2;
                worst = k;
            }
        }
        if (best > ctx->tol2) {
            keep[worst] = 1;
            stack[top++] = i;
            stack[top++] = worst;
            stack[top++] = worst;
            stack[top++] = j;
        }
    }
    return 0;
}

/* The float x2 / 2 (or, as_int, the int x2 / 2), one object per value for the whole call. */
static PyObject *coord(Ctx *ctx, int64_t x2, int as_int)
{
    PyObject **cache = as_int ? ctx->ints : ctx->floats;
    Py_ssize_t size = as_int ? ctx->nints : ctx->nfloats, at = as_int ? x2 / 2 : x2 + 4;
    if (at < 0 || at >= size) /* (not for a traced mask's coordinates) */
        return as_int ? PyLong_FromLongLong(x2 / 2) : PyFloat_FromDouble((double)x2 * 0.5);
    if (cache[at] == NULL) {
        cache[at] = as_int ? PyLong_FromLongLong(x2 / 2) : PyFloat_FromDouble((double)x2 * 0.5);
        if (cache[at] == NULL)
            return NULL;
    }
    Py_INCREF(cache[at]);
    return cache[at];
}

static PyObject *point(Ctx *ctx, const Pt *p, int on_edges)
{
    /* on the edges the pure path has ints but for a cut's x (column + 0.5); centres are floats */
    PyObject *x = coord(ctx, p->x2, on_edges && !(p->x2 & 1));
    PyObject *y = coord(ctx, p->y2, on_edges);
    if (x == NULL || y == NULL) {
        Py_XDECREF(x);
        Py_XDECREF(y);
        return NULL;
    }
    PyObject *t = PyTuple_New(2);
    if (t == NULL) {
        Py_DECREF(x);
        Py_DECREF(y);
        return NULL;
    }
    PyTuple_SET_ITEM(t, 0, x);
    PyTuple_SET_ITEM(t, 1, y);
    return t;
}

/* One region: its loops, holes joined, the walk round, simplified, at least three points. */
static PyObject *region(Ctx *ctx, int value, const Edge *e, Py_ssize_t m)
{
    Py_ssize_t nloops = trace_loops(ctx, e, m);
    if (nloops < 0)
        return NULL;
    if (nloops == 0) {
        fail("a region without a loop");
        return NULL;
    }
    const int32_t *sv = AT(ctx, sv, int32_t);
    const uint8_t *ssad = AT(ctx, ssad, uint8_t);
    const Py_ssize_t *so = AT(ctx, so, Py_ssize_t);
    /* the outline: the loop of the largest signed area (the first of equals, as max()) */
    Py_ssize_t outline = -1;
    int64_t best = 0;
    for (Py_ssize_t l = 0; l < nloops; l++) {
        Py_ssize_t base = so[l], n = so[l + 1] - so[l];
        int64_t a2 = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            const int32_t *p = sv + 2 * (base + i), *q = sv + 2 * (base + (i + 1) % n);
            a2 += (int64_t)p[0] * q[1] - (int64_t)q[0] * p[1];
        }
        if (outline < 0 || a2 > best) {
            outline = l;
            best = a2;
        }
    }
    Py_ssize_t nholes = nloops - 1;
    Py_ssize_t total = so[nloops] + 4 * nholes;
    if (GROW(ctx, holes, HoleKey, nholes + 1) < 0 || GROW(ctx, xs2, int64_t, total) < 0 ||
        GROW(ctx, ys, int64_t, total) < 0 || GROW(ctx, nxt, int32_t, total) < 0 ||
        GROW(ctx, cut, int8_t, total) < 0 || GROW(ctx, prev, int32_t, total) < 0 ||
        GROW(ctx, nsad, uint8_t, total) < 0 ||
        GROW(ctx, rwnext, int32_t, total) < 0 || GROW(ctx, pts, Pt, 2 * total + 1) < 0)
        return NULL;
    HoleKey *holes = AT(ctx, holes, HoleKey);
    Py_ssize_t h = 0;
    for (Py_ssize_t l = 0; l < nloops; l++) {
        if (l == outline)
            continue;
        Py_ssize_t base = so[l], n = so[l + 1] - so[l];
        if (n == 0) {
            fail("an empty hole");
            return NULL;
        }
        HoleKey k = {sv[2 * base + 1], sv[2 * base], l, h};
        for (Py_ssize_t i = 1; i < n; i++) {
            int64_t x = sv[2 * (base + i)], y = sv[2 * (base + i) + 1];
            if (y < k.y || (y == k.y && x < k.x)) {
                k.y = y;
                k.x = x;
            }
        }
        holes[h++] = k;
    }
    if (nholes > 1)
        qsort(holes, (size_t)nholes, sizeof(HoleKey), hole_cmp);
    if (nholes > 0 && map_reset(&ctx->rw, (size_t)total) < 0)
        return NULL;
    Py_ssize_t nodes = 0;
    ring_add(ctx, &nodes, sv + 2 * so[outline], ssad + so[outline], so[outline + 1] - so[outline],
             nholes > 0);
    for (Py_ssize_t i = 0; i < nholes; i++) {
        int64_t ty = holes[i].y, column = holes[i].x, top = ty;
        if (column < 0 || column >= ctx->w || ty < 0 || ty > ctx->h) {
            fail("a hole outside the mask");
            return NULL;
        }
        /* _rows_of: the first row above ty from which the column holds value down to ty */
        while (top > 0 && ctx->mask[(top - 1) * ctx->w + column] == value)
            top--;
        Py_ssize_t l = holes[i].loop;
        if (ring_join(ctx, &nodes, sv + 2 * so[l], ssad + so[l], so[l + 1] - so[l], top, column,
                      ty) < 0)
            return NULL;
    }
    /* the walk round from the outline's first node: corners, or centres */
    const int64_t *xs2 = AT(ctx, xs2, int64_t), *ys = AT(ctx, ys, int64_t);
    const int32_t *nxt = AT(ctx, nxt, int32_t);
    const int8_t *cut = AT(ctx, cut, int8_t);
    const uint8_t *nsad = AT(ctx, nsad, uint8_t);
    int32_t *prev = AT(ctx, prev, int32_t);
    Pt *pts = AT(ctx, pts, Pt);
    Py_ssize_t np = 0, steps = 0;
    if (!ctx->on_edges)
        for (Py_ssize_t i = 0; i < nodes; i++)
            prev[nxt[i]] = (int32_t)i;
    Py_ssize_t i = 0;
    do {
        if (++steps > nodes) {
            fail("a ring that does not close");
            return NULL;
        }
        int64_t x2 = xs2[i], y = ys[i];
        if (ctx->on_edges) {
            pts[np++] = (Pt){x2, 2 * y};
        } else if (cut[i]) {
            pts[np++] = (Pt){x2 - 1, 2 * y + cut[i] - 1};
        } else {
            int32_t p = prev[i], n = nxt[i];
            int ax = sign64(x2 - xs2[p]), ay = sign64(y - ys[p]);
            int bx = sign64(xs2[n] - x2), by = sign64(ys[n] - y);
            if (nsad[i]) {
                pts[np++] = (Pt){x2 - (ax + ay) - 1, 2 * y + (ax - ay) - 1};
                pts[np++] = (Pt){x2 + (bx - by) - 1, 2 * y + (by + bx) - 1};
            } else {
                pts[np++] = (Pt){x2 - (ay + by) - 1, 2 * y + (ax + bx) - 1};
            }
        }
        i = nxt[i];
    } while (i != 0);
    if (simplify(ctx, pts, np) < 0)
        return NULL;
    /* _at_least_three: no vertex repeating the one before; never fewer than three */
    const uint8_t *keep = AT(ctx, keep, uint8_t);
    if (GROW(ctx, outv, Py_ssize_t, 2 * np + 3) < 0)
        return NULL;
    Py_ssize_t *kept = AT(ctx, outv, Py_ssize_t), *sel = kept + np, nk = 0, nout = 0;
    for (Py_ssize_t k = 0; k < np; k++)
        if (keep[k])
            kept[nk++] = k;
    if (nk == 0) {
        fail("an empty outline");
        return NULL;
    }
    for (Py_ssize_t t = 0; t < nk; t++) {
        const Pt *p = &pts[kept[t]], *q = &pts[kept[t ? t - 1 : nk - 1]];
        if (p->x2 != q->x2 || p->y2 != q->y2)
            sel[nout++] = kept[t];
    }
    if (nout == 0)
        sel[nout++] = kept[0];
    while (nout < 3) { /* a pixel: its centre three times; a line: there and back */
        sel[nout] = sel[0];
        nout++;
    }
    PyObject *poly = PyList_New(nout);
    if (poly == NULL)
        return NULL;
    for (Py_ssize_t t = 0; t < nout; t++) {
        PyObject *pt = point(ctx, &pts[sel[t]], ctx->on_edges);
        if (pt == NULL) {
            Py_DECREF(poly);
            return NULL;
        }
        PyList_SET_ITEM(poly, t, pt);
    }
    PyObject *pair = Py_BuildValue("(iN)", value, poly);
    return pair;
}

static void ctx_free(Ctx *ctx)
{
    Buf *bufs[] = {&ctx->scan, &ctx->parent, &ctx->cid, &ctx->ecount, &ctx->eoff, &ctx->edges,
                   &ctx->nextsame, &ctx->eslot, &ctx->used, &ctx->lv, &ctx->lsad, &ctx->lo,
                   &ctx->sv, &ctx->ssad, &ctx->so, &ctx->holes, &ctx->xs2, &ctx->ys, &ctx->nxt,
                   &ctx->cut, &ctx->nsad, &ctx->prev, &ctx->rwnext, &ctx->pts, &ctx->fxy,
                   &ctx->keep, &ctx->stack, &ctx->outv};
    for (size_t i = 0; i < sizeof(bufs) / sizeof(bufs[0]); i++)
        free(bufs[i]->p);
    for (Py_ssize_t i = 0; ctx->floats && i < ctx->nfloats; i++)
        Py_XDECREF(ctx->floats[i]);
    for (Py_ssize_t i = 0; ctx->ints && i < ctx->nints; i++)
        Py_XDECREF(ctx->ints[i]);
    free(ctx->floats);
    free(ctx->ints);
    free(ctx->runs);
    map_free(&ctx->starts);
    map_free(&ctx->rw);
}

/* The regions of one value (runs of it, row by row) appended to out. */
static int trace_value(Ctx *ctx, int value, const Run *r, Py_ssize_t n, PyObject *out)
{
    if (GROW(ctx, parent, int32_t, n) < 0 || GROW(ctx, cid, int32_t, n) < 0)
        return -1;
    int32_t *parent = AT(ctx, parent, int32_t), *cid = AT(ctx, cid, int32_t);
    /* _components: union-find over runs touching 8-wise, the root the first run */
    Py_ssize_t pl = 0, ph = 0; /* the previous row's runs */
    for (Py_ssize_t s = 0; s < n;) {
        Py_ssize_t t = s;
        while (t < n && r[t].y == r[s].y)
            t++;
        if (!(ph > pl && r[pl].y == r[s].y - 1))
            pl = ph = s; /* no runs on the row above */
        Py_ssize_t j = pl;
        for (Py_ssize_t i = s; i < t; i++) {
            parent[i] = (int32_t)i;
            while (j < ph && r[j].b < r[i].a)
                j++;
            for (Py_ssize_t k = j; k < ph && r[k].a <= r[i].b; k++) {
                int32_t ra = find(parent, (int32_t)k), rb = find(parent, (int32_t)i);
                if (ra != rb) {
                    if (ra > rb)
                        parent[ra] = rb;
                    else
                        parent[rb] = ra;
                }
            }
        }
        pl = s;
        ph = t;
        s = t;
    }
    Py_ssize_t ncomp = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        int32_t root = find(parent, (int32_t)i);
        cid[i] = root == i ? (int32_t)ncomp++ : cid[root];
    }
    /* _edges: each region's boundary edges, in the pure path's order */
    if (GROW(ctx, ecount, Py_ssize_t, ncomp + 1) < 0 || GROW(ctx, eoff, Py_ssize_t, ncomp + 1) < 0)
        return -1;
    Py_ssize_t *ecount = AT(ctx, ecount, Py_ssize_t), *eoff = AT(ctx, eoff, Py_ssize_t);
    memset(ecount, 0, (size_t)(ncomp + 1) * sizeof(Py_ssize_t));
    for (int fill = 0; fill < 2; fill++) {
        Edge *edges = fill ? AT(ctx, edges, Edge) : NULL;
        Py_ssize_t al = 0, ah = 0;
        for (Py_ssize_t s = 0; s < n;) {
            Py_ssize_t t = s;
            while (t < n && r[t].y == r[s].y)
                t++;
            int32_t y = r[s].y;
            Py_ssize_t bl = t, bh = t; /* the row below's runs */
            if (t < n && r[t].y == y + 1)
                while (bh < n && r[bh].y == y + 1)
                    bh++;
            if (!(ah > al && r[al].y == y - 1))
                al = ah = s;
            for (Py_ssize_t i = s; i < t; i++) {
                int32_t a = r[i].a, b = r[i].b, c = cid[i];
                if (!fill) {
                    ecount[c] += 2 + minus(a, b, r, al, ah, NULL, y, 0) +
                                 minus(a, b, r, bl, bh, NULL, y, 1);
                    continue;
                }
                Edge *o = edges + eoff[c];
                o[0] = (Edge){a, y + 1, a, y};
                o[1] = (Edge){b, y, b, y + 1};
                Py_ssize_t k = 2;
                k += minus(a, b, r, al, ah, o + k, y, 0);
                k += minus(a, b, r, bl, bh, o + k, y, 1);
                eoff[c] += k;
            }
            al = s;
            ah = t;
            s = t;
        }
        if (!fill) {
            Py_ssize_t total = 0;
            for (Py_ssize_t c = 0; c < ncomp; c++) {
                eoff[c] = total;
                total += ecount[c];
            }
            if (GROW(ctx, edges, Edge, total) < 0)
                return -1;
        }
    }
    /* eoff[c] now ends region c's edges */
    const Edge *edges = AT(ctx, edges, Edge);
    for (Py_ssize_t c = 0; c < ncomp; c++) {
        Py_ssize_t end = eoff[c], m = ecount[c];
        PyObject *pair = region(ctx, value, edges + end - m, m);
        if (pair == NULL)
            return -1;
        int rc = PyList_Append(out, pair);
        Py_DECREF(pair);
        if (rc < 0)
            return -1;
    }
    return 0;
}

static PyObject *py_region_outlines(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer buf;
    Py_ssize_t w, h;
    double tolerance;
    int on_edges;
    if (!PyArg_ParseTuple(args, "y*nndp", &buf, &w, &h, &tolerance, &on_edges))
        return NULL;
    PyObject *out = NULL;
    int gc_was = 0;
    Ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    if (w <= 0 || h <= 0 || w > MAX_PIXELS || h > MAX_PIXELS / w) {
        PyErr_Format(PyExc_ValueError, "mask of %zd x %zd pixels: the C tracer takes 1 to %zd",
                     w, h, MAX_PIXELS);
        goto done;
    }
    if (buf.len < w * h) {
        PyErr_Format(PyExc_ValueError, "mask of %zd bytes for %zd x %zd pixels", buf.len, w, h);
        goto done;
    }
    /* the outlines are thousands of tuples of floats and no cycles: no collection for them */
    gc_was = PyGC_Disable();
    ctx.mask = buf.buf;
    ctx.w = w;
    ctx.h = h;
    ctx.tol2 = tolerance * tolerance;
    ctx.on_edges = on_edges;
    /* coordinates: x2 from -3 to 2 * side + 1 (centres), ints 0 to side (corners) */
    Py_ssize_t side = w > h ? w : h;
    ctx.nfloats = 2 * side + 8;
    ctx.nints = side + 2;
    ctx.floats = calloc((size_t)ctx.nfloats, sizeof(PyObject *));
    ctx.ints = calloc((size_t)ctx.nints, sizeof(PyObject *));
    if (ctx.floats == NULL || ctx.ints == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* class_runs: the runs of every non-zero value, by value, then row, then x (one scan into
     * row order, then a stable counting sort by value) */
    Py_ssize_t count[256] = {0}, off[257], pos[256], nruns = 0;
    for (Py_ssize_t y = 0; y < h; y++) {
        const uint8_t *row = ctx.mask + y * w;
        for (Py_ssize_t x = 0; x < w;) {
            uint8_t v = row[x];
            Py_ssize_t e = run_end(row, x, w);
            if (v) {
                if (GROW(&ctx, scan, Run, nruns + 1) < 0)
                    goto done;
                AT(&ctx, scan, Run)[nruns++] = (Run){(int32_t)y, (int32_t)x, (int32_t)e};
                count[v]++;
            }
            x = e;
        }
    }
    off[0] = 0;
    for (int v = 0; v < 256; v++)
        off[v + 1] = off[v] + count[v];
    ctx.runs = malloc((size_t)(nruns ? nruns : 1) * sizeof(Run));
    if (ctx.runs == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memcpy(pos, off, sizeof(pos));
    for (Py_ssize_t i = 0; i < nruns; i++) {
        const Run *r = AT(&ctx, scan, Run) + i;
        ctx.runs[pos[ctx.mask[(Py_ssize_t)r->y * w + r->a]]++] = *r;
    }
    out = PyList_New(0);
    if (out == NULL)
        goto done;
    for (int v = 1; v < 256; v++) {
        if (count[v] && trace_value(&ctx, v, ctx.runs + off[v], count[v], out) < 0) {
            Py_CLEAR(out);
            goto done;
        }
    }
done:
    if (gc_was)
        PyGC_Enable();
    ctx_free(&ctx);
    PyBuffer_Release(&buf);
    return out;
}

#define NUDGE 0.002 /* polygons._NUDGE */

/* round(v, 7) as Python does it: v * 10^7 exactly (p + e, fma's exact residual), rounded to an
 * integer half-even, then divided by 10^7 (one correctly rounded division, as Python's strtod
 * of the rounded decimal).  Exact while p < 2^53 (|v| < MAX_PIXELS here): p's ulp is then at
 * most 1, so the residual decides only a p = r +- 0.5 that nearbyint took as a tie. */
static double round7(double v)
{
    double p = v * 1e7, e = fma(v, 1e7, -p), r = nearbyint(p), a = p - r;
    if (a == 0.5 && e > 0) /* nearbyint took the even side of a tie that is not one */
        r += 1;
    else if (a == -0.5 && e < 0)
        r -= 1;
    return r / 1e7;
}

static PyObject *coordinate(PyObject *value, double size)
{
    double v = (PyFloat_AS_DOUBLE(value) + NUDGE) / size;
    return PyFloat_FromDouble(round7(v));
}

static PyObject *py_normalised(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *polygon;
    Py_ssize_t w, h;
    if (!PyArg_ParseTuple(args, "O!nn", &PyList_Type, &polygon, &w, &h))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(polygon);
    /* what the pure path computes the same way: float points, sizes a double holds exactly */
    if (w <= 0 || h <= 0 || w > MAX_PIXELS || h > MAX_PIXELS)
        Py_RETURN_NONE;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyList_GET_ITEM(polygon, i);
        if (!PyTuple_CheckExact(p) || PyTuple_GET_SIZE(p) != 2 ||
            !PyFloat_CheckExact(PyTuple_GET_ITEM(p, 0)) ||
            !PyFloat_CheckExact(PyTuple_GET_ITEM(p, 1)))
            Py_RETURN_NONE;
        for (int k = 0; k < 2; k++) {
            double v = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(p, k));
            if (!(fabs(v) < (double)MAX_PIXELS)) /* NaN, inf, far outside: the pure path */
                Py_RETURN_NONE;
        }
    }
    PyObject *out = PyList_New(n);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = PyList_GET_ITEM(polygon, i);
        PyObject *pair = PyList_New(2);
        if (pair == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, i, pair);
        for (int k = 0; k < 2; k++) {
            PyObject *c = coordinate(PyTuple_GET_ITEM(p, k), (double)(k ? h : w));
            if (c == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            PyList_SET_ITEM(pair, k, c);
        }
    }
    return out;
}

static PyMethodDef methods[] = {
    {"normalised", py_normalised, METH_VARARGS,
     "normalised(polygon, width, height) -> [[x, y], ...] or None: polygons.normalised in C, "
     "None where the pure path must do it (not a list of float pairs)."},
    {"region_outlines", py_region_outlines, METH_VARARGS,
     "region_outlines(mask, width, height, tolerance, on_edges) -> [(value, polygon), ...]: "
     "polygons.region_outlines in C."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "tfrecord_lite.pipeline.formats._tracer",
    "tfrecord_lite's optional C mask tracer (see tfrecord_lite/pipeline/formats/polygons.py).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__tracer(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "MAX_PIXELS", (long)MAX_PIXELS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
