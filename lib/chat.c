/* Chat templates: the few formats BitNet models use, written out as llama.cpp's
 * llm_chat_apply_template writes them (no Jinja engine). The BOS token is never
 * written as text: tokenizing with BN_TOKENIZE_ADD_SPECIAL adds it. */
#include <string.h>

#include "model.h"
#include "vocab.h"

typedef enum tmpl_id { T_NONE = -1, T_BITNET, T_LLAMA3, T_FALCON3, T_LLAMA2 } tmpl_id;

static const char *const names[] = { "bitnet", "llama3", "falcon3", "llama2" };

/* Recognises a template by marker strings, as llama.cpp's llm_chat_detect_template. */
static tmpl_id detect(const char *t)
{
#define HAS(s) (strstr(t, s) != NULL)
    /* BitNet b1.58 2B-4T: "User: ...<|eot_id|>Assistant: " (its Jinja may build
     * the role prefix with `capitalize`). Checked before Llama 3, whose
     * markers a BitNet template may also carry. */
    if (HAS("Assistant: ") && (HAS("User: ") || HAS("capitalize")))
        return T_BITNET;
    if (HAS("<|start_header_id|>") && HAS("<|end_header_id|>"))
        return T_LLAMA3;
    if (HAS("<|assistant|>") && HAS("<|user|>") && !HAS("<|end|>"))  /* <|end|> is Phi-3 */
        return T_FALCON3;
    if (HAS("[INST]"))
        return T_LLAMA2;
#undef HAS
    return T_NONE;
}

static tmpl_id by_name(const char *name)
{
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcmp(name, names[i]))
            return (tmpl_id)i;
    return T_NONE;
}

BN_API const char *bn_chat_template_name(const bn_model *model)
{
    const bn_vocab *v = model ? bn_model_vocab(model) : NULL;
    tmpl_id t = v && v->chat_template ? detect(v->chat_template) : T_NONE;
    return t == T_NONE ? NULL : names[t];
}

typedef struct out {
    char *buf;
    size_t cap, len;
} out;

static void put(out *o, const char *s, size_t n)
{
    if (o->len < o->cap) {
        size_t k = o->cap - o->len < n ? o->cap - o->len : n;
        memcpy(o->buf + o->len, s, k);
    }
    o->len += n;
}

static void puts_(out *o, const char *s) { put(o, s, strlen(s)); }

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'; }

/* Content without leading and trailing ASCII whitespace (llama.cpp's trim). */
static void put_trimmed(out *o, const char *s)
{
    size_t n = strlen(s), a = 0;
    while (a < n && is_space(s[a]))
        a++;
    while (n > a && is_space(s[n - 1]))
        n--;
    put(o, s + a, n - a);
}

