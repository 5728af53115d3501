"""``python -m gancourse``: see :mod:`gancourse.cli`."""
import sys

from gancourse.cli import main

sys.exit(main())
