"""The public header is plain enough for cffi's ABI mode: preprocess it, cdef it, dlopen the library."""
import os
import shutil
import subprocess

import pytest

import bitnet
from conftest import REPO

cffi = pytest.importorskip('cffi')
HEADER = os.path.join(REPO, 'include', 'bitnet', 'bitnet.h')


def preprocessed_header(tmp_path):
    cc = os.environ.get('CC', 'cc').split()
    if not shutil.which(cc[0]):
        pytest.skip('no C compiler to preprocess the header')
    # cffi knows size_t and the <stdint.h> types itself: empty stand-ins keep
    # the system headers' extensions out, and without __GNUC__ BN_API is empty.
    fake = tmp_path / 'inc'
    fake.mkdir()
    for h in ('stddef.h', 'stdint.h'):
        (fake / h).write_text('')
    out = subprocess.run(cc + ['-E', '-P', '-nostdinc', '-I', str(fake), '-U__GNUC__', '-x', 'c', HEADER],
                         check=True, capture_output=True, text=True).stdout
    assert '__attribute__' not in out
    return out


def test_cffi_abi_mode(tmp_path):
    ffi = cffi.FFI()
    ffi.cdef(preprocessed_header(tmp_path))
    lib = ffi.dlopen(bitnet.library_path())
    assert lib.bn_version() == bitnet.version()
    assert ffi.string(lib.bn_version_string()).decode() == bitnet.version_string()
    assert lib.bn_abi_version() == bitnet.ABI_VERSION
    assert lib.BN_E_CONTEXT_FULL == -6 and lib.BN_CPU_AVX512 == 3
    p = ffi.new('bn_gen_params *')
    lib.bn_gen_params_init_sized(p, ffi.sizeof('bn_gen_params'))  # what the header's macro does
    assert p.size == ffi.sizeof('bn_gen_params') and p.n_predict == 128
    out = ffi.new('bn_model **')
    assert lib.bn_model_open(b'/nonexistent/x.gguf', ffi.NULL, out) == lib.BN_E_IO
    assert out[0] == ffi.NULL and b'/nonexistent/x.gguf' in ffi.string(lib.bn_last_error())


def test_cffi_generates(tmp_path, model_path):
    """A whole open/generate/free round through cffi, with a cffi callback."""
    ffi = cffi.FFI()
    ffi.cdef(preprocessed_header(tmp_path))
    lib = ffi.dlopen(bitnet.library_path())
    mp = ffi.new('bn_model_params *')
    lib.bn_model_params_init(mp)
    mp.log_fn = lib.bn_log_silent
    model = ffi.new('bn_model **')
    assert lib.bn_model_open(model_path.encode(), mp, model) == 0
    ctx = ffi.new('bn_ctx **')
    assert lib.bn_ctx_new(model[0], ffi.NULL, ctx) == 0
    gp = ffi.new('bn_gen_params *')
    lib.bn_gen_params_init(gp)
    gp.n_predict = 16
    gp.temperature = 0
    pieces = []

    @ffi.callback('int(void *, bn_token, const char *, size_t)')
    def on_token(user, token, piece, n):
        pieces.append(ffi.unpack(piece, n))
        return 0

    assert lib.bn_generate(ctx[0], b'The old lighthouse keeper', gp, on_token, ffi.NULL) == 0
    lib.bn_ctx_free(ctx[0])
    lib.bn_model_free(model[0])
    with bitnet.Model(model_path, log=False) as m, bitnet.Context(m) as c:
        assert b''.join(pieces).decode() == c.generate('The old lighthouse keeper', max_tokens=16, temperature=0)
