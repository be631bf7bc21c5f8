import sys

from rethink_widgets.server.cli import main

sys.exit(main())
