"""Run the CLI: ``python -m ocsge_engine``."""

import sys

from ocsge_engine.cli import main

sys.exit(main())
