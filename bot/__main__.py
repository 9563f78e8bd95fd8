"""``python -m bot`` is ``brewhost``."""

import sys

from bot.cli import main

sys.exit(main())
