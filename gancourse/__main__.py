"""``python -m gancourse``: see :mod:`gancourse.cli`."""
import sys

try:
    from gancourse.cli import main
except KeyboardInterrupt:  # Ctrl-C while PyTorch loads: nothing started, nothing to save
    print("gancourse: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
