"""`python -m procurement.optimizer INSTANCE.json`: solve an instance, print the result JSON."""

import sys

from procurement.optimizer.cli import main

sys.exit(main())
