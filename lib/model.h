/* The model handle: the parsed file, hyperparameters, weights and vocabulary. */
#ifndef BN_LIB_MODEL_H
#define BN_LIB_MODEL_H

#include "bitnet/bitnet.h"
#include "error.h"
#include "gguf.h"
#include "vocab.h"

/* The model's vocabulary; NULL for a NULL model. */
const bn_vocab *bn_model_vocab(const bn_model *model);
/* The model's parsed file; NULL for a NULL model. */
const bn_gguf *bn_model_gguf(const bn_model *model);
/* The model's logger (never NULL for a valid model). */
const bn_logger *bn_model_logger(const bn_model *model);

#endif
