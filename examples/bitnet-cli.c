/* bitnet-cli: generate text, chat, or inspect a model with libbitnet.
 *
 * Drives generation step by step (bn_eval, bn_sampler, bn_ctx_token_text)
 * rather than through bn_generate, so that it can time the prompt and the
 * generated tokens separately and keep a chat's context between turns. */
#include <ctype.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "ex_common.h"
#include "prompt_cache.h"

typedef struct stats {
    double load_s;
    size_t prompt_tokens;
    double prompt_s;
    size_t gen_tokens;
    double gen_s;
} stats;

/* Growing byte buffer. */
typedef struct text {
    char *data;
    size_t len, cap;
} text;

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    if (interrupted)
        _exit(130);
    interrupted = 1;
}

static int fail(const char *what, bn_status st)
{
    fprintf(stderr, "bitnet-cli: %s: %s%s%s\n", what, bn_status_string(st), bn_last_error()[0] ? ": " : "",
            bn_last_error());
    return 1;
}

static int text_append(text *t, const char *s, size_t n)
{
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->data, cap);
        if (!p)
            return -1;
        t->data = p;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
    return 0;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    text t = { 0 };
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (text_append(&t, buf, n) != 0) {
            free(t.data);
            fclose(f);
            return NULL;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(t.data);
        return NULL;
    }
    return t.data ? t.data : calloc(1, 1);
}

/* Tokenizes into a new array (*tokens, freed by the caller). */
static bn_status tokenize(const bn_model *m, const char *s, size_t len, uint32_t flags, bn_token **tokens, size_t *n)
{
    size_t need = 0;
    *tokens = NULL;
    bn_status st = bn_tokenize(m, s, len, flags, NULL, 0, &need);
    if (st != BN_OK && st != BN_E_BUFFER_TOO_SMALL)
        return st;
    *tokens = malloc((need ? need : 1) * sizeof **tokens);
    if (!*tokens)
        return BN_E_NOMEM;
    return bn_tokenize(m, s, len, flags, *tokens, need, n);
}

/* ------------------------------------------------------------------ --info */

/* Prints at most max bytes of s, escaping control characters, cut at a
 * UTF-8 character boundary. */
static void print_text(const char *s, size_t len, size_t max)
{
    size_t n = len;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20 || c == 0x7F)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
    putchar('"');
    if (n < len)
        printf("... (%zu bytes)", len);
}

static void print_meta_value(const bn_model *m, const char *key)
{
    int64_t i;
    double d;
    const char *s;
    size_t len;
    uint64_t n;
    if (bn_model_meta_int(m, key, &i) == BN_OK)
        printf("%lld", (long long)i);
    else if (bn_model_meta_float(m, key, &d) == BN_OK)
        printf("%g", d);
    else if (bn_model_meta_str(m, key, &s, &len) == BN_OK)
        print_text(s, len, 64);
    else if (bn_model_meta_array_len(m, key, &n) == BN_OK)
        printf("[array of %llu]", (unsigned long long)n);
    else
        printf("(unreadable: %s)", bn_last_error());
}

static void print_token(const bn_model *m, const char *label, bn_token t)
{
    printf("  %-16s ", label);
    if (t < 0) {
        printf("none\n");
        return;
    }
    const char *s = bn_token_text(m, t);
    printf("%d ", (int)t);
    if (s)
        print_text(s, strlen(s), 40);
    printf("\n");
}

