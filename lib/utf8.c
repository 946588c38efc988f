/* UTF-8 decoding, validation and the streaming decoder used for generated text. */
#include <string.h>

#include "utf8.h"

/* The length of the sequence a lead byte starts and the allowed range of its
 * second byte (Unicode Table 3-7); 0 for bytes that never start one. The
 * narrow second-byte ranges are what exclude overlongs, surrogates and
 * values above U+10FFFF. */
static size_t seq_info(unsigned char c, unsigned char *lo, unsigned char *hi)
{
    *lo = 0x80;
    *hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return 2;
    if (c < 0xF0) {
        if (c == 0xE0)
            *lo = 0xA0;
        else if (c == 0xED)
            *hi = 0x9F;
        return 3;
    }
    if (c < 0xF5) {
        if (c == 0xF0)
            *lo = 0x90;
        else if (c == 0xF4)
            *hi = 0x8F;
        return 4;
    }
    return 0;
}

size_t bn_utf8_decode(const void *src, size_t n, uint32_t *cp)
{
    const unsigned char *s = src;
    unsigned char lo, hi;
    if (n == 0)
        return 0;
    size_t len = seq_info(s[0], &lo, &hi);
    if (len == 0 || len > n)
        return 0;
    if (len == 1) {
        *cp = s[0];
        return 1;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    uint32_t v = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = v << 6 | (s[i] & 0x3F);
    }
    *cp = v;
    return len;
}

size_t bn_utf8_invalid_at(const void *src, size_t n)
{
    const unsigned char *s = src;
    size_t i = 0;
    while (i < n) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        uint32_t cp;
        size_t len = bn_utf8_decode(s + i, n - i, &cp);
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

size_t bn_utf8_encode(uint32_t cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

void bn_utf8_stream_init(bn_utf8_stream *s)
{
    memset(s, 0, sizeof *s);
}

/* Each input byte yields at most 3 output bytes (a U+FFFD, or itself), and
 * the held prefix resolves into at most 3 more. */
size_t bn_utf8_stream_max_out(size_t n_in)
{
    if (n_in > (SIZE_MAX - 3) / 3)
        return SIZE_MAX;
    return 3 * n_in + 3;
}

static size_t put_fffd(char *out)
{
    out[0] = (char)0xEF;
    out[1] = (char)0xBF;
    out[2] = (char)0xBD;
    return 3;
}

size_t bn_utf8_stream_feed(bn_utf8_stream *s, const void *in, size_t n, char *out)
{
    const unsigned char *p = in;
    size_t w = 0;
    unsigned char lo, hi;
    for (size_t i = 0; i < n;) {
        unsigned char b = p[i];
        if (s->n_pend == 0) {
            size_t len = seq_info(b, &lo, &hi);
            if (len == 1)
                out[w++] = (char)b;
            else if (len == 0)
                w += put_fffd(out + w);
            else
                s->pend[s->n_pend++] = b;
            i++;
            continue;
        }
        size_t need = seq_info(s->pend[0], &lo, &hi);
        if (s->n_pend > 1) {
            lo = 0x80;
            hi = 0xBF;
        }
        if (b < lo || b > hi) {
            /* The held bytes are a maximal invalid subpart: one U+FFFD, then
             * this byte starts afresh. */
            w += put_fffd(out + w);
            s->n_pend = 0;
            continue;
        }
        s->pend[s->n_pend++] = b;
        i++;
        if (s->n_pend == need) {
            memcpy(out + w, s->pend, need);
            w += need;
            s->n_pend = 0;
        }
    }
    return w;
}

size_t bn_utf8_stream_flush(bn_utf8_stream *s, char *out)
{
    size_t w = s->n_pend ? put_fffd(out) : 0;
    s->n_pend = 0;
    return w;
}
