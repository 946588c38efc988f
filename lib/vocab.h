/* The tokenizer vocabulary of a model: loading, tokenizing, detokenizing. */
#ifndef BN_LIB_VOCAB_H
#define BN_LIB_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "bitnet/bitnet.h"
#include "error.h"
#include "gguf.h"

typedef struct bn_vocab bn_vocab;

/* Reads the tokenizer.* metadata. Errors name the key. */
bn_status bn_vocab_load(const bn_gguf *g, const bn_logger *lg, bn_vocab **out);
void bn_vocab_free(bn_vocab *v);
int32_t bn_vocab_n(const bn_vocab *v);

#endif
