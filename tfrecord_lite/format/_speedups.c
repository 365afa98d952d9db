/* tfrecord_lite's optional C core: TFRecord framing both ways, and the Example codec.
 *
 * Each function here has a pure-Python reference in records.py / crc.py that stays the
 * definition of the format; these only do the same work without the interpreter's per-record
 * cost.  On any anomaly (a CRC that does not match) the reader stops at the record it could not
 * take and reports where, and the Python side walks that record again to raise the exact error
 * the pure path raises.
 *
 * Also the Example decoder's fast path (decode_plain), with the same contract as the Python
 * one: a result for the plain layout, None for anything else (protobuf then decides); and the
 * encoder's (encode_example, encode_sequence_example): the pure encoder's bytes for plain
 * values, None for anything else (the pure encoder then encodes it or raises its error).
 *
 * And the image header scan of the converter's reading pass (scan_image): headers.sniff's
 * reads and answer and images._check_end's, for one open file, with sniff the reference.
 *
 * CRC-32C: AVX-512 VPCLMULQDQ folding, else SSE4.2 (x86-64, checked with cpuid at import),
 * the ARMv8 CRC32 instructions (aarch64, checked with getauxval at import), else a
 * slicing-by-8 table.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#define TFL_SCAN 1
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define TFL_X86 1
#include <immintrin.h>
#elif defined(__GNUC__) && defined(__aarch64__) && defined(__linux__)
#define TFL_ARM 1
#include <arm_acle.h>
#include <sys/auxv.h>
#ifndef HWCAP_CRC32
#define HWCAP_CRC32 (1 << 7)
#endif
#endif

#define POLY 0x82F63B78u /* Castagnoli, reflected */
#define MASK_DELTA 0xA282EAD8u
#define UNLOCK_AT ((uint64_t)1 << 16) /* records this long have their CRC taken without the GIL */
/* data this long is taken by crc_impl (the fold, where there is one: shorter data gains nothing
 * from it), and records this long are checked as they are copied (crc_copy_impl) */
#define COPY_CHECKED_AT 256

typedef uint32_t (*crc_fn)(uint32_t, const uint8_t *, size_t);

static uint32_t table[8][256];

static void make_tables(void)
{
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ POLY : c >> 1;
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int k = 1; k < 8; k++)
            table[k][n] = (table[k - 1][n] >> 8) ^ table[0][table[k - 1][n] & 0xFF];
}

static inline uint32_t load32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t load64(const uint8_t *p)
{
    return (uint64_t)load32(p) | (uint64_t)load32(p + 4) << 32;
}

static inline void store32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void store64(uint8_t *p, uint64_t v)
{
    store32(p, (uint32_t)v);
    store32(p + 4, (uint32_t)(v >> 32));
}

/* The CRC state (already inverted) after n more bytes: eight bytes a step, one table each. */
static uint32_t crc_table(uint32_t c, const uint8_t *p, size_t n)
{
    while (n >= 8) {
        uint32_t lo = c ^ load32(p), hi = load32(p + 4);
        c = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^
            table[4][lo >> 24] ^ table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^
            table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
        p += 8;
        n -= 8;
    }
    while (n--)
        c = table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return c;
}

/* Long data is taken as three blocks at once, three independent chains, because the CRC
 * instruction's latency is three times its throughput; the three CRCs are then joined.
 * Joining needs "the register after B more zero bytes", a linear map of the register, kept as
 * four byte tables per block size B. */
#define LONG_BLOCK 2048
#define SHORT_BLOCK 256

static uint32_t zeros_long[4][256], zeros_short[4][256];

/* a * b modulo the polynomial, both in the reflected bit order the register uses (bit 31 is
 * the coefficient of x^0) */
static uint32_t mulmod(uint32_t a, uint32_t b)
{
    uint32_t product = 0;
    for (int i = 31; i >= 0; i--) { /* bit i of a is x^(31 - i): b times x^(31 - i) */
        if (a & ((uint32_t)1 << i))
            product ^= b;
        b = (b & 1) ? (b >> 1) ^ POLY : b >> 1; /* b *= x */
    }
    return product;
}

/* x^e modulo the polynomial (x^(8 * bytes) is what the register is multiplied by over that
 * many zero bytes) */
static uint32_t x_pow(uint64_t e)
{
    uint32_t result = (uint32_t)1 << 31, square = (uint32_t)1 << 30; /* x^0, x^1 */
    for (; e; e >>= 1) {
        if (e & 1)
            result = mulmod(result, square);
        square = mulmod(square, square);
    }
    return result;
}

static void make_zeros_table(uint32_t t[4][256], size_t bytes)
{
    uint32_t factor = x_pow((uint64_t)bytes * 8);
    for (uint32_t k = 0; k < 4; k++)
        for (uint32_t b = 0; b < 256; b++)
            t[k][b] = mulmod(factor, b << (8 * k));
}

static inline uint32_t after_zeros(const uint32_t t[4][256], uint32_t c)
{
    return t[0][c & 0xFF] ^ t[1][(c >> 8) & 0xFF] ^ t[2][(c >> 16) & 0xFF] ^ t[3][c >> 24];
}

#ifdef TFL_X86
#ifdef __x86_64__
/* three chains over the blocks at p, p + block, p + 2 * block; joined into c */
__attribute__((target("sse4.2"))) static inline uint32_t
crc_sse42_3way(uint32_t c, const uint8_t *p, size_t block, const uint32_t zeros[4][256])
{
    uint64_t c0 = c, c1 = 0, c2 = 0;
    for (size_t i = 0; i < block; i += 8) {
        uint64_t v0, v1, v2;
        memcpy(&v0, p + i, 8);
        memcpy(&v1, p + block + i, 8);
        memcpy(&v2, p + 2 * block + i, 8);
        c0 = _mm_crc32_u64(c0, v0);
        c1 = _mm_crc32_u64(c1, v1);
        c2 = _mm_crc32_u64(c2, v2);
    }
    return after_zeros(zeros, after_zeros(zeros, (uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
}
#endif

__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const uint8_t *p,
                                                              size_t n)
{
#ifdef __x86_64__
    for (; n >= 3 * LONG_BLOCK; n -= 3 * LONG_BLOCK, p += 3 * LONG_BLOCK)
        c = crc_sse42_3way(c, p, LONG_BLOCK, zeros_long);
    for (; n >= 3 * SHORT_BLOCK; n -= 3 * SHORT_BLOCK, p += 3 * SHORT_BLOCK)
        c = crc_sse42_3way(c, p, SHORT_BLOCK, zeros_short);
    uint64_t c64 = c;
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c64 = _mm_crc32_u64(c64, v);
        p += 8;
        n -= 8;
    }
    c = (uint32_t)c64;
#endif
    while (n >= 4) {
        uint32_t v;
        memcpy(&v, p, 4);
        c = _mm_crc32_u32(c, v);
        p += 4;
        n -= 4;
    }
    while (n--)
        c = _mm_crc32_u8(c, *p++);
    return c;
}

#ifdef __x86_64__
/* AVX-512 with VPCLMULQDQ: sixteen 16-byte lanes, each folded 256 bytes on per step by two
 * carry-less multiplies (lane L holds F | S, 8 bytes each, F first: F * x^(8D+64) + S * x^(8D)
 * is congruent to L moved D bytes on, and has 128 bits), then the lanes are folded into one
 * and the CRC instruction takes that one's 16 bytes.  Twice the CRC instruction's speed, and
 * copying the data as it goes costs one store a load: the reader's records are copied out and
 * checked in one pass over them.  A constant pair for D bytes is [x^(8D+31), x^(8D-33)]: the
 * multiply's product sits one bit lower than the lane's order, and a 32-bit remainder r in the
 * low half of a 64-bit lane stands for r * x^32. */
#define VP_TARGET __attribute__((target("avx512f,vpclmulqdq,sse4.2")))
static uint64_t fold_k[5][2]; /* D = 256, 64, 48, 32, 16 */

static void make_fold(void)
{
    static const uint64_t d[5] = {256, 64, 48, 32, 16};
    for (int i = 0; i < 5; i++) {
        fold_k[i][0] = x_pow(8 * d[i] + 31);
        fold_k[i][1] = x_pow(8 * d[i] - 33);
    }
}

VP_TARGET static inline __m512i fold_by(__m512i x, __m512i k, __m512i with)
{
    return _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(x, k, 0x00),
                                     _mm512_clmulepi64_epi128(x, k, 0x11), with, 0x96);
}

