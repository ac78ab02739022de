"""``python -m kstreamy ...`` runs the ``kstreamy`` command."""

import sys

from kstreamy.cli import main

sys.exit(main())
