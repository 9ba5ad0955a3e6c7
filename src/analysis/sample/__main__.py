"""``python -m analysis.sample``: write the synthetic sample consultation."""

import sys

from analysis.sample.generate import main

sys.exit(main())
