"""Entry point for `python -m netlib`."""

import sys

from .cli import main

sys.exit(main())