static int run_info(const cli_settings *cs, const bn_model *m)
{
    const char *arch = bn_model_arch(m);
    size_t arch_len = strlen(arch);
    const char *s;
    size_t len;
    printf("file:             %s\n", cs->model);
    printf("architecture:     %s\n", arch);
    if (bn_model_meta_str(m, "general.name", &s, &len) == BN_OK) {
        printf("name:             ");
        print_text(s, len, 64);
        printf("\n");
    }
    printf("metadata keys:    %lld\n", (long long)bn_model_meta_count(m));
    printf("kernels:          %s (best on this CPU: %s)\n", bn_cpu_level_name(bn_model_cpu_level(m)),
           bn_cpu_level_name(bn_cpu_best()));
    printf("weights/token:    %.2f MiB\n", (double)bn_model_weight_bytes(m) / (1024.0 * 1024.0));

    printf("\nhyperparameters (%s.*):\n", arch);
    printf("  %-40s %d\n", "(layers)", (int)bn_model_n_layer(m));
    printf("  %-40s %d\n", "(embedding)", (int)bn_model_n_embd(m));
    printf("  %-40s %d\n", "(training context)", (int)bn_model_n_ctx_train(m));
    for (int64_t i = 0, n = bn_model_meta_count(m); i < n; i++) {
        const char *key = bn_model_meta_key(m, i);
        if (!key || strncmp(key, arch, arch_len) != 0 || key[arch_len] != '.')
            continue;
        printf("  %-40s ", key + arch_len + 1);
        print_meta_value(m, key);
        printf("\n");
    }

    int64_t n_tensors = bn_model_n_tensors(m);
    uint64_t total = 0;
    printf("\ntensors (%lld):\n  %-36s %-6s %-24s %14s\n", (long long)n_tensors, "name", "type", "shape", "bytes");
    for (int64_t i = 0; i < n_tensors; i++) {
        bn_tensor_info ti;
        memset(&ti, 0, sizeof ti);
        ti.size = sizeof ti;
        bn_status st = bn_model_tensor(m, i, &ti);
        if (st != BN_OK)
            return fail("reading the tensor table", st);
        char shape[96];
        int off = snprintf(shape, sizeof shape, "[");
        for (int d = 0; d < ti.n_dims && d < 4 && off < (int)sizeof shape; d++)
            off += snprintf(shape + off, sizeof shape - (size_t)off, "%s%lld", d ? ", " : "", (long long)ti.ne[d]);
        if (off < (int)sizeof shape)
            snprintf(shape + off, sizeof shape - (size_t)off, "]");
        printf("  %-36s %-6s %-24s %14llu\n", ti.name, ti.type_name, shape, (unsigned long long)ti.n_bytes);
        total += ti.n_bytes;
    }
    printf("  %-36s %-6s %-24s %14llu (%.1f MiB)\n", "total", "", "", (unsigned long long)total,
           (double)total / (1024.0 * 1024.0));

    printf("\ntokenizer:\n");
    static const char *const keys[] = { "tokenizer.ggml.model", "tokenizer.ggml.pre" };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (bn_model_meta_str(m, keys[i], &s, &len) == BN_OK)
            printf("  %-16s %.*s\n", keys[i] + strlen("tokenizer.ggml."), (int)len, s);
    }
    printf("  %-16s %d\n", "vocabulary", (int)bn_model_n_vocab(m));
    print_token(m, "bos", bn_token_bos(m));
    print_token(m, "eos", bn_token_eos(m));
    print_token(m, "eot", bn_token_eot(m));
    const char *tmpl = bn_chat_template_name(m);
    printf("  %-16s %s\n", "chat template", tmpl ? tmpl : "(none recognised)");
    return 0;
}

/* -------------------------------------------------------------- generation */

/* Appends a token's text (token < 0: flush) to stdout and to reply. */
static bn_status emit(bn_ctx *ctx, bn_token token, text *reply)
{
    char piece[4096];
    size_t len = 0;
    bn_status st = bn_ctx_token_text(ctx, token, piece, sizeof piece, &len);
    if (st != BN_OK)
        return st;
    if (len) {
        fwrite(piece, 1, len, stdout);
        fflush(stdout);
        if (reply && text_append(reply, piece, len) != 0)
            return BN_E_NOMEM;
    }
    return BN_OK;
}

static bn_status eval_timed(bn_ctx *ctx, const bn_token *tokens, size_t n, float *logits, stats *stat)
{
    double t0 = ex_now();
    bn_status st = bn_eval(ctx, tokens, n, logits);
    stat->prompt_s += ex_now() - t0;
    if (st == BN_OK)
        stat->prompt_tokens += n;
    return st;
}

/* Room for `need` more tokens. In a full context, --context-shift forgets
 * the older half of what follows the first `keep` tokens (more if need asks
 * for it), as llama-cli's context shift does; the moved keys are rotated to
 * their new positions (bn_ctx_discard). 0 when there is room, -1 when not. */
