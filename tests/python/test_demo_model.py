"""The shipped demo model (models/): bitnet-perplexity against the PyTorch
evaluation written into models/shakespeare.json by tools/train/evaluate.py, the
same perplexity on every ternary file type, kernel level and thread count, a
perplexity bound computed here from a unigram model, and generated text that
is made of the training text's words.

Needs ../shared/data/tinyshakespeare.txt (skipped without it) and the example
programs (meson sets BITNET_PERPLEXITY and BITNET_CLI).
"""
import collections
import json
import math
import os
import re
import subprocess

import pytest

from conftest import REPO, SHARED

MODELS = os.path.join(REPO, 'models')
CARD = os.path.join(MODELS, 'shakespeare.json')
DATA = os.path.join(SHARED, 'data', 'tinyshakespeare.txt')
PPL_RE = re.compile(r'Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+)')


def tool(var):
    p = os.environ.get(var)
    if not p or not os.access(p, os.X_OK):
        pytest.skip('%s not set (meson sets it when the examples are built)' % var)
    return p


@pytest.fixture(scope='module')
def card():
    if not os.path.isfile(CARD):
        pytest.skip('no demo model card at %s' % CARD)
    with open(CARD) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def texts(card, tmp_path_factory):
    """-> (training text, path of the held-out text file), cut where training cut it."""
    if not os.path.isfile(DATA):
        pytest.skip('shared data not found at %s' % DATA)
    with open(DATA, encoding='utf-8') as f:
        text = f.read()
    cut = card['heldout']['char_offset']
    assert text[cut - 1] == '\n' and len(text) - cut == card['heldout']['chars']
    path = tmp_path_factory.mktemp('demo') / 'heldout.txt'
    path.write_text(text[cut:], encoding='utf-8')
    return text[:cut], str(path)


def perplexity(model, heldout, n_ctx, *opts):
    r = subprocess.run([tool('BITNET_PERPLEXITY'), '-m', model, '-f', heldout, '-c', str(n_ctx)] + list(opts),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    m = PPL_RE.search(r.stdout)
    assert m, r.stdout
    return float(m.group(1)), r.stdout


def model_file(kind):
    p = os.path.join(MODELS, 'bitnet-shakespeare-%s.gguf' % kind)
    if not os.path.isfile(p):
        pytest.skip('%s not found' % p)
    return p


def test_perplexity_matches_pytorch(card, texts):
    ppl, _ = perplexity(model_file('i2s'), texts[1], card['n_ctx'], '-t', '2')
    assert abs(ppl - card['ppl']) <= 0.01 * card['ppl'], 'engine %.4f, PyTorch %.4f' % (ppl, card['ppl'])


def test_perplexity_same_everywhere(card, texts):
    """Identical output for each ternary type and thread count (whole text), and
    for each kernel level (the first 8 chunks: the scalar kernels are slow)."""
    def run(path, opts):
        r = subprocess.run([tool('BITNET_PERPLEXITY'), '-m', path, '-f', texts[1], '-c', str(card['n_ctx'])] + opts,
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0 and ('not supported by this CPU' in r.stderr or 'not built into' in r.stderr):
            return None
        assert r.returncode == 0, r.stderr
        return PPL_RE.search(r.stdout).group(0)

    want = run(model_file('i2s'), ['-t', '1'])
    for path, opts in ((model_file('i2s'), ['-t', '2']), (model_file('tq2_0'), ['-t', '1']),
                       (model_file('tq1_0'), ['-t', '2'])):
        assert run(path, opts) == want, (path, opts)
    short = [run(model_file('i2s'), ['--chunks', '8', '-t', '2', '--cpu', level])
             for level in ('scalar', 'avx2', 'avx512', 'neon', 'dotprod')]
    short = [s for s in short if s is not None]
    assert len(short) >= 2 and len(set(short)) == 1, short


def test_perplexity_far_below_unigram(card, texts):
    """Bound computed here: the add-one unigram model of the training text's
    tokens (tokenized by the engine) scored on the same held-out positions."""
    import bitnet
    train, heldout = texts
    with bitnet.Model(model_file('i2s')) as m:
        train_ids = m.tokenize(train, add_special=False)
        with open(heldout, encoding='utf-8') as f:
            held = m.tokenize(f.read(), add_special=True)
        n_vocab = m.n_vocab
    counts = collections.Counter(train_ids)
    total = len(train_ids) + n_vocab
    n_ctx = card['n_ctx']
    first = n_ctx // 2
    nll, n = 0.0, 0
    for c in range(len(held) // n_ctx):
        for t in held[c * n_ctx + first + 1:(c + 1) * n_ctx]:
            nll -= math.log((counts[t] + 1) / total)
            n += 1
    unigram = math.exp(nll / n)
    ppl, _ = perplexity(model_file('i2s'), heldout, n_ctx, '-t', '2')
    assert ppl < 0.5 * unigram, 'model %.2f, unigram %.2f' % (ppl, unigram)


def test_generation_is_shakespeare_words(texts):
    """The README's first command: the text out of bitnet-cli is made of words
    of the training text (random weights would give noise)."""
    r = subprocess.run([tool('BITNET_CLI'), '-m', model_file('i2s'), '-p', 'ROMEO:', '-n', '64', '-temp', '0.8',
                        '--seed', '1'], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    words = re.findall(r"[A-Za-z]+", r.stdout[len('ROMEO:'):] if r.stdout.startswith('ROMEO:') else r.stdout)
    known = set(w.lower() for w in re.findall(r"[A-Za-z]+", texts[0]))
    assert len(words) >= 20, r.stdout
    frac = sum(w.lower() in known for w in words) / len(words)
    assert frac >= 0.85, '%.0f%% of the words are known: %r' % (100 * frac, r.stdout)
