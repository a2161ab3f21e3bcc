"""`python -m commercepulse.cli`."""

from commercepulse.cli import main

main()
