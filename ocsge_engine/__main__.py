"""Run the CLI: ``python -m ocsge_engine``."""

import os
import sys

# Arrow's buffers from the system allocator: freed memory goes back to the OS at once, which
# keeps the peak RSS of one command (a flows run reads two layers, then frees them) lower than
# Arrow's default pool, which keeps it for reuse. Set before pyarrow allocates anything.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")

from ocsge_engine.cli import main  # noqa: E402

sys.exit(main())