VP_TARGET static inline __m512i lanes_of(const uint64_t k[2])
{
    return _mm512_broadcast_i32x4(_mm_set_epi64x((long long)k[1], (long long)k[0]));
}

/* the CRC of n bytes at p, copied to dst as they are read when copy */
VP_TARGET __attribute__((always_inline)) static inline uint32_t
crc_vp_body(uint32_t c, uint8_t *dst, const uint8_t *p, size_t n, int copy)
{
    if (n < COPY_CHECKED_AT) {
        if (copy && n)
            memcpy(dst, p, n);
        return crc_sse42(c, p, n);
    }
    __m512i x[4];
    for (int i = 0; i < 4; i++) {
        x[i] = _mm512_loadu_si512(p + 64 * i);
        if (copy)
            _mm512_storeu_si512(dst + 64 * i, x[i]);
    }
    /* the register so far goes into the first 4 bytes (the CRC is linear) */
    x[0] = _mm512_xor_si512(x[0], _mm512_setr_epi32((int)c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                                    0, 0, 0));
    p += 256;
    dst += copy ? 256 : 0;
    n -= 256;
    const __m512i k256 = lanes_of(fold_k[0]);
    for (; n >= 256; n -= 256, p += 256) {
        for (int i = 0; i < 4; i++) {
            __m512i y = _mm512_loadu_si512(p + 64 * i);
            if (copy)
                _mm512_storeu_si512(dst + 64 * i, y);
            x[i] = fold_by(x[i], k256, y);
        }
        dst += copy ? 256 : 0;
    }
    const __m512i k64 = lanes_of(fold_k[1]);
    for (int i = 1; i < 4; i++)
        x[i] = fold_by(x[i - 1], k64, x[i]);
    /* the last 64 bytes' four lanes: the first three folded by 48, 32 and 16 onto the fourth */
    const __m512i kl = _mm512_set_epi64(0, 0, (long long)fold_k[4][1], (long long)fold_k[4][0],
                                        (long long)fold_k[3][1], (long long)fold_k[3][0],
                                        (long long)fold_k[2][1], (long long)fold_k[2][0]);
    __m512i f = fold_by(x[3], kl, _mm512_maskz_mov_epi64(0xC0, x[3]));
    __m128i a = _mm_xor_si128(
        _mm_xor_si128(_mm512_extracti32x4_epi32(f, 0), _mm512_extracti32x4_epi32(f, 1)),
        _mm_xor_si128(_mm512_extracti32x4_epi32(f, 2), _mm512_extracti32x4_epi32(f, 3)));
    uint64_t c64 = _mm_crc32_u64(0, (uint64_t)_mm_cvtsi128_si64(a));
    c64 = _mm_crc32_u64(c64, (uint64_t)_mm_extract_epi64(a, 1));
    if (copy && n)
        memcpy(dst, p, n);
    return crc_sse42((uint32_t)c64, p, n);
}

VP_TARGET static uint32_t crc_vp(uint32_t c, const uint8_t *p, size_t n)
{
    return crc_vp_body(c, NULL, p, n, 0);
}

VP_TARGET static uint32_t crc_vp_copy(uint32_t c, uint8_t *dst, const uint8_t *p, size_t n)
{
    return crc_vp_body(c, dst, p, n, 1);
}
#endif
#endif

#ifdef TFL_ARM
__attribute__((target("+crc"))) static uint32_t crc_armv8(uint32_t c, const uint8_t *p,
                                                           size_t n)
{
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __crc32cd(c, v);
        p += 8;
        n -= 8;
    }
    while (n--)
        c = __crc32cb(c, *p++);
    return c;
}
#endif

/* the CRC of n bytes, copied to dst on the way (the reader's records): a copy, then the CRC,
 * where the CRC cannot copy as it goes */
typedef uint32_t (*crc_copy_fn)(uint32_t, uint8_t *, const uint8_t *, size_t);

static crc_fn crc_impl = crc_table;
static crc_fn crc_short_impl = crc_table; /* for fewer than COPY_CHECKED_AT bytes */
static const char *crc_kind = "table";

static uint32_t crc_then_copy(uint32_t c, uint8_t *dst, const uint8_t *p, size_t n)
{
    if (n)
        memcpy(dst, p, n);
    return crc_impl(c, p, n);
}

static crc_copy_fn crc_copy_impl = crc_then_copy;

static void choose_crc(void)
{
#ifdef TFL_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) {
        crc_impl = crc_short_impl = crc_sse42;
        crc_kind = "sse4.2";
    }
#ifdef __x86_64__
    if (__builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("vpclmulqdq")) {
        make_fold();
        crc_impl = crc_vp;
        crc_copy_impl = crc_vp_copy;
        crc_kind = "vpclmulqdq";
    }
#endif
#endif
#ifdef TFL_ARM
    if (getauxval(AT_HWCAP) & HWCAP_CRC32) {
        crc_impl = crc_short_impl = crc_armv8;
        crc_kind = "armv8";
    }
#endif
}

/* TFRecord's mask of a finished CRC-32C (crc.mask) */
static inline uint32_t mask_crc(uint32_t c)
{
    return ((c >> 15) | (c << 17)) + MASK_DELTA;
}

static inline uint32_t masked(const uint8_t *p, size_t n)
{
    return mask_crc(~(n < COPY_CHECKED_AT ? crc_short_impl : crc_impl)(0xFFFFFFFFu, p, n));
}

/* masked(), without the GIL for long data (other threads run meanwhile) */
static uint32_t masked_unlocked(const uint8_t *p, size_t n)
{
    uint32_t m;
    if (n < UNLOCK_AT)
        return masked(p, n);
    Py_BEGIN_ALLOW_THREADS
    m = masked(p, n);
    Py_END_ALLOW_THREADS
    return m;
}

/* masked() of n bytes copied to dst as they are read (without the GIL for long data: dst is
 * not seen by anyone else yet) */
static uint32_t masked_copy(uint8_t *dst, const uint8_t *p, size_t n)
{
    uint32_t c;
    if (n < UNLOCK_AT) {
        c = ~crc_copy_impl(0xFFFFFFFFu, dst, p, n);
    } else {
        Py_BEGIN_ALLOW_THREADS
        c = ~crc_copy_impl(0xFFFFFFFFu, dst, p, n);
        Py_END_ALLOW_THREADS
    }
    return mask_crc(c);
}

