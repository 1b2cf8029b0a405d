"""Subcommands of the ``kneser`` command line; each module defines ``register(subparsers)``."""
