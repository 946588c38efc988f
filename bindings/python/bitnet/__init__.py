"""Python bindings for libbitnet: run ternary (1.58-bit) BitNet language models from GGUF files.

    import bitnet

    with bitnet.Model("model.gguf", log=False) as model, bitnet.Context(model, n_threads=4) as ctx:
        print(ctx.generate("Once upon a time", max_tokens=64, temperature=0))
        for piece in ctx.stream(" And then", max_tokens=32):
            print(piece, end="", flush=True)

The shared library is found through ``BITNET_LIBRARY``, next to this package,
the dynamic loader, or ``pkg-config bitnet`` (see ``bitnet._lib``); its ABI
version is checked at import. Every failing call raises :class:`BitnetError`
with the library's status and message.
"""
from ._errors import BitnetError, Status
from ._lib import ABI_VERSION, LibraryError
from ._common import (CpuLevel, LogLevel, abi_version, cpu_best, cpu_supported, library_path, status_string, version,
                      version_string)
from ._model import MetaArray, Metadata, Model, TensorInfo
from ._context import Context, Sampler

__version__ = version_string()

__all__ = [
    'ABI_VERSION', 'BitnetError', 'Context', 'CpuLevel', 'LibraryError', 'LogLevel', 'MetaArray', 'Metadata',
    'Model', 'Sampler', 'Status', 'TensorInfo', 'abi_version', 'cpu_best', 'cpu_supported', 'library_path',
    'status_string', 'version', 'version_string',
]
