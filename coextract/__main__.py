import sys

from coextract.cli import main

sys.exit(main())
