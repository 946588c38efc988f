"""Writes the fuzzers' seed corpora: tests/fuzz/corpus/*.gguf (small valid
files for fuzz_gguf) and tests/fuzz/corpus-tokenize/* (texts for
fuzz_tokenize: a first byte that picks the vocabulary and flags, then text).

Run from the repository root with /usr/bin/python3; the output is committed.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
import gguf_write as gw  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), 'corpus')
OUT_TOKENIZE = os.path.join(os.path.dirname(__file__), 'corpus-tokenize')

# Texts that reach the pre-tokenizers' branches: contractions, digits runs,
# punctuation, whitespace runs and newlines, several scripts, emoji, special
# token texts, and SentencePiece's U+2581.
TEXTS = [
    "Hello world! It's 2024; we're testing: a, b & c.",
    "   leading spaces\n\n\ttabs and trailing   ",
    "1234567890 3.14159 -42 1,000,000",
    "I'll they've she'd we're you'RE DON'T",
    "\u4f60\u597d\uff0c\u4e16\u754c \u3053\u3093\u306b\u3061\u306f \uc548\ub155\ud558\uc138\uc694",
    "\u041f\u0440\u0438\u0432\u0435\u0442 \u0645\u0631\u062d\u0628\u0627 \u05e9\u05dc\u05d5\u05dd \u0928\u092e\u0938\u094d\u0924\u0947",
    "emoji \U0001f600\U0001f680 flags \U0001f1fa\U0001f1f8 zwj \U0001f468\u200d\U0001f469\u200d\U0001f467",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
    "<s>[INST] hi [/INST]</s> <unk>",
    "\u2581word \u2581\u2581two",
    "caf\u00e9 na\u00efve \u00c5ngstr\u00f6m e\u0301",
    "",
]


def tokenizer_seeds():
    for i, text in enumerate(TEXTS):
        for flags in (0x00, 0x30):
            yield 'text%02d_%02x' % (i, flags), bytes([flags | (i % 8)]) + text.encode('utf-8')


def pattern(n, seed):
    return bytes((seed * 31 + i * 7 + 1) & 0xff for i in range(n))


def every_value_type():
    w = gw.GGUFWriter()
    w.add_str('general.architecture', 'bitnet-b1.58')
    w.add('t.u8', gw.UINT8, 200)
    w.add('t.i8', gw.INT8, -100)
    w.add('t.u16', gw.UINT16, 60000)
    w.add('t.i16', gw.INT16, -30000)
    w.add_u32('t.u32', 4000000000)
    w.add_i32('t.i32', -2000000000)
    w.add_f32('t.f32', 1.5)
    w.add_bool('t.bool', True)
    w.add('t.u64', gw.UINT64, 2**64 - 1)
    w.add('t.i64', gw.INT64, -2**63)
    w.add('t.f64', gw.FLOAT64, 0.1)
    w.add_str('t.str', 'h\u00e9llo')
    w.add_arr('t.arr_i32', gw.INT32, [-1, 0, 7])
    w.add_arr('t.arr_bool', gw.BOOL, [False, True])
    w.add_arr('t.arr_str', gw.STRING, ['a', '', 'ccc'])
    w.add_arr('t.nested', gw.ARRAY, [(gw.UINT16, [1, 2]), (gw.STRING, ['x']), (gw.ARRAY, [(gw.UINT8, [])])])
    w.add_tensor('token_embd.weight', [4, 3], gw.F16, pattern(24, 1))
    w.add_tensor('blk.0.attn_q.weight', [128, 2], gw.I2_S, pattern(128 * 2 // 4 + 32, 2))
    w.add_tensor('output_norm.weight', [4], gw.F32, pattern(16, 3))
    return w.to_bytes()


def ternary_v2_align64():
    w = gw.GGUFWriter(alignment=64)
    w.add_str('general.architecture', 'bitnet')
    w.add_u32('bitnet.block_count', 1)
    w.add_tensor('blk.0.ffn_up.weight', [256], gw.TQ2_0, pattern(66, 4))
    w.add_tensor('blk.0.ffn_down.weight', [256], gw.TQ1_0, pattern(54, 5))
    w.add_tensor('blk.0.attn_norm.weight', [2, 2, 2, 2], gw.F32, pattern(64, 6))
    b = bytearray(w.to_bytes())
    b[4:8] = (2).to_bytes(4, 'little')
    return bytes(b)


def tokenizer_only():
    w = gw.GGUFWriter()
    w.add_str('tokenizer.ggml.model', 'gpt2')
    w.add_arr('tokenizer.ggml.tokens', gw.STRING, ['<s>', '</s>', 'a', 'b', 'ab', '\u0120the'])
    w.add_arr('tokenizer.ggml.token_type', gw.INT32, [3, 3, 1, 1, 1, 1])
    w.add_arr('tokenizer.ggml.merges', gw.STRING, ['a b', '\u0120 t'])
    w.add_u32('tokenizer.ggml.bos_token_id', 0)
    return w.to_bytes()


def quantized():
    w = gw.GGUFWriter()
    w.add_tensor('q8', [32, 2], gw.Q8_0, pattern(68, 7))
    w.add_tensor('bf16', [3], gw.BF16, pattern(6, 8))
    w.add_tensor('q6k', [256], gw.Q6_K, pattern(210, 9))
    return w.to_bytes()


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, fn in [('every_value_type', every_value_type), ('ternary_v2_align64', ternary_v2_align64),
                     ('tokenizer_only', tokenizer_only), ('quantized', quantized)]:
        data = fn()
        assert len(data) < 4096, (name, len(data))
        with open(os.path.join(OUT, name + '.gguf'), 'wb') as f:
            f.write(data)
    os.makedirs(OUT_TOKENIZE, exist_ok=True)
    for name, data in tokenizer_seeds():
        with open(os.path.join(OUT_TOKENIZE, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