static PyObject *crc_call(PyObject *args, crc_fn fn)
{
    Py_buffer view;
    unsigned long value = 0;
    if (!PyArg_ParseTuple(args, "y*|k", &view, &value))
        return NULL;
    uint32_t c = ~fn(~(uint32_t)value, (const uint8_t *)view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(c);
}

static PyObject *py_crc32c(PyObject *self, PyObject *args)
{
    (void)self;
    return crc_call(args, crc_impl);
}

static PyObject *py_crc32c_table(PyObject *self, PyObject *args)
{
    (void)self;
    return crc_call(args, crc_table);
}

#ifdef TFL_X86
/* the SSE4.2 CRC on its own, where a faster one is chosen (to test it; see choose_crc) */
static PyObject *py_crc32c_sse42(PyObject *self, PyObject *args)
{
    (void)self;
    if (!__builtin_cpu_supports("sse4.2")) {
        PyErr_SetString(PyExc_RuntimeError, "this CPU has no SSE4.2");
        return NULL;
    }
    return crc_call(args, crc_sse42);
}
#endif

static PyObject *py_masked_crc(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    (void)self;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    uint32_t m = masked_unlocked((const uint8_t *)view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLong(m);
}

/* walk(buf, pos, verify) -> (records, pos, bad)
 *
 * The records buf holds whole from pos on, up to the first one it cuts or (verify) the first
 * whose length CRC or data CRC does not match; pos is where that record starts and bad says
 * which of the two stopped the walk.  A length is compared with the bytes left before any
 * record is made, so a forged length allocates nothing. */
static PyObject *py_walk(PyObject *self, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos;
    int verify, bad = 0;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*np", &view, &pos, &verify))
        return NULL;
    const uint8_t *b = (const uint8_t *)view.buf;
    Py_ssize_t n = view.len;
    if (pos < 0 || pos > n) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "walk: pos is outside the buffer");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    while (n - pos >= 16) {
        const uint8_t *head = b + pos;
        uint64_t length = load64(head);
        if (verify && masked(head, 8) != load32(head + 8)) {
            bad = 1;
            break;
        }
        if (length > (uint64_t)(n - pos - 16))
            break; /* cut by the buffer's end (or a forged length): the caller reads on */
        const uint8_t *data = head + 12;
        PyObject *record;
        if (!verify || length < COPY_CHECKED_AT) {
            if (verify && masked(data, (size_t)length) != load32(data + length)) {
                bad = 1;
                break;
            }
            record = PyBytes_FromStringAndSize((const char *)data, (Py_ssize_t)length);
        } else {
            /* made first, so that its bytes are checked as they are copied in */
            record = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)length);
            if (record != NULL && masked_copy((uint8_t *)PyBytes_AS_STRING(record), data,
                                              (size_t)length) != load32(data + length)) {
                Py_DECREF(record);
                bad = 1;
                break;
            }
        }
        if (record == NULL || PyList_Append(out, record) < 0) {
            Py_XDECREF(record);
            Py_DECREF(out);
            PyBuffer_Release(&view);
            return NULL;
        }
        Py_DECREF(record);
        pos += 16 + (Py_ssize_t)length;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("(NnO)", out, pos, bad ? Py_True : Py_False);
}

/* frame(records) -> bytes: each record framed (length, masked length CRC, data, masked data
 * CRC), all joined: the bytes of framing each on its own. */
static PyObject *py_frame(PyObject *self, PyObject *arg)
{
    (void)self;
    PyObject *seq = PySequence_Fast(arg, "frame() takes a sequence of bytes-like records");
    if (seq == NULL)
        return NULL;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Py_buffer *views = PyMem_Calloc((size_t)(k ? k : 1), sizeof(Py_buffer));
    PyObject *out = NULL;
    Py_ssize_t got = 0, total = 0;
    if (views == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (; got < k; got++) {
        if (PyObject_GetBuffer(items[got], &views[got], PyBUF_SIMPLE) < 0)
            goto done;
        if (views[got].len > PY_SSIZE_T_MAX - 16 - total) {
            got++;
            PyErr_SetString(PyExc_OverflowError, "frame: the records are too large to join");
            goto done;
        }
        total += views[got].len + 16;
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL)
        goto done;
    uint8_t *w = (uint8_t *)PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < k; i++) {
        size_t len = (size_t)views[i].len;
        store64(w, (uint64_t)len);
        store32(w + 8, masked(w, 8));
        if (len)
            memcpy(w + 12, views[i].buf, len);
        store32(w + 12 + len, masked_unlocked(w + 12, len));
        w += 16 + len;
    }
done:
    for (Py_ssize_t i = 0; i < got; i++)
        PyBuffer_Release(&views[i]);
    PyMem_Free(views);
    Py_DECREF(seq);
    return out;
}

/* ---- decode_plain: example.py's _decode_plain (see there) in C ----
 *
 * The same contract: a dict for Examples laid out as serialisers write them, None for any
 * other layout or bad bytes (decode_example then leaves them to protobuf, which decodes or
 * refuses them).  Every position is compared with the end of what holds it before it is read. */

static PyObject *bytes_values, *float_values, *int_values; /* example.py's typed lists */

/* the varint at d[*i] (before n) into *out, *i moved past it; 0 when there is none there */
static int read_varint(const uint8_t *d, Py_ssize_t n, Py_ssize_t *i, uint64_t *out)
{
    uint64_t r = 0;
    Py_ssize_t j = *i;
    for (int shift = 0; j < n && shift < 64; shift += 7) {
        uint8_t b = d[j++];
        r |= (uint64_t)(b & 0x7F) << shift;
        if (b < 0x80) {
            *out = r;
            *i = j;
            return 1;
        }
    }
    return 0;
}

/* a field's tag byte at d[*i] must be tag; then its varint length: *i moved past both */
static int field_at(const uint8_t *d, Py_ssize_t n, Py_ssize_t *i, uint8_t tag, uint64_t *len)
{
    if (*i >= n || d[*i] != tag)
        return 0;
    *i += 1;
    return read_varint(d, n, i, len);
}

/* ``len`` bytes from i end exactly at end */
static inline int ends_at(Py_ssize_t i, uint64_t len, Py_ssize_t end)
{
    return i <= end && len == (uint64_t)(end - i);
}

static PyObject *new_values(PyObject *cls)
{
    return PyObject_CallNoArgs(cls);
}

static int append_new(PyObject *list, PyObject *item)
{
    if (item == NULL)
        return -1;
    int r = PyList_Append(list, item);
    Py_DECREF(item);
    return r;
}

static PyObject *packed_ints(const uint8_t *d, Py_ssize_t i, Py_ssize_t end, int *plain)
{
    PyObject *values = new_values(int_values);
    if (values == NULL)
        return NULL;
    while (i < end) {
        uint64_t v;
        if (!read_varint(d, end, &i, &v)) {
            *plain = 0;
            break;
        }
        PyObject *item = v >= ((uint64_t)1 << 63) ? PyLong_FromLongLong((long long)(int64_t)v)
                                                  : PyLong_FromUnsignedLongLong(v);
        if (append_new(values, item) < 0) {
            Py_DECREF(values);
            return NULL;
        }
    }
    return values;
}

