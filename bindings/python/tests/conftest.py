"""Fixtures for the binding's tests: the library to load and generated models.

The library comes from BITNET_LIBRARY (meson test sets it to the built
libbitnet.so); run by hand, the first of build-py/, build/ that has one is used.
"""
import glob
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BINDING = os.path.dirname(HERE)
REPO = os.path.dirname(os.path.dirname(BINDING))

if not os.environ.get('BITNET_LIBRARY'):
    for d in ('build-py', 'build'):
        p = os.path.join(REPO, d, 'lib', 'libbitnet.so')
        if os.path.exists(p):
            os.environ['BITNET_LIBRARY'] = p
            break
if BINDING not in sys.path:
    sys.path.insert(0, BINDING)


def gen_model(path, *args):
    """Writes a random-weight GGUF with tools/gen_model.py."""
    subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'gen_model.py'), str(path), *args], check=True,
                   stdout=subprocess.DEVNULL)
    return str(path)


@pytest.fixture(scope='session')
def model_dir(tmp_path_factory):
    return tmp_path_factory.mktemp('models')


@pytest.fixture(scope='session')
def model_path(model_dir):
    """A small bitnet-b1.58 model: 2 layers, n_embd 256, 512-token GPT-2 style vocabulary, n_ctx 512."""
    return gen_model(model_dir / 'small.gguf', '--arch', 'bitnet-b1.58', '--type', 'i2_s', '--n-embd', '256',
                     '--n-layer', '2', '--n-head', '4', '--n-head-kv', '2', '--n-ff', '512', '--n-vocab', '512',
                     '--n-ctx', '512', '--seed', '3')


@pytest.fixture(scope='session')
def tiny_path(model_dir):
    """The smallest model that still runs: for open/close cycles."""
    return gen_model(model_dir / 'tiny.gguf', '--arch', 'bitnet-b1.58', '--type', 'i2_s', '--n-embd', '128',
                     '--n-layer', '1', '--n-head', '2', '--n-ff', '256', '--n-vocab', '300', '--n-ctx', '64')


@pytest.fixture
def model(model_path):
    import bitnet
    with bitnet.Model(model_path, log=False) as m:
        yield m


@pytest.fixture
def ctx(model):
    import bitnet
    with bitnet.Context(model, n_ctx=256) as c:
        yield c


def demo_models():
    """models/*.gguf, or the files BITNET_DEMO_MODELS lists (separated by os.pathsep)."""
    env = os.environ.get('BITNET_DEMO_MODELS')
    if env:
        return [p for p in env.split(os.pathsep) if p]
    return sorted(glob.glob(os.path.join(REPO, 'models', '*.gguf')))
