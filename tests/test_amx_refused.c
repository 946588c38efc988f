/* When Linux refuses a host the AMX tile state (ARCH_REQ_XCOMP_PERM fails
 * while a thread's alternate signal stack is too small for the larger
 * signal frame), a model must still open, run the prefetching AVX-512 build and
 * give the scalar level's logits bit for bit; and the library must not have
 * been granted the state behind the host's back. A process of its own: the
 * grant is process-wide and one-way. Skips (77) where the CPU or OS has no
 * AMX to refuse. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bitnet/bitnet.h"

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>

#include "cpu.h"
#include "test_models.h"

enum { ARCH_GET_XCOMP_PERM = 0x1022, XFEATURE_XTILEDATA = 18 };

/* Whether this process holds the tile data permission now. */
static int amx_granted(void)
{
    uint64_t mask = 0;
    if (syscall(SYS_arch_prctl, ARCH_GET_XCOMP_PERM, &mask) != 0)
        return 0;
    return (mask >> XFEATURE_XTILEDATA) & 1;
}

static char load_message[1024];

static void keep_message(void *user, int level, const char *msg)
{
    (void)user;
    if (level == BN_LOG_INFO && strstr(msg, "kernels "))
        snprintf(load_message, sizeof load_message, "%s", msg);
}

static bn_model *open_model(bn_cpu_level level)
{
    return open_model_logged("valid.gguf", level, keep_message);
}

static void eval_logits(bn_model *m, float *logits)
{
    bn_ctx_params cp;
    bn_ctx_params_init(&cp);
    cp.n_ctx = 64;
    bn_ctx *c = NULL;
    assert_int_equal(bn_ctx_new(m, &cp, &c), BN_OK);
    const bn_token prompt[] = {1, 7, 3, 12, 5, 9, 2, 11};  /* several tokens: the prefill kernels */
    assert_int_equal(bn_eval(c, prompt, sizeof prompt / sizeof prompt[0], logits), BN_OK);
    bn_ctx_free(c);
}

static void test_refused_grant(void **state)
{
    (void)state;
    /* Big enough for a signal frame without the tile data (about 3.5 KiB
     * with AVX-512), too small for one with its 8 KiB: Linux then refuses
     * the permission (ENOSPC). sysconf(_SC_MINSIGSTKSZ), what a host should
     * use, already counts the tile data (11952 bytes here). */
    size_t size = 8192;
    stack_t ss = { .ss_sp = malloc(size), .ss_size = size, .ss_flags = 0 };
    assert_non_null(ss.ss_sp);
    assert_int_equal(sigaltstack(&ss, NULL), 0);

    bn_model *m = open_model(BN_CPU_AVX512);
    assert_false(amx_granted());
    assert_non_null(strstr(load_message, "kernels avx512 (prefetching build)"));
    bn_model *s = open_model(BN_CPU_SCALAR);
    int n_vocab = bn_model_n_vocab(m);
    float *a = malloc(sizeof(float) * (size_t)n_vocab), *b = malloc(sizeof(float) * (size_t)n_vocab);
    assert_non_null(a);
    assert_non_null(b);
    eval_logits(m, a);
    eval_logits(s, b);
    assert_memory_equal(a, b, sizeof(float) * (size_t)n_vocab);
    free(a);
    free(b);
    bn_model_free(s);
    bn_model_free(m);

    stack_t off = { .ss_flags = SS_DISABLE };
    assert_int_equal(sigaltstack(&off, NULL), 0);
    free(ss.ss_sp);
}

int main(void)
{
    if (!bn_cpu_amx_present() || amx_granted()) {
        printf("1..0 # SKIP no AMX to refuse here\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refused_grant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
#else
int main(void)
{
    printf("1..0 # SKIP AMX is x86-64 Linux only\n");
    return 77;
}
#endif