static int make_room(bn_ctx *ctx, size_t need, const cli_settings *cs, uint32_t keep)
{
    uint32_t n_ctx = bn_ctx_n_ctx(ctx), n_past = bn_ctx_n_past(ctx);
    if (need <= n_ctx - n_past)
        return 0;
    if (!cs->context_shift || keep >= n_past || need > n_ctx - keep)
        return -1;
    uint32_t n = (n_past - keep) / 2, short_by = (uint32_t)(need - (n_ctx - n_past));
    if (n < short_by)
        n = short_by;
    if (bn_ctx_discard(ctx, keep, n) != BN_OK)
        return -1;
    if (cs->verbose)
        fprintf(stderr, "\n[context shift: %u tokens forgotten after the first %u]\n", (unsigned)n, (unsigned)keep);
    return 0;
}

/* The tokens a context shift keeps: --keep, -1 meaning the first n_first
 * evaluated (the prompt), and the BOS token always. */
static uint32_t shift_keep(const cli_settings *cs, const bn_model *m, size_t n_first)
{
    size_t keep = cs->keep < 0 ? n_first : (size_t)cs->keep;
    if (keep < 1 && bn_token_bos(m) >= 0)
        keep = 1;
    return keep > UINT32_MAX ? UINT32_MAX : (uint32_t)keep;
}

/* Samples from logits (the last evaluated token's) until an end-of-generation
 * token, n_predict tokens, a full context (unless a context shift makes
 * room) or Ctrl-C. Each kept token is evaluated, except the last one when
 * keep_last is 0. */
static bn_status sample_loop(bn_ctx *ctx, bn_sampler *smp, float *logits, const cli_settings *cs, uint32_t keep,
                             int keep_last, stats *stat, text *reply)
{
    const int32_t n_predict = cs->gen.n_predict;
    const bn_model *m = bn_ctx_model(ctx);
    int32_t n_vocab = bn_model_n_vocab(m);
    double t0 = ex_now();
    bn_status st = BN_OK;
    for (int32_t i = 0; (n_predict < 0 || i < n_predict) && !interrupted; i++) {
        bn_token tok;
        st = bn_sampler_sample(smp, logits, n_vocab, &tok);
        if (st != BN_OK || bn_token_is_eog(m, tok))
            break;
        bn_sampler_accept(smp, tok);
        stat->gen_tokens++;
        if ((st = emit(ctx, tok, reply)) != BN_OK)
            break;
        if (!keep_last && i + 1 == n_predict)
            break;
        if (make_room(ctx, 1, cs, keep) != 0) {
            fprintf(stderr, "\n[context full: %u tokens; -c sets its length, --context-shift goes on]\n",
                    (unsigned)bn_ctx_n_ctx(ctx));
            break;
        }
        if ((st = bn_eval(ctx, &tok, 1, logits)) != BN_OK)
            break;
    }
    stat->gen_s += ex_now() - t0;
    if (st == BN_OK)
        st = emit(ctx, -1, reply);
    return st;
}

static int run_generate(const cli_settings *cs, bn_ctx *ctx, bn_sampler *smp, float *logits, stats *stat)
{
    const bn_model *m = bn_ctx_model(ctx);
    char *file_prompt = NULL;
    const char *prompt = cs->prompt ? cs->prompt : "";
    if (cs->prompt_file) {
        if (!(file_prompt = read_file(cs->prompt_file))) {
            fprintf(stderr, "bitnet-cli: cannot read the prompt file %s\n", cs->prompt_file);
            return 1;
        }
        prompt = file_prompt;
    }
    bn_token *tokens;
    size_t n = 0;
    bn_status st = tokenize(m, prompt, strlen(prompt), BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL, &tokens, &n);
    int rc = 0;
    if (st != BN_OK) {
        rc = fail("tokenizing the prompt", st);
    } else if (n == 0) {
        fprintf(stderr, "bitnet-cli: the prompt is empty and the model adds no BOS token: give -p TEXT\n");
        rc = 1;
    } else {
        fputs(prompt, stdout);
        fflush(stdout);
        size_t reused = cs->prompt_cache ? prompt_cache_load(cs->prompt_cache, ctx, tokens, n) : 0;
        if (cs->prompt_cache)
            fprintf(stderr, "bitnet-cli: prompt cache: %zu of the prompt's %zu tokens reused\n", reused, n);
        st = eval_timed(ctx, tokens + reused, n - reused, logits, stat);
        /* a cache that held this prompt (or a longer one) stays as it is */
        if (st == BN_OK && cs->prompt_cache && reused + 1 < n)
            prompt_cache_save(cs->prompt_cache, ctx, tokens, n);
        if (st == BN_E_CONTEXT_FULL) {
            fprintf(stderr, "\nbitnet-cli: the prompt's %zu tokens do not fit in the context of %u (-c)\n", n,
                    (unsigned)bn_ctx_n_ctx(ctx));
            rc = 1;
        } else if (st != BN_OK) {
            rc = fail("evaluating the prompt", st);
        } else {
            for (size_t i = 0; i < n; i++)
                bn_sampler_accept(smp, tokens[i]);
            st = sample_loop(ctx, smp, logits, cs, shift_keep(cs, m, n), 0, stat, NULL);
            printf("\n");
            if (st != BN_OK)
                rc = fail("generating", st);
        }
    }
    free(tokens);
    free(file_prompt);
    return rc;
}