static PyObject *packed_floats(const uint8_t *d, Py_ssize_t i, Py_ssize_t end)
{
    PyObject *values = new_values(float_values);
    if (values == NULL)
        return NULL;
    for (; i < end; i += 4) {
#if PY_VERSION_HEX >= 0x030B0000
        double x = PyFloat_Unpack4((const char *)d + i, 1);
#else
        double x = _PyFloat_Unpack4(d + i, 1);
#endif
        if ((x == -1.0 && PyErr_Occurred()) || append_new(values, PyFloat_FromDouble(x)) < 0) {
            Py_DECREF(values);
            return NULL;
        }
    }
    return values;
}

/* 1: decoded into out, 0: not the plain layout, -1: a Python error */
static int decode_into(const uint8_t *d, Py_ssize_t n, PyObject *out)
{
    Py_ssize_t i = 0;
    uint64_t len;
    while (i < n) { /* Example.features = 1 (several are merged, as protobuf does) */
        if (!field_at(d, n, &i, 0x0A, &len) || len > (uint64_t)(n - i))
            return 0;
        Py_ssize_t end = i + (Py_ssize_t)len;
        while (i < end) { /* Features.feature = 1: map entries {key = 1, value = 2} */
            if (!field_at(d, n, &i, 0x0A, &len) || i > end || len > (uint64_t)(end - i))
                return 0;
            Py_ssize_t entry_end = i + (Py_ssize_t)len;
            if (!field_at(d, n, &i, 0x0A, &len) || i > entry_end ||
                len > (uint64_t)(entry_end - i))
                return 0; /* a key past its entry: the pure walk ends up refusing it too */
            PyObject *key = PyUnicode_DecodeUTF8((const char *)d + i, (Py_ssize_t)len, NULL);
            if (key == NULL) {
                if (!PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                    return -1;
                PyErr_Clear();
                return 0;
            }
            i += (Py_ssize_t)len;
            PyObject *values = NULL;
            int plain = 1;
            if (!field_at(d, n, &i, 0x12, &len) || !ends_at(i, len, entry_end)) {
                plain = 0;
            } else if (len == 0) {
                values = PyList_New(0); /* a Feature with no kind set */
            } else {
                uint8_t kind = d[i];
                if (!field_at(d, n, &i, kind, &len) || !ends_at(i, len, entry_end)) {
                    plain = 0;
                } else if (kind == 0x0A) { /* bytes_list: repeated bytes value = 1 */
                    values = new_values(bytes_values);
                    while (values != NULL && i < entry_end) {
                        if (!field_at(d, n, &i, 0x0A, &len) || i > entry_end ||
                            len > (uint64_t)(entry_end - i)) {
                            plain = 0;
                            break;
                        }
                        PyObject *v = PyBytes_FromStringAndSize((const char *)d + i,
                                                                (Py_ssize_t)len);
                        if (append_new(values, v) < 0)
                            Py_CLEAR(values);
                        i += (Py_ssize_t)len;
                    }
                } else if (kind != 0x12 && kind != 0x1A) {
                    plain = 0;
                } else if (i == entry_end) {
                    values = new_values(kind == 0x12 ? float_values : int_values);
                } else if (!field_at(d, n, &i, 0x0A, &len) || !ends_at(i, len, entry_end)) {
                    plain = 0; /* packed value = 1, filling the list */
                } else if (kind == 0x12) {
                    if (len & 3)
                        plain = 0;
                    else
                        values = packed_floats(d, i, entry_end);
                } else {
                    values = packed_ints(d, i, entry_end, &plain);
                }
                i = entry_end;
            }
            if (!plain || values == NULL) {
                Py_DECREF(key);
                Py_XDECREF(values);
                return plain ? -1 : 0;
            }
            int r = PyDict_SetItem(out, key, values);
            Py_DECREF(key);
            Py_DECREF(values);
            if (r < 0)
                return -1;
        }
    }
    return 1;
}

/* decode_plain(data: bytes) -> dict (keys sorted) | None */
static PyObject *py_decode_plain(PyObject *self, PyObject *arg)
{
    (void)self;
    if (bytes_values == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "decode_plain: set_value_types was not called");
        return NULL;
    }
    if (!PyBytes_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "decode_plain takes bytes");
        return NULL;
    }
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    int r = decode_into((const uint8_t *)PyBytes_AS_STRING(arg), PyBytes_GET_SIZE(arg), out);
    if (r <= 0) {
        Py_DECREF(out);
        if (r < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    PyObject *keys = PyDict_Keys(out);
    PyObject *sorted = keys != NULL && PyList_Sort(keys) == 0 ? PyDict_New() : NULL;
    for (Py_ssize_t k = 0; sorted != NULL && k < PyList_GET_SIZE(keys); k++) {
        PyObject *key = PyList_GET_ITEM(keys, k);
        if (PyDict_SetItem(sorted, key, PyDict_GetItem(out, key)) < 0)
            Py_CLEAR(sorted);
    }
    Py_XDECREF(keys);
    Py_DECREF(out);
    return sorted;
}

/* ---- encode: example.py's encode_example and encode_sequence_example, for plain values ----
 *
 * The pure encoder's bytes for the values it takes without a question: an exact dict of exact
 * str keys to exact bytes, str, int, bool, float, a list or tuple of one of those, or a typed
 * list (BytesValues, FloatValues, IntValues) of them.  Anything else (numpy values, protobuf
 * messages, subclasses, bytearray, a key or str that is not UTF-8, an int outside int64, a
 * finite float outside float32's range, sizes past the cap) gives None, and the pure encoder
 * then encodes it or raises its own error, so both ways give the same bytes or the same error.
 *
 * Two passes: every size first, each sum checked against the cap before it is made, then one
 * bytes object of exactly that size is filled.  Between the two no Python code runs (exact
 * types only; the only allocations are the output and the entry array, neither tracked by the
 * garbage collector), so no list can change under the second pass. */

enum { K_NONE, K_BYTES, K_INTS, K_FLOATS, K_HOLE }; /* K_HOLE: n bytes, written later */

#define SIZE_CAP ((uint64_t)PY_SSIZE_T_MAX / 2) /* every size is below this: no sum overflows */

typedef struct {
    PyObject *one;          /* a scalar value: items points here */
    PyObject *const *items; /* the values */
    Py_ssize_t count;
    int kind, ints_too;     /* ints_too: a FloatValues, which takes ints (struct.pack does) */
    uint64_t packed;        /* the list's values: packed numbers, or the bytes fields */
    uint64_t size;          /* the whole serialised Feature */
} Feat;

typedef struct {
    const char *key;
    Py_ssize_t key_len;
    PyObject *value;
    int hole;            /* the value is the length of a bytes value written later */
    uint64_t value_size; /* the Feature (or FeatureList) */
    uint64_t size;       /* the map entry's content */
} Entry;

static inline int varint_len(uint64_t v)
{
    int n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static inline uint8_t *put_varint(uint8_t *w, uint64_t v)
{
    while (v >= 0x80) {
        *w++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *w++ = (uint8_t)v;
    return w;
}

static inline uint8_t *put_head(uint8_t *w, uint8_t tag, uint64_t n)
{
    *w++ = tag;
    return put_varint(w, n);
}

/* *acc += n, unless that passes the cap (0: too large for the fast path) */
static inline int grow(uint64_t *acc, uint64_t n)
{
    if (n > SIZE_CAP - *acc)
        return 0;
    *acc += n;
    return 1;
}

/* *acc += a length-delimited field of n bytes (its tag, its length, its bytes) */
static inline int grow_field(uint64_t *acc, uint64_t n)
{
    return n <= SIZE_CAP && grow(acc, 1 + (uint64_t)varint_len(n) + n);
}

/* the UTF-8 bytes of an exact bytes or str value (NULL, no error set: not one) */
static const char *bytes_of(PyObject *v, Py_ssize_t *len)
{
    if (PyBytes_CheckExact(v)) {
        *len = PyBytes_GET_SIZE(v);
        return PyBytes_AS_STRING(v);
    }
    if (PyUnicode_CheckExact(v)) {
        const char *s = PyUnicode_AsUTF8AndSize(v, len); /* kept in the str: the 2nd is free */
        if (s == NULL)
            PyErr_Clear(); /* a lone surrogate: the pure encoder raises its error */
        return s;
    }
    return NULL;
}

/* an exact int or bool as int64 (0: not one, or out of range) */
static int int64_of(PyObject *v, int64_t *out)
{
    int overflow;
    if (!PyLong_CheckExact(v) && !PyBool_Check(v))
        return 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    *out = (int64_t)x;
    return 1;
}

/* an exact float (or with ints_too an int or bool, as a double) that float32 holds (0: not) */
static int float_of(PyObject *v, int ints_too, double *out)
{
    double x;
    if (PyFloat_CheckExact(v))
        x = PyFloat_AS_DOUBLE(v);
    else if (ints_too && (PyLong_CheckExact(v) || PyBool_Check(v))) {
        x = PyLong_AsDouble(v);
        if (x == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return 0;
        }
    } else
        return 0;
    if (isfinite(x) && fabs(x) > FLT_MAX)
        return 0; /* refused, or rounded to FLT_MAX by struct.pack: the pure encoder decides */
    *out = x;
    return 1;
}

/* the kind and sizes of value's Feature (1), or 0: not a value the fast path takes; a hole's
 * value is the length of the one bytes value it will hold */
static int measure(PyObject *v, int hole, Feat *f)
{
    PyTypeObject *t = Py_TYPE(v);
    f->one = v;
    f->items = &f->one;
    f->count = 1;
    f->ints_too = 0;
    f->packed = 0;
    if (hole) {
        Py_ssize_t n = PyLong_CheckExact(v) ? PyLong_AsSsize_t(v) : -1;
        if (n < 0 || (uint64_t)n > SIZE_CAP) {
            PyErr_Clear();
            return 0;
        }
        uint64_t body = 0; /* a bytes_list of one value of n bytes */
        f->kind = K_HOLE;
        f->packed = (uint64_t)n; /* (a hole's packed is its value's length) */
        f->size = 0;
        return grow_field(&body, f->packed) && grow_field(&f->size, body);
    }
    if (t == &PyBytes_Type || t == &PyUnicode_Type)
        f->kind = K_BYTES;
    else if (t == &PyLong_Type || t == &PyBool_Type)
        f->kind = K_INTS;
    else if (t == &PyFloat_Type)
        f->kind = K_FLOATS;
    else if (PyList_Check(v) || t == &PyTuple_Type) {
        f->items = PySequence_Fast_ITEMS(v);
        f->count = PySequence_Fast_GET_SIZE(v);
        if ((PyObject *)t == bytes_values)
            f->kind = K_BYTES;
        else if ((PyObject *)t == int_values)
            f->kind = K_INTS;
        else if ((PyObject *)t == float_values) {
            f->kind = K_FLOATS;
            f->ints_too = 1;
        } else if (t != &PyList_Type && t != &PyTuple_Type)
            return 0; /* a list subclass of the caller's */
        else if (f->count == 0)
            f->kind = K_NONE; /* no kind: TensorFlow reads it as empty of any type */
        else {
            PyTypeObject *first = Py_TYPE(f->items[0]);
            if (first == &PyBytes_Type || first == &PyUnicode_Type)
                f->kind = K_BYTES;
            else if (first == &PyLong_Type || first == &PyBool_Type)
                f->kind = K_INTS;
            else if (first == &PyFloat_Type)
                f->kind = K_FLOATS;
            else
                return 0;
        }
    } else
        return 0;
    if (f->kind == K_NONE) {
        f->size = 0;
        return 1;
    }
    for (Py_ssize_t i = 0; i < f->count; i++) {
        PyObject *item = f->items[i];
        if (f->kind == K_BYTES) {
            Py_ssize_t len;
            if (bytes_of(item, &len) == NULL || !grow_field(&f->packed, (uint64_t)len))
                return 0;
        } else if (f->kind == K_INTS) {
            int64_t x;
            if (!int64_of(item, &x))
                return 0;
            f->packed += (uint64_t)varint_len((uint64_t)x); /* <= 10 x 2^60: no overflow */
        } else {
            double x;
            if (!float_of(item, f->ints_too, &x))
                return 0;
            f->packed += 4;
        }
    }
    uint64_t body = 0; /* the list message: bytes fields, or its one packed field (if any) */
    if (f->kind == K_BYTES)
        body = f->packed;
    else if (f->packed && !grow_field(&body, f->packed))
        return 0;
    f->size = 0;
    return grow_field(&f->size, body);
}

/* value's Feature, as measure() found it, written at w; the end of what it wrote (a hole: its
 * heads, and *hole = where its bytes go, none of which are written) */
static uint8_t *write_feature(uint8_t *w, const Feat *f, uint8_t **hole)
{
    if (f->kind == K_NONE)
        return w;
    if (f->kind == K_HOLE) {
        uint64_t body = 1 + (uint64_t)varint_len(f->packed) + f->packed;
        w = put_head(put_head(w, 0x0A, body), 0x0A, f->packed);
        *hole = w;
        return w;
    }
    if (f->kind == K_BYTES) {
        w = put_head(w, 0x0A, f->packed); /* Feature.bytes_list = 1 */
        for (Py_ssize_t i = 0; i < f->count; i++) {
            Py_ssize_t len = 0;
            const char *s = bytes_of(f->items[i], &len); /* measured: not NULL */
            w = put_head(w, 0x0A, (uint64_t)len); /* BytesList.value = 1 */
            memcpy(w, s, (size_t)len);
            w += len;
        }
        return w;
    }
    /* Feature.float_list = 2, Feature.int64_list = 3; their packed value = 1 */
    uint64_t body = f->packed ? 1 + (uint64_t)varint_len(f->packed) + f->packed : 0;
    w = put_head(w, f->kind == K_FLOATS ? 0x12 : 0x1A, body);
    if (f->packed)
        w = put_head(w, 0x0A, f->packed);
    for (Py_ssize_t i = 0; i < f->count; i++) {
        if (f->kind == K_INTS) {
            int64_t x = 0;
            int64_of(f->items[i], &x);
            w = put_varint(w, (uint64_t)x);
        } else {
            double x = 0;
            float_of(f->items[i], f->ints_too, &x);
#if PY_VERSION_HEX >= 0x030B0000
            PyFloat_Pack4(x, (char *)w, 1); /* struct.pack's own rounding; cannot overflow here */
#else
            _PyFloat_Pack4(x, w, 1);
#endif
            w += 4;
        }
    }
    return w;
}

/* a FeatureList value (lists = 1): an exact list or tuple of Feature values (0: not) */
static int measure_steps(PyObject *v, uint64_t *size)
{
    Feat f;
    if (!PyList_CheckExact(v) && !PyTuple_CheckExact(v))
        return 0;
    *size = 0;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(v); i++)
        if (!measure(PySequence_Fast_ITEMS(v)[i], 0, &f) || !grow_field(size, f.size))
            return 0;
    return 1;
}

static uint8_t *write_steps(uint8_t *w, PyObject *v)
{
    Feat f;
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(v); i++) {
        measure(PySequence_Fast_ITEMS(v)[i], 0, &f); /* measured before: the same answer */
        w = write_feature(put_head(w, 0x0A, f.size), &f, NULL); /* FeatureList.feature = 1 */
    }
    return w;
}

/* protobuf's deterministic map order as example.py's _key_order has it: bytewise, a key after
 * the longer keys it is a prefix of */
static int entry_order(const void *a, const void *b)
{
    const Entry *x = a, *y = b;
    int c = memcmp(x->key, y->key, (size_t)(x->key_len < y->key_len ? x->key_len : y->key_len));
    if (c != 0)
        return c;
    return x->key_len < y->key_len ? 1 : x->key_len > y->key_len ? -1 : 0;
}

/* A map<string, Feature> (lists = 0) or map<string, FeatureList> (lists = 1) field 1: its
 * entries measured and sorted into *out (PyMem_Free it) and their total into *total; the entry
 * named hole (if not NULL) is a hole.  1: done, 0: not for the fast path, -1: a Python error
 * (no memory). */
static int measure_map(PyObject *map, int lists, const char *hole, Py_ssize_t hole_len,
                       Entry **out, Py_ssize_t *n, uint64_t *total)
{
    Py_ssize_t pos = 0, k = 0;
    PyObject *key, *value;
    *n = PyDict_GET_SIZE(map);
    *out = PyMem_New(Entry, *n ? *n : 1);
    if (*out == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Entry *es = *out;
    while (PyDict_Next(map, &pos, &key, &value)) {
        if (!PyUnicode_CheckExact(key) || k >= *n)
            return 0;
        es[k].key = PyUnicode_AsUTF8AndSize(key, &es[k].key_len);
        if (es[k].key == NULL) {
            PyErr_Clear(); /* a lone surrogate: the pure encoder raises */
            return 0;
        }
        es[k++].value = value;
    }
    *n = k;
    qsort(es, (size_t)k, sizeof(Entry), entry_order);
    *total = 0;
    for (Py_ssize_t i = 0; i < k; i++) {
        Feat f;
        es[i].hole = hole != NULL && es[i].key_len == hole_len &&
                     memcmp(es[i].key, hole, (size_t)hole_len) == 0;
        if (lists ? !measure_steps(es[i].value, &es[i].value_size)
                  : !measure(es[i].value, es[i].hole, &f))
            return 0;
        if (!lists)
            es[i].value_size = f.size;
        es[i].size = 0; /* entry {key = 1; value = 2} */
        if (!grow_field(&es[i].size, (uint64_t)es[i].key_len) ||
            !grow_field(&es[i].size, es[i].value_size) || !grow_field(total, es[i].size))
            return 0;
    }
    return 1;
}

static uint8_t *write_map(uint8_t *w, const Entry *es, Py_ssize_t n, int lists, uint8_t **hole)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        w = put_head(w, 0x0A, es[i].size);
        w = put_head(w, 0x0A, (uint64_t)es[i].key_len);
        memcpy(w, es[i].key, (size_t)es[i].key_len);
        w = put_head(w + es[i].key_len, 0x12, es[i].value_size);
        if (lists) {
            w = write_steps(w, es[i].value);
        } else {
            Feat f;
            measure(es[i].value, es[i].hole, &f); /* measured before: the same answer */
            w = write_feature(w, &f, hole);
        }
    }
    return w;
}

