"""Subcommands of the ``jneusample`` CLI; each module has ``register(subparsers)`` and a ``run(args)``."""
