"""``python -m threadloom``: the command line."""

from threadloom.cli.app import main

main()
