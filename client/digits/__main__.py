"""`python -m digits`: the `digits` command."""

import sys

from digits.cli import main

sys.exit(main())
