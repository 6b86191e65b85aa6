"""``python -m cli``: the same as the ``equigrid`` console script."""

from .app import main

main()
