"""``python -m evalharness`` runs the command-line interface."""

import sys

from evalharness.cli import main

sys.exit(main())
