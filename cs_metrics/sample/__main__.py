"""python -m cs_metrics.sample [OUT_DIR]: regenerate the sample (default ./sample_data)."""

import sys
from pathlib import Path

from cs_metrics.sample import generate

generate(Path(sys.argv[1] if len(sys.argv) > 1 else "sample_data"))
