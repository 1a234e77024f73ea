"""``python -m incidentkit``: the ``incidentkit`` command."""

from __future__ import annotations

import sys

from incidentkit._cli import main

if __name__ == "__main__":
    sys.exit(main())
