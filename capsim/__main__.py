"""Allow ``python -m capsim``."""

from capsim.cli.main import main

main()