/* ------------------------------------------------------------------- chat */

typedef struct chat {
    bn_chat_message *msgs;
    size_t n, cap;
} chat;

static int chat_add(chat *c, const char *role, const char *content, size_t len)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        bn_chat_message *p = realloc(c->msgs, cap * sizeof *p);
        if (!p)
            return -1;
        c->msgs = p;
        c->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, content, len);
    copy[len] = '\0';
    c->msgs[c->n].role = role;
    c->msgs[c->n].content = copy;
    c->n++;
    return 0;
}

static bn_status chat_format(const bn_model *m, const char *tmpl, const chat *c, int add_assistant, text *out)
{
    size_t needed = 0;
    out->len = 0;
    bn_status st = bn_chat_apply(m, tmpl, c->msgs, c->n, add_assistant, out->data, out->cap, &needed);
    if (st == BN_E_BUFFER_TOO_SMALL || (st == BN_OK && !out->data)) {
        char *p = realloc(out->data, needed + 1);
        if (!p)
            return BN_E_NOMEM;
        out->data = p;
        out->cap = needed + 1;
        st = bn_chat_apply(m, tmpl, c->msgs, c->n, add_assistant, out->data, out->cap, &needed);
    }
    if (st == BN_OK)
        out->len = needed;
    return st;
}

/* Evaluates text after what the context holds (held: the exact text in it),
 * making room for it first (make_room; keep: *keep, set from the first
 * text's tokens when 0). */
static bn_status chat_eval(bn_ctx *ctx, text *held, const char *s, size_t len, float *logits, stats *stat,
                           const cli_settings *cs, uint32_t *keep)
{
    const bn_model *m = bn_ctx_model(ctx);
    uint32_t flags = BN_TOKENIZE_PARSE_SPECIAL;
    if (bn_ctx_n_past(ctx) == 0) {
        /* BOS once, unless the template already writes it as text. */
        const char *bos = bn_token_bos(m) >= 0 ? bn_token_text(m, bn_token_bos(m)) : NULL;
        if (!bos || !*bos || strncmp(s, bos, strlen(bos)) != 0)
            flags |= BN_TOKENIZE_ADD_SPECIAL;
    }
    bn_token *tokens;
    size_t n = 0;
    bn_status st = tokenize(m, s, len, flags, &tokens, &n);
    if (st == BN_OK && !*keep)
        *keep = shift_keep(cs, m, n);
    if (st == BN_OK && n > 0 && make_room(ctx, n, cs, *keep) != 0)
        st = BN_E_CONTEXT_FULL;
    if (st == BN_OK && n > 0)
        st = eval_timed(ctx, tokens, n, logits, stat);
    free(tokens);
    if (st == BN_OK && text_append(held, s, len) != 0)
        st = BN_E_NOMEM;
    return st;
}

