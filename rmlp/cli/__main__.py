"""``python -m rmlp.cli``: the rmlp command line."""

from rmlp.cli import main

main()
