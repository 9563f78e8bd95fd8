"""``python -m bot`` is ``brewhost``."""

import sys

from bot.cli import main

if __name__ == "__main__":  # not when a child process re-imports it
    sys.exit(main())