/* encode_example(features) -> bytes | None */
static PyObject *py_encode_example(PyObject *self, PyObject *arg)
{
    (void)self;
    if (bytes_values == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "encode_example: set_value_types was not called");
        return NULL;
    }
    if (!PyDict_CheckExact(arg))
        Py_RETURN_NONE;
    Entry *es;
    Py_ssize_t n;
    uint64_t total = 0, size = 0;
    int r = measure_map(arg, 0, NULL, 0, &es, &n, &total);
    PyObject *out = NULL;
    if (r > 0 && grow_field(&size, total))
        out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (out != NULL) {
        uint8_t *start = (uint8_t *)PyBytes_AS_STRING(out);
        uint8_t *w = write_map(put_head(start, 0x0A, total), es, n, 0, NULL); /* features */
        if (w != start + size)
            Py_CLEAR(out); /* cannot happen (the sizes were measured): the pure way, then */
    }
    PyMem_Free(es);
    if (out == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return out;
}

/* encode_sequence_example(context, feature_lists) -> bytes | None: each part None or a dict;
 * an empty one is left out, as protobuf leaves out unset messages */
static PyObject *py_encode_sequence_example(PyObject *self, PyObject *args)
{
    PyObject *maps[2];
    (void)self;
    if (!PyArg_ParseTuple(args, "OO", &maps[0], &maps[1]))
        return NULL;
    if (bytes_values == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "encode_sequence_example: set_value_types was not called");
        return NULL;
    }
    Entry *es[2] = {NULL, NULL};
    Py_ssize_t n[2] = {0, 0};
    uint64_t totals[2] = {0, 0}, size = 0;
    int r = 1;
    for (int m = 0; m < 2 && r > 0; m++) { /* SequenceExample.context = 1, feature_lists = 2 */
        if (maps[m] == Py_None)
            continue;
        if (!PyDict_CheckExact(maps[m]))
            r = 0;
        else if (PyDict_GET_SIZE(maps[m]) > 0) {
            r = measure_map(maps[m], m, NULL, 0, &es[m], &n[m], &totals[m]);
            if (r > 0 && !grow_field(&size, totals[m]))
                r = 0;
        }
    }
    PyObject *out = NULL;
    if (r > 0)
        out = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (out != NULL) {
        uint8_t *start = (uint8_t *)PyBytes_AS_STRING(out), *w = start;
        for (int m = 0; m < 2; m++)
            if (es[m] != NULL)
                w = write_map(put_head(w, m ? 0x12 : 0x0A, totals[m]), es[m], n[m], m, NULL);
        if (w != start + size)
            Py_CLEAR(out); /* cannot happen (the sizes were measured): the pure way, then */
    }
    PyMem_Free(es[0]);
    PyMem_Free(es[1]);
    if (out == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return out;
}

