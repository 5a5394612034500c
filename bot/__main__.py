"""`python -m bot <command>`: see bot/ops/cli.py."""

import sys

from bot.ops.cli import main

sys.exit(main())
