"""Put this checkout's root on `sys.path`, so the benchmark measures the code beside it.

Imported first by the scripts here: without it, `autograd` and `nn` would come from wherever
chainrule happens to be installed, which need not be this working tree.
"""

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path[:2]:
    sys.path.insert(1, ROOT)  # after benchmarks/ itself, before site-packages