/* encode_example_parts(features, key) -> (prefix, suffix) | None: features[key] is the length
 * n of one bytes value; prefix + that value + suffix is encode_example of features with it.  A
 * record's size is then known before its image is read (the converter lays out its shards so) */
static PyObject *py_encode_example_parts(PyObject *self, PyObject *args)
{
    PyObject *features, *key;
    (void)self;
    if (!PyArg_ParseTuple(args, "OU", &features, &key))
        return NULL;
    if (bytes_values == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "encode_example_parts: set_value_types was not called");
        return NULL;
    }
    Py_ssize_t hole_len;
    const char *hole_key = PyUnicode_AsUTF8AndSize(key, &hole_len);
    if (hole_key == NULL) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    if (!PyDict_CheckExact(features))
        Py_RETURN_NONE;
    Entry *es;
    Py_ssize_t n;
    uint64_t total = 0, size = 0;
    int r = measure_map(features, 0, hole_key, hole_len, &es, &n, &total);
    PyObject *out = NULL;
    uint8_t *start = NULL, *hole = NULL;
    Py_ssize_t at = 0;
    while (r > 0 && at < n && !es[at].hole)
        at++;
    if (r > 0 && at < n && grow_field(&size, total)) { /* (no entry named key: None) */
        size -= (uint64_t)PyLong_AsSsize_t(es[at].value); /* measured: 0 <= it <= SIZE_CAP */
        start = PyMem_Malloc(size ? (size_t)size : 1); /* not its value, which goes between */
        if (start == NULL)
            PyErr_NoMemory();
    }
    if (start != NULL) {
        uint8_t *w = write_map(put_head(start, 0x0A, total), es, n, 0, &hole);
        if (w == start + size && hole != NULL)
            out = Py_BuildValue("(y#y#)", (const char *)start, (Py_ssize_t)(hole - start),
                                (const char *)hole, (Py_ssize_t)(w - hole));
        PyMem_Free(start);
    }
    PyMem_Free(es);
    if (out == NULL && !PyErr_Occurred())
        Py_RETURN_NONE;
    return out;
}

