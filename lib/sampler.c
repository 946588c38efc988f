/* Token sampling: repetition penalty, then top-k, top-p, min-p on the model's
 * distribution, then temperature and a seeded draw (the order llama.cpp's
 * default chain uses, so settings carry over). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "params.h"
#include "utf8.h"

typedef struct cand {
    float logit;
    bn_token id;
} cand;

struct bn_sampler {
    bn_gen_params p;
    uint64_t rng[4];
    bn_token *hist;       /* ring of the last repeat_last_n tokens */
    int32_t hist_len, hist_pos;
    cand *c;
    int32_t c_cap;
};

BN_API void bn_gen_params_init_sized(bn_gen_params *p, size_t size)
{
    bn_gen_params def = { .size = sizeof def,
                          .n_predict = 128,
                          .temperature = 0.8f,
                          .top_k = 40,
                          .top_p = 0.95f,
                          .min_p = 0.05f,
                          .repeat_penalty = 1.0f,
                          .repeat_last_n = 64,
                          .seed = 0x5eed,
                          .tokenize_flags = BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL };
    bn_params_init(p, size, &def, sizeof def);
}

BN_API void(bn_gen_params_init)(bn_gen_params *p)
{
    bn_gen_params_init_sized(p, BN_PARAMS_SIZE_0(bn_gen_params, tokenize_flags));
}

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256**: fast, and the same sequence on every platform. */
static uint64_t next_u64(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

bn_status bn_gen_params_check(const bn_gen_params *p)
{
    if (!(p->temperature >= 0) || !isfinite(p->temperature))
        return bn_fail(BN_E_INVALID_ARG, "temperature %g must be >= 0", (double)p->temperature);
    if (p->top_k < 0)
        return bn_fail(BN_E_INVALID_ARG, "top_k %d must be >= 0", p->top_k);
    if (!(p->top_p > 0 && p->top_p <= 1))
        return bn_fail(BN_E_INVALID_ARG, "top_p %g must be in (0, 1]", (double)p->top_p);
    if (!(p->min_p >= 0 && p->min_p <= 1))
        return bn_fail(BN_E_INVALID_ARG, "min_p %g must be in [0, 1]", (double)p->min_p);
    if (!(p->repeat_penalty > 0) || !isfinite(p->repeat_penalty))
        return bn_fail(BN_E_INVALID_ARG, "repeat_penalty %g must be > 0", (double)p->repeat_penalty);
    if (p->repeat_last_n < 0 || p->repeat_last_n > (1 << 20))
        return bn_fail(BN_E_INVALID_ARG, "repeat_last_n %d is outside 0..1048576", p->repeat_last_n);
    if (p->context_shift != 0 && p->context_shift != 1)
        return bn_fail(BN_E_INVALID_ARG, "context_shift %d must be 0 or 1", p->context_shift);
    if (p->n_keep < -1)
        return bn_fail(BN_E_INVALID_ARG, "n_keep %d must be >= -1", p->n_keep);
    if (p->n_stop && !p->stop)
        return bn_fail(BN_E_INVALID_ARG, "n_stop is %zu but stop is NULL", p->n_stop);
    for (size_t i = 0; i < p->n_stop; i++) {
        if (!p->stop[i] || !p->stop[i][0])
            return bn_fail(BN_E_INVALID_ARG, "stop string %zu is NULL or empty", i);
        /* generated text is valid UTF-8: a stop string that is not could
         * match inside a character and cut it */
        size_t n = strlen(p->stop[i]), bad = bn_utf8_invalid_at(p->stop[i], n);
        if (bad < n)
            return bn_fail(BN_E_INVALID_UTF8, "stop string %zu: invalid UTF-8 at byte offset %zu (byte 0x%02x)", i, bad,
                           (unsigned char)p->stop[i][bad]);
    }
    return BN_OK;
}

BN_API bn_status bn_sampler_new(const bn_gen_params *params, bn_sampler **out)
{
    if (!out)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_new: out is NULL");
    *out = NULL;
    bn_sampler *s = calloc(1, sizeof *s);
    if (!s)
        return bn_fail(BN_E_NOMEM, "out of memory for the sampler");
    bn_gen_params_init(&s->p);
    bn_status st = BN_OK;
    if (params)
        st = bn_params_copy(&s->p, sizeof s->p, params, "bn_gen_params");
    if (st == BN_OK)
        st = bn_gen_params_check(&s->p);
    if (st == BN_OK && s->p.repeat_last_n > 0 && !(s->hist = malloc((size_t)s->p.repeat_last_n * sizeof *s->hist)))
        st = bn_fail(BN_E_NOMEM, "out of memory for the sampler");
    if (st != BN_OK) {
        bn_sampler_free(s);
        return st;
    }
    s->p.stop = NULL;  /* not ours to keep */
    s->p.n_stop = 0;
    bn_sampler_reset(s);
    *out = s;
    return BN_OK;
}

BN_API void bn_sampler_free(bn_sampler *s)
{
    if (!s)
        return;
    free(s->hist);
    free(s->c);
    free(s);
}

BN_API void bn_sampler_reset(bn_sampler *s)
{
    if (!s)
        return;
    uint64_t seed = s->p.seed;
    for (int i = 0; i < 4; i++)
        s->rng[i] = splitmix64(&seed);
    s->hist_len = s->hist_pos = 0;
}

BN_API void bn_sampler_accept(bn_sampler *s, bn_token token)
{
    if (!s || s->p.repeat_last_n == 0)
        return;
    s->hist[s->hist_pos] = token;
    s->hist_pos = (s->hist_pos + 1) % s->p.repeat_last_n;
    if (s->hist_len < s->p.repeat_last_n)
        s->hist_len++;
}

/* Whether any of x[0 .. n) is a NaN or an infinity. */
static int any_special(const float *x, int32_t n)
{
    uint32_t any = 0;
    for (int32_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &x[i], sizeof u);
        any |= (u & 0x7fffffffu) >= 0x7f800000u;
    }
    return any != 0;
}

