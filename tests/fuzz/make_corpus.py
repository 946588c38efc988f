"""Writes the fuzzer's seed corpus (tests/fuzz/corpus/*.gguf): small valid files.

Run from the repository root with /usr/bin/python3; the output is committed.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'tools'))
import gguf_write as gw  # noqa: E402

OUT = os.path.join(os.path.dirname(__file__), 'corpus')


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


if __name__ == '__main__':
    main()