static PyObject *py_set_value_types(PyObject *self, PyObject *args)
{
    PyObject *b, *f, *i;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &b, &f, &i))
        return NULL;
    Py_INCREF(b);
    Py_INCREF(f);
    Py_INCREF(i);
    Py_XSETREF(bytes_values, b);
    Py_XSETREF(float_values, f);
    Py_XSETREF(int_values, i);
    Py_RETURN_NONE;
}

/* ---- the image header scan: groundtruth/headers.py's sniff and images.py's end check ------
 *
 * scan_image(path, tail, max_pixels) -> (format, width, height, orientation, mode,
 * transparency, size, ends) | None: what headers.sniff reads from the file's first bytes (the
 * same reads, at the same offsets, the same answer), its size by fstat, and whether its last
 * ``tail`` bytes hold the format's end marker (images._check_end), asked only where
 * read_header asks it: ``max_pixels`` set and not exceeded (else ``ends`` is None).  None
 * where sniff gives None: the caller then asks the pure path, which asks Pillow.  One open and close, no file object and
 * no interpreter work between the system calls: the converter does this once per image.
 * Errors are os.open's, os.fstat's and os.pread's (the filename on the open's only). */
#ifdef TFL_SCAN

#define SNIFF_READ 8192 /* headers._READ */

typedef struct {
    int fd;
    uint8_t *buf;   /* what the last read gave: the first SNIFF_READ bytes, or a segment */
    Py_ssize_t len;
    uint8_t head[SNIFF_READ];
    uint8_t *big;   /* a segment longer than SNIFF_READ, read whole */
} scan_t;

/* One pread, as os.pread makes it (retried on EINTR after the signal handlers ran); -1 with an
 * exception set. */
static Py_ssize_t pread_once(int fd, uint8_t *into, size_t n, int64_t at)
{
    for (;;) {
        ssize_t got = pread(fd, into, n, (off_t)at);
        if (got >= 0)
            return (Py_ssize_t)got;
        if (errno != EINTR) {
            PyErr_SetFromErrno(PyExc_OSError);
            return -1;
        }
        if (PyErr_CheckSignals() < 0)
            return -1;
    }
}

/* headers._png on the first read: 1 found, 0 not a PNG sniff takes */
static int sniff_png(const uint8_t *h, Py_ssize_t n, uint32_t *w, uint32_t *hgt,
                     const char **mode, int *transparency)
{
    static const char *modes[7] = {"L", NULL, "RGB", "P", "LA", NULL, "RGBA"};
    static const char *modes16[7] = {"I;16", NULL, "RGB;16", "P;16", "LA;16", NULL, "RGBA;16"};
    if (n < 26 || memcmp(h + 12, "IHDR", 4) != 0)
        return 0;
    *w = (uint32_t)h[16] << 24 | (uint32_t)h[17] << 16 | (uint32_t)h[18] << 8 | h[19];
    *hgt = (uint32_t)h[20] << 24 | (uint32_t)h[21] << 16 | (uint32_t)h[22] << 8 | h[23];
    uint8_t bits = h[24], colour = h[25];
    if (colour > 6 || modes[colour] == NULL)
        return 0;
    *mode = bits == 16 ? modes16[colour] : modes[colour];
    int64_t pos = 8;
    *transparency = 0;
    while (pos + 8 <= n) {
        const uint8_t *c = h + pos;
        uint32_t length = (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
        if (memcmp(c + 4, "IDAT", 4) == 0)
            return 1;
        *transparency |= memcmp(c + 4, "tRNS", 4) == 0;
        pos += 12 + (int64_t)length;
    }
    return 0;
}

static inline uint32_t tiff_u16(const uint8_t *p, int little)
{
    return little ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : (uint32_t)p[0] << 8 | p[1];
}

/* headers._orientation on a TIFF block of n bytes: the value, or -1 where it gives None or
 * raises (sniff then gives None either way) */
static long tiff_orientation(const uint8_t *t, Py_ssize_t n)
{
    int little;
    if (n >= 4 && memcmp(t, "II*\0", 4) == 0)
        little = 1;
    else if (n >= 4 && memcmp(t, "MM\0*", 4) == 0)
        little = 0;
    else
        return -1;
    if (n < 8)
        return -1;
    uint64_t ifd = little ? (uint64_t)load32(t + 4)
                          : (uint64_t)t[4] << 24 | (uint64_t)t[5] << 16 | (uint64_t)t[6] << 8 | t[7];
    if (ifd + 2 > (uint64_t)n)
        return -1;
    uint32_t count = tiff_u16(t + ifd, little);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = ifd + 2 + 12 * (uint64_t)i;
        if (at + 4 > (uint64_t)n)
            return -1;
        if (tiff_u16(t + at, little) == 0x0112) {
            if (tiff_u16(t + at + 2, little) != 3)
                return -1;
            if (at + 10 > (uint64_t)n)
                return -1;
            return (long)tiff_u16(t + at + 8, little);
        }
    }
    return 1;
}

