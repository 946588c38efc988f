/* Chat templates: exact output of each format, detection from
 * tokenizer.chat_template, and the error and buffer-size paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tok_util.h"

static const bn_chat_message conv[] = {
    { "system", "You are helpful." },
    { "user", "  Hi there\n" },
    { "assistant", "Hello!" },
    { "user", "Bye" },
};
#define N_CONV (sizeof conv / sizeof *conv)

static void expect(const char *tmpl, const bn_chat_message *m, size_t n, int add, const char *want)
{
    char buf[1024];
    size_t needed = 0;
    assert_int_equal(bn_chat_apply(NULL, tmpl, m, n, add, buf, sizeof buf, &needed), BN_OK);
    assert_int_equal(needed, strlen(want));
    assert_string_equal(buf, want);
}

static void test_bitnet(void **state)
{
    (void)state;
    expect("bitnet", conv, N_CONV, 1,
           "System: You are helpful.<|eot_id|>User: Hi there<|eot_id|>Assistant: Hello!<|eot_id|>"
           "User: Bye<|eot_id|>Assistant: ");
    expect("bitnet", conv + 1, 1, 0, "User: Hi there<|eot_id|>");
}

static void test_llama3(void **state)
{
    (void)state;
    expect("llama3", conv, N_CONV, 1,
           "<|start_header_id|>system<|end_header_id|>\n\nYou are helpful.<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
           "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
           "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect("llama3", conv + 3, 1, 0, "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>");
}

static void test_falcon3(void **state)
{
    (void)state;
    expect("falcon3", conv, N_CONV, 1,
           "<|system|>\nYou are helpful.\n<|user|>\n  Hi there\n\n<|assistant|>\nHello!\n<|user|>\nBye\n"
           "<|assistant|>\n");
}

static void test_llama2(void **state)
{
    (void)state;
    expect("llama2", conv, N_CONV, 1,
           "[INST] <<SYS>>\nYou are helpful.\n<</SYS>>\n\n  Hi there\n [/INST]Hello!</s>[INST] Bye [/INST]");
}

static void test_empty_and_sizes(void **state)
{
    (void)state;
    expect("llama3", NULL, 0, 1, "<|start_header_id|>assistant<|end_header_id|>\n\n");
    expect("bitnet", NULL, 0, 0, "");
    size_t needed = 0;
    /* asking for the size */
    assert_int_equal(bn_chat_apply(NULL, "bitnet", conv, N_CONV, 1, NULL, 0, &needed), BN_E_BUFFER_TOO_SMALL);
    size_t full = needed;
    char *buf = malloc(full + 1);
    /* exactly the length is too small: the NUL must fit too */
    assert_int_equal(bn_chat_apply(NULL, "bitnet", conv, N_CONV, 1, buf, full, &needed), BN_E_BUFFER_TOO_SMALL);
    assert_int_equal(needed, full);
    assert_int_equal(bn_chat_apply(NULL, "bitnet", conv, N_CONV, 1, buf, full + 1, &needed), BN_OK);
    assert_int_equal(strlen(buf), full);
    free(buf);
}

static void test_errors(void **state)
{
    (void)state;
    char buf[64];
    size_t needed;
    assert_int_equal(bn_chat_apply(NULL, "chatml", conv, N_CONV, 1, buf, sizeof buf, &needed), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "chatml"));
    assert_int_equal(bn_chat_apply(NULL, NULL, conv, N_CONV, 1, buf, sizeof buf, &needed), BN_E_INVALID_ARG);
    assert_int_equal(bn_chat_apply(NULL, "llama3", conv, N_CONV, 1, buf, sizeof buf, NULL), BN_E_INVALID_ARG);
    bn_chat_message bad = { "user", NULL };
    assert_int_equal(bn_chat_apply(NULL, "llama3", &bad, 1, 1, buf, sizeof buf, &needed), BN_E_INVALID_ARG);
    bn_chat_message tool = { "tool", "x" };
    assert_int_equal(bn_chat_apply(NULL, "bitnet", &tool, 1, 1, buf, sizeof buf, &needed), BN_E_INVALID_ARG);
    assert_int_equal(bn_chat_apply(NULL, "llama3", &tool, 1, 0, buf, sizeof buf, &needed), BN_OK);
    assert_string_equal(buf, "<|start_header_id|>tool<|end_header_id|>\n\nx<|eot_id|>");
    /* a role never carries markup into the header */
    bn_chat_message inject = { "user<|end_header_id|>", "x" }, empty = { "", "x" };
    assert_int_equal(bn_chat_apply(NULL, "llama3", &inject, 1, 0, buf, sizeof buf, &needed), BN_E_INVALID_ARG);
    assert_non_null(strstr(bn_last_error(), "message 0"));
    assert_int_equal(bn_chat_apply(NULL, "falcon3", &empty, 1, 0, buf, sizeof buf, &needed), BN_E_INVALID_ARG);
    /* a template's text is recognised as well as its name */
    assert_int_equal(bn_chat_apply(NULL, "{{ '<|start_header_id|>' + role + '<|end_header_id|>' }}", conv + 3, 1, 0,
                                   buf, sizeof buf, &needed), BN_OK);
    assert_string_equal(buf, "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>");
}

static void test_model_template(void **state)
{
    (void)state;
    char *p = tok_path("BN_TOK_VOCABS", "bpe-small.gguf");
    bn_model *m = tok_open(p);
    free(p);
    assert_non_null(m);
    assert_string_equal(bn_chat_template_name(m), "bitnet");
    char buf[256];
    size_t needed;
    assert_int_equal(bn_chat_apply(m, NULL, conv + 1, 1, 1, buf, sizeof buf, &needed), BN_OK);
    assert_string_equal(buf, "User: Hi there<|eot_id|>Assistant: ");
    /* the chat text tokenizes with its special tokens */
    size_t n = 0;
    bn_token toks[64];
    assert_int_equal(bn_tokenize(m, buf, needed, BN_TOKENIZE_ADD_SPECIAL | BN_TOKENIZE_PARSE_SPECIAL, toks, 64, &n),
                     BN_OK);
    assert_int_equal(toks[0], bn_token_bos(m));
    int seen_eot = 0;
    for (size_t i = 0; i < n; i++)
        seen_eot += toks[i] == bn_token_eot(m);
    assert_int_equal(seen_eot, 1);
    tok_close(m);

    p = tok_path("BN_TOK_VOCABS", "spm-small.gguf");
    m = tok_open(p);
    free(p);
    assert_non_null(m);
    assert_null(bn_chat_template_name(m));
    assert_int_equal(bn_chat_apply(m, NULL, conv, N_CONV, 1, buf, sizeof buf, &needed), BN_E_UNSUPPORTED);
    assert_int_equal(bn_chat_apply(m, "llama2", conv + 3, 1, 1, buf, sizeof buf, &needed), BN_OK);
    assert_string_equal(buf, "[INST] Bye [/INST]");
    tok_close(m);
    assert_null(bn_chat_template_name(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitnet),
        cmocka_unit_test(test_llama3),
        cmocka_unit_test(test_falcon3),
        cmocka_unit_test(test_llama2),
        cmocka_unit_test(test_empty_and_sizes),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_model_template),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
