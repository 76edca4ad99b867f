"""``python -m skycall.bot``: see cli.py."""

import sys

from .cli import main

sys.exit(main())
