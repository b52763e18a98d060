"""Entry point for `python -m netlib`."""

import sys

from .cli.main import main

sys.exit(main(own_process=True))
