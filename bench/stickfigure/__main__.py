"""`python -m bench.stickfigure`: see bench/stickfigure/dataset.py."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.stickfigure.dataset import main  # noqa: E402

raise SystemExit(main())
