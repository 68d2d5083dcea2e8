import sys

from ecgpipe.cli import main

sys.exit(main())