static int run_chat(const cli_settings *cs, bn_ctx *ctx, bn_sampler *smp, float *logits, stats *stat)
{
    const bn_model *m = bn_ctx_model(ctx);
    const char *tmpl = cs->chat_template;
    chat c = { 0 };
    text fmt = { 0 }, held = { 0 }, reply = { 0 };
    char *line = NULL;
    size_t line_cap = 0;
    char *file_prompt = NULL;
    const char *first = cs->prompt;
    if (cs->prompt_file) {  /* wins over -p, as without -cnv */
        if (!(file_prompt = read_file(cs->prompt_file))) {
            fprintf(stderr, "bitnet-cli: cannot read the prompt file %s\n", cs->prompt_file);
            return 1;
        }
        first = file_prompt;
    }
    int interactive = isatty(STDIN_FILENO);
    int rc = 0;
    uint32_t keep = 0;  /* tokens a context shift keeps: set by the first chat_eval */
    bn_status st = BN_OK;

    fprintf(stderr, "bitnet-cli: chat with template %s; one message per line, end with Ctrl-D\n",
            tmpl ? tmpl : bn_chat_template_name(m) ? bn_chat_template_name(m) : "(model default)");
    if (cs->system && chat_add(&c, "system", cs->system, strlen(cs->system)) != 0)
        goto oom;
    for (;;) {
        const char *user;
        size_t user_len;
        if (first) {
            user = first;
            user_len = strlen(first);
            first = NULL;
        } else {
            if (interactive)
                fputs("\n> ", stderr);
            ssize_t got = getline(&line, &line_cap, stdin);
            if (got < 0)
                break;
            while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
                got--;
            user = line;
            user_len = (size_t)got;
        }
        if (user_len == 0)
            continue;
        if (chat_add(&c, "user", user, user_len) != 0)
            goto oom;
        if ((st = chat_format(m, tmpl, &c, 1, &fmt)) != BN_OK) {
            rc = fail("applying the chat template", st);
            break;
        }
        /* Only the new turn's text is evaluated; if the template rewrote
         * earlier turns, start the context again. */
        if (fmt.len < held.len || (held.len && memcmp(fmt.data, held.data, held.len) != 0)) {
            bn_ctx_reset(ctx);
            bn_sampler_reset(smp);
            held.len = 0;
            keep = 0;
        }
        st = chat_eval(ctx, &held, fmt.data + held.len, fmt.len - held.len, logits, stat, cs, &keep);
        if (st == BN_E_CONTEXT_FULL) {
            fprintf(stderr, "bitnet-cli: the conversation no longer fits in the context of %u tokens (-c)\n",
                    (unsigned)bn_ctx_n_ctx(ctx));
            rc = 1;
            break;
        }
        if (st != BN_OK) {
            rc = fail("evaluating the turn", st);
            break;
        }
        reply.len = 0;
        interrupted = 0;
        st = sample_loop(ctx, smp, logits, cs, keep, 1, stat, &reply);
        printf("\n");
        fflush(stdout);
        if (st != BN_OK && st != BN_E_CONTEXT_FULL) {
            rc = fail("generating", st);
            break;
        }
        /* The reply as the templates write it back (bitnet and llama3 trim a
         * message's whitespace): then the formatted conversation still
         * starts with what was evaluated, and the next turn adds only its
         * own text instead of evaluating the whole conversation again. */
        const char *r = reply.data ? reply.data : "";
        size_t r_len = reply.len;
        while (r_len && isspace((unsigned char)r[0])) {
            r++;
            r_len--;
        }
        while (r_len && isspace((unsigned char)r[r_len - 1]))
            r_len--;
        if (text_append(&held, r, r_len) != 0 || chat_add(&c, "assistant", r, r_len) != 0)
            goto oom;
        /* Evaluate what the template puts after the reply (its end-of-turn
         * marker), so the context matches the formatted conversation. */
        if ((st = chat_format(m, tmpl, &c, 0, &fmt)) == BN_OK && fmt.len > held.len &&
            memcmp(fmt.data, held.data, held.len) == 0) {
            st = chat_eval(ctx, &held, fmt.data + held.len, fmt.len - held.len, NULL, stat, cs, &keep);
            if (st != BN_OK && st != BN_E_CONTEXT_FULL) {
                rc = fail("evaluating the end of the turn", st);
                break;
            }
        }
    }
    goto done;
oom:
    fprintf(stderr, "bitnet-cli: out of memory\n");
    rc = 1;
done:
    for (size_t i = 0; i < c.n; i++)
        free((char *)c.msgs[i].content);
    free(c.msgs);
    free(fmt.data);
    free(held.data);
    free(reply.data);
    free(line);
    free(file_prompt);
    return rc;
}

/* -------------------------------------------------------------------- main */