static void format(tmpl_id t, const bn_chat_message *m, size_t n, int add_ass, out *o)
{
    switch (t) {
    case T_BITNET:
        for (size_t i = 0; i < n; i++) {
            puts_(o, !strcmp(m[i].role, "system") ? "System: " : !strcmp(m[i].role, "user") ? "User: " : "Assistant: ");
            put_trimmed(o, m[i].content);
            puts_(o, "<|eot_id|>");
        }
        if (add_ass)
            puts_(o, "Assistant: ");
        break;
    case T_LLAMA3:
        for (size_t i = 0; i < n; i++) {
            puts_(o, "<|start_header_id|>");
            puts_(o, m[i].role);
            puts_(o, "<|end_header_id|>\n\n");
            put_trimmed(o, m[i].content);
            puts_(o, "<|eot_id|>");
        }
        if (add_ass)
            puts_(o, "<|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case T_FALCON3:
        for (size_t i = 0; i < n; i++) {
            puts_(o, "<|");
            puts_(o, m[i].role);
            puts_(o, "|>\n");
            puts_(o, m[i].content);
            puts_(o, "\n");
        }
        if (add_ass)
            puts_(o, "<|assistant|>\n");
        break;
    case T_LLAMA2: {
        /* [INST] with a <<SYS>> block (llama.cpp's "llama2-sys"); the first
         * BOS is the tokenizer's, later turns start a new [INST]. Llama 2
         * has no separate generation prompt. */
        int in_turn = 1;
        puts_(o, "[INST] ");
        for (size_t i = 0; i < n; i++) {
            if (!in_turn) {
                in_turn = 1;
                puts_(o, "[INST] ");
            }
            if (!strcmp(m[i].role, "system")) {
                puts_(o, "<<SYS>>\n");
                puts_(o, m[i].content);
                puts_(o, "\n<</SYS>>\n\n");
            } else if (!strcmp(m[i].role, "user")) {
                puts_(o, m[i].content);
                puts_(o, " [/INST]");
            } else {
                puts_(o, m[i].content);
                puts_(o, "</s>");
                in_turn = 0;
            }
        }
        break;
    }
    default:
        break;
    }
}

static int known_role(const char *r)
{
    return !strcmp(r, "system") || !strcmp(r, "user") || !strcmp(r, "assistant");
}

/* Llama 3 and Falcon 3 write the role's name into the turn's header, so any
 * name their models know ("tool", "ipython") goes through; a plain word
 * only, so that a role never carries markup such as a special token. */
static int plain_role(const char *r)
{
    if (!*r || strlen(r) > 32)
        return 0;
    for (; *r; r++)
        if (!((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z') || (*r >= '0' && *r <= '9') || *r == '_' ||
              *r == '-'))
            return 0;
    return 1;
}

BN_API bn_status bn_chat_apply(const bn_model *model, const char *tmpl, const bn_chat_message *messages,
                               size_t n_messages, int add_assistant_prompt, char *buf, size_t cap, size_t *needed)
{
    if (needed)
        *needed = 0;
    if (!needed || (!messages && n_messages) || (!buf && cap) || (!model && !tmpl))
        return bn_fail(BN_E_INVALID_ARG, "bn_chat_apply: %s is NULL",
                       !needed ? "needed" : !buf && cap ? "buf" : !model && !tmpl ? "model" : "messages");
    tmpl_id t;
    if (tmpl) {
        /* A name, or the text of a template to recognise. */
        if ((t = by_name(tmpl)) == T_NONE && (t = detect(tmpl)) == T_NONE)
            return bn_fail(BN_E_INVALID_ARG, "bn_chat_apply: unknown chat template '%.64s' (bitnet, llama3, falcon3, llama2)",
                           tmpl);
    } else {
        const bn_vocab *v = bn_model_vocab(model);
        if (!v || !v->chat_template)
            return bn_fail(BN_E_UNSUPPORTED, "bn_chat_apply: the model has no tokenizer.chat_template; name a template");
        if ((t = detect(v->chat_template)) == T_NONE)
            return bn_fail(BN_E_UNSUPPORTED, "bn_chat_apply: the model's chat template is not one libbitnet knows; "
                           "name one (bitnet, llama3, falcon3, llama2)");
    }
    for (size_t i = 0; i < n_messages; i++) {
        if (!messages[i].role || !messages[i].content)
            return bn_fail(BN_E_INVALID_ARG, "bn_chat_apply: message %zu has a NULL %s", i,
                           !messages[i].role ? "role" : "content");
        if ((t == T_BITNET || t == T_LLAMA2) && !known_role(messages[i].role))
            return bn_fail(BN_E_INVALID_ARG, "bn_chat_apply: role '%.32s' of message %zu is not system, user or assistant",
                           messages[i].role, i);
        if (!plain_role(messages[i].role))
            return bn_fail(BN_E_INVALID_ARG,
                           "bn_chat_apply: role of message %zu is not a word of 1 to 32 letters, digits, '_' or '-'", i);
    }
    out o = { buf, cap, 0 };
    format(t, messages, n_messages, add_assistant_prompt, &o);
    *needed = o.len;
    if (o.len >= cap)
        return bn_fail(BN_E_BUFFER_TOO_SMALL, "bn_chat_apply: the text needs %zu bytes plus a NUL", o.len);
    buf[o.len] = '\0';
    return BN_OK;
}
