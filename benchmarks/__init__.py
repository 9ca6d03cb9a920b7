"""Full training runs and speed measurements (not tests); see README.md beside this file.

Each script runs as `python benchmarks/NAME.py` or `python -m benchmarks.NAME` from
the repository root. The scripts import their siblings by plain name (`from report
import ...`), so the package puts its own folder on the import path for the second form.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
