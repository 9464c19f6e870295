"""``python -m zsfuse``: the same as the ``zsfuse`` command."""

import sys

from .cli import main

sys.exit(main())
