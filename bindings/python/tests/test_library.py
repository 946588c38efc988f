"""Loading, version checks, and the ctypes struct mirrors against the C layout."""
import ctypes
import os
import re
import subprocess
import sys

import pytest

import bitnet
from bitnet import _lib
from conftest import BINDING, REPO

HEADER = os.path.join(REPO, 'include', 'bitnet', 'bitnet.h')


def header_define(name):
    m = re.search(r'#define %s\s+("?)([^"\n]*)\1' % name, open(HEADER).read())
    return m.group(2)


def test_versions_match_header():
    assert bitnet.version_string() == header_define('BN_VERSION_STRING')
    assert bitnet.abi_version() == int(header_define('BN_ABI_VERSION')) == bitnet.ABI_VERSION
    major, minor, patch = (int(x) for x in bitnet.version_string().split('.'))
    assert bitnet.version() == major * 10000 + minor * 100 + patch
    assert bitnet.__version__ == bitnet.version_string()


def test_status_strings():
    assert bitnet.status_string(bitnet.Status.OK)
    assert bitnet.status_string(bitnet.Status.INVALID_ARG) == 'invalid argument'
    assert bitnet.status_string(-999) == 'unknown status'


def test_every_exported_function_is_declared():
    """The binding declares exactly the functions lib/bitnet.map exports."""
    mapped = re.findall(r'^\s+(bn_\w+);', open(os.path.join(REPO, 'lib', 'bitnet.map')).read(), re.M)
    assert sorted(mapped) == _lib.FUNCTIONS


def test_cpu_levels():
    best = bitnet.cpu_best()
    assert isinstance(best, bitnet.CpuLevel) and best != bitnet.CpuLevel.AUTO
    assert bitnet.cpu_supported(best) and bitnet.cpu_supported('scalar')


@pytest.mark.skipif(ctypes.sizeof(ctypes.c_void_p) != 8 or ctypes.sizeof(ctypes.c_long) != 8,
                    reason='tests/abi/layout-lp64.txt describes LP64 targets')
def test_struct_layout_matches_c():
    """sizeof/offsetof of every public struct, as tests/abi/layout.c prints them, equal the ctypes mirrors."""
    seen = 0
    for line in open(os.path.join(REPO, 'tests', 'abi', 'layout-lp64.txt')):
        kind, name, value = line.split()
        if kind == 'sizeof' and name in _lib.STRUCTS:
            assert ctypes.sizeof(_lib.STRUCTS[name]) == int(value), name
            seen += 1
        elif kind == 'offsetof':
            struct, field = name.split('.')
            assert getattr(_lib.STRUCTS[struct], field).offset == int(value), name
            seen += 1
        elif kind == 'value' and name.startswith('BN_E_'):
            assert bitnet.Status[name[5:]] == int(value), name
        elif kind == 'value' and name.startswith('BN_CPU_'):
            assert bitnet.CpuLevel[name[7:]] == int(value), name
        elif kind == 'value' and name.startswith('BN_LOG_'):
            assert bitnet.LogLevel[name[7:]] == int(value), name
        elif kind == 'value' and name.startswith(('BN_TOKENIZE_', 'BN_DETOKENIZE_')):
            assert getattr(_lib, name) == int(value), name
    n_fields = sum(len(s._fields_) for s in _lib.STRUCTS.values())
    assert seen == len(_lib.STRUCTS) + n_fields


def run_import(env_lib, tmp_path):
    env = dict(os.environ, BITNET_LIBRARY=env_lib, PYTHONPATH=BINDING)
    return subprocess.run([sys.executable, '-c', 'import bitnet'], env=env, capture_output=True, text=True,
                          cwd=str(tmp_path))


def test_missing_library_is_a_clear_import_error(tmp_path):
    r = run_import(str(tmp_path / 'nope' / 'libbitnet.so'), tmp_path)
    assert r.returncode != 0
    assert 'LibraryError' in r.stderr and 'libbitnet could not be loaded' in r.stderr


def test_abi_mismatch_is_a_clear_import_error(tmp_path):
    """A library reporting another ABI version is refused at import with a message saying so."""
    cc = os.environ.get('CC', 'cc')
    src = tmp_path / 'fake.c'
    src.write_text('int bn_abi_version(void) { return 7; }\n'
                   'int bn_version(void) { return 9900; }\n'
                   'const char *bn_version_string(void) { return "99.0.0"; }\n')
    so = tmp_path / 'libbitnet.so.7'
    try:
        subprocess.run([cc, '-shared', '-fPIC', '-o', str(so), str(src)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip('no C compiler: %s' % e)
    r = run_import(str(so), tmp_path)
    assert r.returncode != 0
    assert 'ABI version 7' in r.stderr and 'needs ABI version %d' % bitnet.ABI_VERSION in r.stderr


def import_path(env, cwd):
    """library_path() of a fresh interpreter importing bitnet with env."""
    env = {k: v for k, v in env.items() if k != 'BITNET_LIBRARY'}
    r = subprocess.run([sys.executable, '-c', 'import bitnet; print(bitnet.library_path())'], env=env,
                       capture_output=True, text=True, cwd=str(cwd))
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_library_next_to_the_package(tmp_path):
    import shutil
    pkg = tmp_path / 'site' / 'bitnet'
    shutil.copytree(os.path.join(BINDING, 'bitnet'), str(pkg), ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(bitnet.library_path(), str(pkg / 'libbitnet.so.0'))
    got = import_path(dict(os.environ, PYTHONPATH=str(tmp_path / 'site')), tmp_path)
    assert got == str(pkg / 'libbitnet.so.0')


def test_library_from_pkg_config(tmp_path):
    import ctypes.util
    import shutil
    if ctypes.util.find_library('bitnet') or not shutil.which('pkg-config'):
        pytest.skip('a system libbitnet would be found first, or no pkg-config')
    libdir = tmp_path / 'lib'
    libdir.mkdir()
    shutil.copy(bitnet.library_path(), str(libdir / 'libbitnet.so.0'))
    pc = tmp_path / 'pc'
    pc.mkdir()
    (pc / 'bitnet.pc').write_text('prefix=%s\nlibdir=${prefix}/lib\nincludedir=${prefix}/include\n\n'
                                  'Name: bitnet\nDescription: test\nVersion: %s\nLibs: -L${libdir} -lbitnet\n'
                                  'Cflags: -I${includedir}\n' % (tmp_path, bitnet.version_string()))
    env = dict(os.environ, PYTHONPATH=BINDING, PKG_CONFIG_PATH=str(pc), PKG_CONFIG_LIBDIR=str(pc))
    assert import_path(env, tmp_path) == str(libdir / 'libbitnet.so.0')
