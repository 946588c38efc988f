#!/usr/bin/python3
"""Byte-level BPE with Llama-3 pre-tokenization, in the form GGUF's gpt2 tokenizer stores.

  /usr/bin/python3 tools/train/bpe.py TEXT OUT.json [--vocab 2048]   train a vocabulary
  /usr/bin/python3 tools/train/bpe.py --encode VOCAB.json "some text"  show the tokens

Text is split with the Llama 3 pre-tokenizer regex; each piece's UTF-8 bytes are
written with GPT-2's byte-to-unicode symbols; merges are learned greedily (most
frequent adjacent pair, ties broken by the pair itself) and a merge's rank is
its position in the list. Vocabulary: 256 byte tokens (in byte order), one token
per merge, then the control tokens <|begin_of_text|>, <|end_of_text|>,
<|eot_id|> (token_type 3). Encoding applies merges lowest rank first within each
piece, except that a piece that is itself a token is taken whole, as llama.cpp
does for pre-tokenizer llama-bpe (Llama 3's ignore_merges). The JSON holds tokens, token_type, merges
("a b" strings) and the bos/eos/eot ids.
Run with /usr/bin/python3 (Debian's python3-regex).
"""
import argparse
import heapq
import json
import os
import sys
from collections import Counter, defaultdict

import regex

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gen_model import bytes_to_unicode  # noqa: E402  GPT-2's byte <-> symbol map

LLAMA3_PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
              r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")
_PAT = regex.compile(LLAMA3_PAT)
CONTROL = ['<|begin_of_text|>', '<|end_of_text|>', '<|eot_id|>']


B2U = bytes_to_unicode()
U2B = {u: b for b, u in B2U.items()}


def pretokenize(text):
    return _PAT.findall(text)


def to_symbols(piece):
    return ''.join(B2U[b] for b in piece.encode('utf-8'))


def learn(text, vocab_size):
    """-> merges (a, b) in rank order, giving vocab_size - 256 - len(CONTROL) new tokens (fewer if the text runs out)."""
    n_merges = vocab_size - 256 - len(CONTROL)
    counts = Counter(to_symbols(p) for p in pretokenize(text))
    words = [list(w) for w in counts]
    freq = [counts[w] for w in counts]
    pairs = defaultdict(int)          # pair -> count
    where = defaultdict(set)          # pair -> word indices containing it
    for i, w in enumerate(words):
        for a, b in zip(w, w[1:]):
            pairs[(a, b)] += freq[i]
            where[(a, b)].add(i)
    # max-heap on (count, pair); entries are checked against the live count when popped
    # (ties: the larger pair wins, as max() over (count, pair) would choose)
    heap = [(-c, _Neg(p)) for p, c in pairs.items()]
    heapq.heapify(heap)
    merges = []
    made = set()      # distinct merge results: two merges may spell the same token
    while len(made) < n_merges and heap:
        negc, np_ = heapq.heappop(heap)
        p = np_.p
        c = pairs.get(p, 0)
        if c != -negc:
            if c > 0:
                heapq.heappush(heap, (-c, _Neg(p)))
            continue
        if c < 2:
            break
        a, b = p
        ab = a + b
        merges.append(p)
        made.add(ab)
        changed = set()
        for i in list(where[p]):
            w = words[i]
            f = freq[i]
            j = 0
            out = []
            # remove old pair counts of this word, rebuild, add new counts
            for x, y in zip(w, w[1:]):
                pairs[(x, y)] -= f
                changed.add((x, y))
                where[(x, y)].discard(i)
            while j < len(w):
                if j < len(w) - 1 and w[j] == a and w[j + 1] == b:
                    out.append(ab)
                    j += 2
                else:
                    out.append(w[j])
                    j += 1
            words[i] = out
            for x, y in zip(out, out[1:]):
                pairs[(x, y)] += f
                changed.add((x, y))
                where[(x, y)].add(i)
        for q in changed:
            cq = pairs.get(q, 0)
            if cq <= 0:
                pairs.pop(q, None)
                where.pop(q, None)
            else:
                heapq.heappush(heap, (-cq, _Neg(q)))
    return merges


class _Neg:
    """Orders pairs in reverse so the min-heap pops the largest pair first on equal counts."""
    __slots__ = ('p',)

    def __init__(self, p):
        self.p = p

    def __lt__(self, other):
        return self.p > other.p

    def __eq__(self, other):
        return self.p == other.p


def build_vocab(merges):
    tokens = [B2U[b] for b in range(256)]
    seen = set(tokens)
    for a, b in merges:
        if a + b not in seen:
            seen.add(a + b)
            tokens.append(a + b)
    tokens += CONTROL
    n = len(tokens)
    return dict(tokens=tokens, token_type=[1] * (n - len(CONTROL)) + [3] * len(CONTROL),
                merges=['%s %s' % m for m in merges], bos=n - 3, eos=n - 2, eot=n - 1)


class Tokenizer:
    def __init__(self, vocab):
        if isinstance(vocab, str):
            with open(vocab, encoding='utf-8') as f:
                vocab = json.load(f)
        self.vocab = vocab
        self.tokens = vocab['tokens']
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {tuple(m.split(' ')): r for r, m in enumerate(vocab['merges'])}
        self.bos, self.eos, self.eot = vocab['bos'], vocab['eos'], vocab['eot']
        self.cache = {}

    def _bpe(self, sym):
        w = list(sym)
        while len(w) > 1:
            best = None
            for j in range(len(w) - 1):
                r = self.ranks.get((w[j], w[j + 1]))
                if r is not None and (best is None or r < best[0]):
                    best = (r, j)
            if best is None:
                break
            j = best[1]
            w[j:j + 2] = [w[j] + w[j + 1]]
        return [self.ids[t] for t in w]

    def encode(self, text, bos=False):
        out = [self.bos] if bos else []
        for p in pretokenize(text):
            ids = self.cache.get(p)
            if ids is None:
                sym = to_symbols(p)
                # llama.cpp's llama-bpe (ignore_merges): a piece that is a token is taken whole
                ids = self.cache[p] = [self.ids[sym]] if sym in self.ids else self._bpe(sym)
            out.extend(ids)
        return out

    def decode(self, ids):
        bs = bytearray()
        for i in ids:
            t = self.tokens[i]
            if t in CONTROL:
                continue
            bs.extend(U2B[c] for c in t)
        return bs.decode('utf-8', errors='replace')


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('text', nargs='?')
    ap.add_argument('out', nargs='?')
    ap.add_argument('--vocab', type=int, default=2048, help='total tokens incl. 256 bytes and 3 control tokens')
    ap.add_argument('--encode', metavar='VOCAB_JSON')
    args = ap.parse_args(argv)
    if args.encode:
        tok = Tokenizer(args.encode)
        ids = tok.encode(args.text)
        print(ids)
        print([tok.tokens[i] for i in ids])
        return
    if not args.text or not args.out:
        ap.error('TEXT and OUT are required')
    with open(args.text, encoding='utf-8') as f:
        text = f.read()
    merges = learn(text, args.vocab)
    v = build_vocab(merges)
    with open(args.out, 'w', encoding='utf-8') as f:
        json.dump(v, f, ensure_ascii=False)
    print('%d tokens, %d merges -> %s' % (len(v['tokens']), len(merges), args.out), file=sys.stderr)


if __name__ == '__main__':
    main()
