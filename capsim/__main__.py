"""Allow ``python -m capsim``."""

from capsim.cli import main

main()
