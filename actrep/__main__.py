import sys

from actrep.cli import main

sys.exit(main())
