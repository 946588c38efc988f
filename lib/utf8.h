/* UTF-8: validation, decoding, encoding, and a streaming decoder that never
 * splits a character and turns what can never be valid into U+FFFD. */
#ifndef BN_LIB_UTF8_H
#define BN_LIB_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length a sequence claims from its lead byte (1 for stray continuation and
 * invalid bytes), as llama.cpp splits text into characters. */
static inline size_t bn_utf8_lead_len(unsigned char c)
{
    static const unsigned char len[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
    return len[c >> 4];
}

/* Decodes one well-formed character at s (n bytes available): returns its
 * length and sets *cp, or returns 0 when the bytes are not valid UTF-8
 * (overlong, surrogate, above U+10FFFF, truncated). */
size_t bn_utf8_decode(const void *s, size_t n, uint32_t *cp);

/* Offset of the first byte that does not start a valid character, or n when
 * all of s is valid UTF-8. */
size_t bn_utf8_invalid_at(const void *s, size_t n);

/* Writes cp (<= U+10FFFF, not a surrogate) as 1..4 bytes; returns the count. */
size_t bn_utf8_encode(uint32_t cp, char *out);

/* Streaming decoder. pend holds a valid but incomplete sequence (at most 3 bytes). */
typedef struct bn_utf8_stream {
    unsigned char pend[4];
    unsigned n_pend;
} bn_utf8_stream;

void bn_utf8_stream_init(bn_utf8_stream *s);
/* Upper bound of the bytes one feed of n_in bytes (or a flush, n_in = 0) writes. */
size_t bn_utf8_stream_max_out(size_t n_in);
/* Appends n bytes; writes to out the longest prefix that is complete valid
 * UTF-8; bytes that can never become valid become U+FFFD (EF BF BD), one per
 * maximal invalid subpart (the W3C/WHATWG rule); an incomplete trailing
 * sequence is held. Returns bytes written. */
size_t bn_utf8_stream_feed(bn_utf8_stream *s, const void *in, size_t n, char *out);
/* Writes out what is held (an incomplete sequence becomes U+FFFD) and resets.
 * Returns bytes written. */
size_t bn_utf8_stream_flush(bn_utf8_stream *s, char *out);

#endif
