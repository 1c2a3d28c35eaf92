"""`python -m connector` runs the same command line as the `connector` script."""

from connector.cli import main

raise SystemExit(main())
