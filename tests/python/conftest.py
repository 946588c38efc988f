"""Shared fixtures: import paths for tools/ and tests/reference, the shared data dir."""
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
for p in (os.path.join(REPO, 'tools'), os.path.join(REPO, 'tests', 'reference'),
          os.path.join(REPO, 'bindings', 'python')):
    if p not in sys.path:
        sys.path.insert(0, p)

SHARED = os.environ.get('BITNET_SHARED') or os.path.normpath(os.path.join(REPO, '..', 'shared'))
ORACLE = os.path.join(SHARED, 'oracle')


@pytest.fixture(scope='session')
def oracle_dir():
    if not os.path.isfile(os.path.join(ORACLE, 'A.gguf')):
        pytest.skip('shared oracle data not found at %s' % ORACLE)
    return ORACLE
