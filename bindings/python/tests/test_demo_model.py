"""Generation from the shipped demo model (models/*.gguf), when it is there."""
import pytest

import bitnet
from conftest import demo_models

MODELS = demo_models()


@pytest.mark.skipif(not MODELS, reason='no models/*.gguf (the demo model is not in this checkout)')
@pytest.mark.parametrize('path', MODELS)
def test_demo_model_generates(path):
    with bitnet.Model(path, log=False) as m, bitnet.Context(m, n_ctx=256, n_threads=2) as c:
        assert m.n_vocab > 0 and m.arch
        text = c.generate('Once upon a time', max_tokens=32, temperature=0)
        assert isinstance(text, str) and text.strip()
        c.reset()
        assert ''.join(c.stream('Once upon a time', max_tokens=32, temperature=0)) == text
        c.reset()
        again = c.generate('Once upon a time', max_tokens=32, temperature=0.8, seed=1)
        assert isinstance(again, str)
