import sys

from errorwave.cli import main

sys.exit(main())