static void print_stats(const stats *s, const bn_ctx *ctx)
{
    const bn_model *m = bn_ctx_model(ctx);
    fprintf(stderr, "\n");
    fprintf(stderr, "load time:   %10.2f ms\n", s->load_s * 1e3);
    fprintf(stderr, "prompt:      %10.2f ms for %zu tokens (%.2f tokens/s)\n", s->prompt_s * 1e3, s->prompt_tokens,
            s->prompt_s > 0 ? (double)s->prompt_tokens / s->prompt_s : 0.0);
    fprintf(stderr, "generation:  %10.2f ms for %zu tokens (%.2f tokens/s)\n", s->gen_s * 1e3, s->gen_tokens,
            s->gen_s > 0 ? (double)s->gen_tokens / s->gen_s : 0.0);
    fprintf(stderr, "kernels:     %s, context %u tokens (%u used)\n", bn_cpu_level_name(bn_model_cpu_level(m)),
            (unsigned)bn_ctx_n_ctx(ctx), (unsigned)bn_ctx_n_past(ctx));
}

int main(int argc, char **argv)
{
    cli_settings cs;
    char err[512];
    cli_settings_init(&cs);
    if (cli_parse_args(&cs, argc, argv, err, sizeof err) != 0) {
        fprintf(stderr, "bitnet-cli: %s\n", err);
        cli_settings_free(&cs);
        return 2;
    }
    if (cs.help || cs.version) {
        if (cs.help)
            cli_print_help(argv[0]);
        else
            printf("bitnet-cli (libbitnet %s)\n", bn_version_string());
        cli_settings_free(&cs);
        return 0;
    }
    if (!cs.model) {
        fprintf(stderr, "bitnet-cli: no model: give -m MODEL.gguf (see --help)\n");
        cli_settings_free(&cs);
        return 2;
    }
    if (cs.cpu && ex_parse_cpu_level(cs.cpu, &cs.model_params.cpu_level) != 0) {
        fprintf(stderr, "bitnet-cli: --cpu: unknown level '%s' (auto, scalar, avx2, avx512, neon, dotprod)\n", cs.cpu);
        cli_settings_free(&cs);
        return 2;
    }
    if (cs.conversation && cs.prompt_cache) {
        fprintf(stderr, "bitnet-cli: --prompt-cache is for a prompt's generation, not -cnv\n");
        cli_settings_free(&cs);
        return 2;
    }
    cs.model_params.use_mmap = !cs.no_mmap;
    cs.model_params.quantize_head = cs.quantize_head;
    if (cs.verbose)
        cs.model_params.log_level = BN_LOG_INFO;
    if (cs.seed_set)
        cs.gen.seed = cs.seed >= 0 ? (uint64_t)cs.seed : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);

    stats stat = { 0 };
    bn_model *model = NULL;
    bn_ctx *ctx = NULL;
    bn_sampler *smp = NULL;
    float *logits = NULL;
    int rc = 1;
    double t0 = ex_now();
    bn_status st = bn_model_open(cs.model, &cs.model_params, &model);
    stat.load_s = ex_now() - t0;
    if (st != BN_OK) {
        fail(cs.model, st);
        goto out;
    }
    if (cs.info) {
        rc = run_info(&cs, model);
        fprintf(stderr, "load time: %.2f ms\n", stat.load_s * 1e3);
        goto out;
    }
    if ((st = bn_ctx_new(model, &cs.ctx_params, &ctx)) != BN_OK) {
        fail("creating the context", st);
        goto out;
    }
    if ((st = bn_sampler_new(&cs.gen, &smp)) != BN_OK) {
        fail("creating the sampler", st);
        goto out;
    }
    if (!(logits = malloc((size_t)bn_model_n_vocab(model) * sizeof *logits))) {
        fprintf(stderr, "bitnet-cli: out of memory\n");
        goto out;
    }
    signal(SIGINT, on_sigint);
    rc = cs.conversation ? run_chat(&cs, ctx, smp, logits, &stat) : run_generate(&cs, ctx, smp, logits, &stat);
    print_stats(&stat, ctx);
out:
    free(logits);
    bn_sampler_free(smp);
    bn_ctx_free(ctx);
    bn_model_free(model);
    cli_settings_free(&cs);
    return rc;
}