static int is_sof(uint8_t m)
{
    return (m >= 0xC0 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* headers._jpeg: 1 found, 0 sniff gives None, -1 an exception (a read failed) */
static int sniff_jpeg(scan_t *s, uint32_t *w, uint32_t *h, long *orientation, const char **mode)
{
    int64_t pos = 2, base = 0;
    *orientation = 1;
    for (;;) {
        if (pos + 4 > s->len) { /* refill: read on from the next marker */
            base += pos;
            s->buf = s->head;
            s->len = pread_once(s->fd, s->head, SNIFF_READ, base);
            if (s->len < 0)
                return -1;
            pos = 0;
            if (s->len < 4)
                return 0;
        }
        const uint8_t *b = s->buf;
        if (b[pos] != 0xFF)
            return 0;
        uint8_t marker = b[pos + 1];
        if (marker == 0xFF) {
            pos += 1;
            continue;
        }
        if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
            pos += 2;
            continue;
        }
        if (marker == 0xD9 || marker == 0xDA)
            return 0;
        int64_t length = (int64_t)b[pos + 2] << 8 | b[pos + 3];
        if (length < 2)
            return 0;
        if (marker == 0xE2 && (pos + 8 > s->len || memcmp(b + pos + 4, "MPF\0", 4) == 0))
            return 0;
        int sof = is_sof(marker);
        if (sof || (marker == 0xE1 && *orientation == 1)) {
            if (pos + 2 + length > s->len) { /* the whole segment, read from its marker */
                base += pos;
                if (s->big == NULL && (s->big = PyMem_Malloc(65535 + 6)) == NULL) {
                    PyErr_NoMemory();
                    return -1;
                }
                s->buf = s->big;
                s->len = pread_once(s->fd, s->big, (size_t)(length + 6), base);
                if (s->len < 0)
                    return -1;
                pos = 0;
                if (s->len < length + 2)
                    return 0;
            }
            const uint8_t *seg = s->buf + pos + 4;
            int64_t n = length - 2;
            if (sof) {
                if (n < 5)
                    return 0;
                *h = (uint32_t)seg[1] << 8 | seg[2];
                *w = (uint32_t)seg[3] << 8 | seg[4];
                uint8_t parts = n > 5 ? seg[5] : 0;
                *mode = parts == 1 ? "L" : parts == 3 ? "RGB" : parts == 4 ? "CMYK" : NULL;
                if (seg[0] != 8 || *mode == NULL)
                    return 0;
                return 1;
            }
            if (n >= 6 && memcmp(seg, "Exif\0\0", 6) == 0) {
                long found = tiff_orientation(seg + 6, (Py_ssize_t)(n - 6));
                if (found < 0)
                    return 0;
                *orientation = found;
            }
        }
        pos += 2 + length;
    }
}

static int holds(const uint8_t *hay, Py_ssize_t n, const char *needle, Py_ssize_t k)
{
    for (Py_ssize_t i = 0; i + k <= n; i++)
        if (hay[i] == (uint8_t)needle[0] && memcmp(hay + i, needle, (size_t)k) == 0)
            return 1;
    return 0;
}

static PyObject *py_scan_image(PyObject *self, PyObject *args)
{
    PyObject *name, *path;
    Py_ssize_t tail;
    long long max_pixels;
    (void)self;
    if (!PyArg_ParseTuple(args, "OnL", &name, &tail, &max_pixels))
        return NULL;
    if (tail < 0 || tail > SNIFF_READ) {
        PyErr_SetString(PyExc_ValueError, "scan_image: tail out of range");
        return NULL;
    }
    if (!PyUnicode_FSConverter(name, &path))
        return NULL;
    scan_t scan, *s = &scan; /* on the stack: no allocation per image */
    s->big = NULL;
    PyObject *result = NULL;
    for (;;) {
        s->fd = open(PyBytes_AS_STRING(path), O_RDONLY | O_CLOEXEC);
        if (s->fd >= 0)
            break;
        if (errno != EINTR || PyErr_CheckSignals() < 0) {
            if (!PyErr_Occurred())
                PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, name);
            goto done;
        }
    }
    struct stat st;
    if (fstat(s->fd, &st) != 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        goto done;
    }
    s->buf = s->head;
    s->len = pread_once(s->fd, s->head, SNIFF_READ, 0);
    if (s->len < 0)
        goto done;
    uint32_t w = 0, h = 0;
    long orientation = 1;
    const char *mode = NULL, *format, *end;
    int transparency = 0, found;
    Py_ssize_t end_len;
    if (s->len >= 8 && memcmp(s->head, "\x89PNG\r\n\x1a\n", 8) == 0) {
        found = sniff_png(s->head, s->len, &w, &h, &mode, &transparency);
        format = "PNG", end = "IEND\xae" "B`\x82", end_len = 8;
    } else if (s->len >= 2 && s->head[0] == 0xFF && s->head[1] == 0xD8) {
        found = sniff_jpeg(s, &w, &h, &orientation, &mode);
        format = "JPEG", end = "\xff\xd9", end_len = 2;
    } else {
        found = 0;
        format = end = NULL, end_len = 0;
    }
    if (found < 0)
        goto done;
    if (found == 0) {
        Py_INCREF(Py_None);
        result = Py_None;
        goto done;
    }
    PyObject *ends = Py_None;
    if (max_pixels > 0 && (uint64_t)w * h <= (uint64_t)max_pixels) {
        int64_t at = (int64_t)st.st_size > tail ? (int64_t)st.st_size - tail : 0;
        Py_ssize_t got = pread_once(s->fd, s->head, (size_t)tail, at);
        if (got < 0)
            goto done;
        ends = holds(s->head, got, end, end_len) ? Py_True : Py_False;
    }
    result = Py_BuildValue("(sIIlsOLO)", format, w, h, orientation, mode,
                           transparency ? Py_True : Py_False, (long long)st.st_size, ends);
done:
    if (s->fd >= 0)
        close(s->fd);
    PyMem_Free(s->big);
    Py_DECREF(path);
    return result;
}
#endif

static PyMethodDef methods[] = {
    {"crc32c", py_crc32c, METH_VARARGS,
     "crc32c(data, value=0) -> int: CRC-32C of data, continuing from value."},
    {"crc32c_table", py_crc32c_table, METH_VARARGS,
     "crc32c_table(data, value=0) -> int: the same by the table (to test the fallback)."},
#ifdef TFL_X86
    {"crc32c_sse42", py_crc32c_sse42, METH_VARARGS,
     "crc32c_sse42(data, value=0) -> int: the same by SSE4.2 alone (to test it)."},
#endif
    {"masked_crc", py_masked_crc, METH_O, "masked_crc(data) -> int: TFRecord's masked CRC."},
    {"walk", py_walk, METH_VARARGS,
     "walk(buf, pos, verify) -> (records, pos, bad): the whole, good records from pos on."},
    {"frame", py_frame, METH_O, "frame(records) -> bytes: the records framed and joined."},
    {"decode_plain", py_decode_plain, METH_O,
     "decode_plain(data) -> dict | None: example.py's _decode_plain_py, in C."},
    {"encode_example", py_encode_example, METH_O,
     "encode_example(features) -> bytes | None: example.py's encoder for plain values, in C."},
    {"encode_sequence_example", py_encode_sequence_example, METH_VARARGS,
     "encode_sequence_example(context, feature_lists) -> bytes | None: the same for those."},
    {"encode_example_parts", py_encode_example_parts, METH_VARARGS,
     "encode_example_parts(features, key) -> (prefix, suffix) | None: around features[key]."},
    {"set_value_types", py_set_value_types, METH_VARARGS,
     "set_value_types(BytesValues, FloatValues, IntValues): the typed lists of both ways."},
#ifdef TFL_SCAN
    {"scan_image", py_scan_image, METH_VARARGS,
     "scan_image(path, tail, max_pixels) -> tuple | None: images.read_header's file reads."},
#endif
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "tfrecord_lite.format._speedups",
    "tfrecord_lite's optional C core (see tfrecord_lite/format/_accel.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void)
{
    make_tables();
    make_zeros_table(zeros_long, LONG_BLOCK);
    make_zeros_table(zeros_short, SHORT_BLOCK);
    choose_crc();
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddStringConstant(m, "CRC_KIND", crc_kind) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
