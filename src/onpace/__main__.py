"""Run the onpace CLI with ``python -m onpace``."""

from onpace.cli import main

main()