static int cand_desc(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit < y->logit ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Sift-down for a min-heap on (logit, -id): the root is the weakest kept. */
static int weaker(const cand *a, const cand *b) { return cand_desc(a, b) > 0; }

static void sift(cand *h, int32_t n, int32_t i)
{
    for (;;) {
        int32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && weaker(&h[l], &h[m]))
            m = l;
        if (r < n && weaker(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Keeps the k strongest candidates, sorted strongest first. */
static int32_t top_k(cand *c, int32_t n, int32_t k)
{
    if (k <= 0 || k > n)
        k = n;
    if (k < n) {
        for (int32_t i = k / 2 - 1; i >= 0; i--)
            sift(c, k, i);
        for (int32_t i = k; i < n; i++)
            if (weaker(&c[0], &c[i])) {
                c[0] = c[i];
                sift(c, k, 0);
            }
    }
    qsort(c, (size_t)k, sizeof *c, cand_desc);
    return k;
}

BN_API bn_status bn_sampler_sample(bn_sampler *s, const float *logits, int32_t n_vocab, bn_token *out)
{
    if (!s || !logits || !out || n_vocab <= 0)
        return bn_fail(BN_E_INVALID_ARG, "bn_sampler_sample: %s", !s ? "sampler is NULL" : !logits ? "logits is NULL"
                                                                   : !out ? "out is NULL" : "n_vocab <= 0");
    if (s->c_cap < n_vocab) {
        cand *c = realloc(s->c, (size_t)n_vocab * sizeof *c);
        if (!c)
            return bn_fail(BN_E_NOMEM, "out of memory for %d candidates", n_vocab);
        s->c = c;
        s->c_cap = n_vocab;
    }
    cand *c = s->c;
    for (int32_t i = 0; i < n_vocab; i++) {
        c[i].logit = logits[i];
        c[i].id = i;
    }
    if (s->p.repeat_penalty != 1.0f)
        for (int32_t i = 0; i < s->hist_len; i++) {
            bn_token t = s->hist[i];
            if (t < 0 || t >= n_vocab || c[t].id < 0)
                continue;
            float *l = &c[t].logit;
            *l = *l > 0 ? *l / s->p.repeat_penalty : *l * s->p.repeat_penalty;
            c[t].id = -1 - t;  /* mark: penalise each token once */
        }
    for (int32_t i = 0; i < s->hist_len; i++) {
        bn_token t = s->hist[i];
        if (t >= 0 && t < n_vocab && c[t].id < 0)
            c[t].id = t;
    }
    /* The probabilities below subtract the largest logit: an infinite one
     * would make them all NaN. +inf takes all the probability (the first,
     * when several have it); a token of logit -inf can never be drawn. The
     * logits as given, and those the penalty changed, are first checked in
     * one pass the compiler vectorizes: the loop that finds which token is
     * special, branching on every logit, was 1% of a 2B-4T token. */
    int special = any_special(logits, n_vocab);
    if (s->p.repeat_penalty != 1.0f)
        for (int32_t i = 0; i < s->hist_len && !special; i++) {
            bn_token t = s->hist[i];
            special = t >= 0 && t < n_vocab && !isfinite(c[t].logit);
        }
    int32_t n_neg_inf = 0;
    for (int32_t i = 0; special && i < n_vocab; i++) {
        if (isnan(c[i].logit))
            return bn_fail(BN_E_INVALID_ARG, "logit %d is NaN", i);
        if (isinf(c[i].logit) && c[i].logit > 0) {
            *out = c[i].id;
            return BN_OK;
        }
        n_neg_inf += isinf(c[i].logit) != 0;
    }
    if (n_neg_inf == n_vocab)
        return bn_fail(BN_E_INVALID_ARG, "every logit is -inf: no token can be drawn");

    if (s->p.temperature == 0) {
        int32_t best = 0;
        for (int32_t i = 1; i < n_vocab; i++)
            if (c[i].logit > c[best].logit)
                best = i;
        *out = c[best].id;
        return BN_OK;
    }
    int32_t n = top_k(c, n_vocab, s->p.top_k);
    /* Probabilities at temperature 1 for top-p and min-p. */
    float mx = c[0].logit;
    double sum = 0;
    for (int32_t i = 0; i < n; i++)
        sum += exp((double)c[i].logit - mx);
    if (s->p.top_p < 1.0f) {
        double cum = 0;
        for (int32_t i = 0; i < n; i++) {
            cum += exp((double)c[i].logit - mx) / sum;
            if (cum >= s->p.top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (s->p.min_p > 0) {
        /* p_i >= min_p * p_max  <=>  logit_i >= max + log(min_p) */
        double floor_logit = mx + log((double)s->p.min_p);
        int32_t keep = 1;
        while (keep < n && c[keep].logit >= floor_logit)
            keep++;
        n = keep;
    }
    double total = 0;
    for (int32_t i = 0; i < n; i++)
        total += exp(((double)c[i].logit - mx) / s->p.temperature);
    double r = (double)(next_u64(s->rng) >> 11) * (1.0 / 9007199254740992.0) * total;
    double acc = 0;
    for (int32_t i = 0; i < n; i++) {
        acc += exp(((double)c[i].logit - mx) / s->p.temperature);
        if (r < acc) {
            *out = c[i].id;
            return BN_OK;
        }
    }
    *out = c[n - 1].id;
    return BN_OK;
}
