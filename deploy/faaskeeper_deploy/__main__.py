"""``python -m faaskeeper_deploy``: the same as the ``fk`` command."""

import sys

from faaskeeper_deploy.cli import main

sys.exit(main())
