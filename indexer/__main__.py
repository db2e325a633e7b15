"""Run the indexer's commands alone: ``python -m indexer index build``."""

from .cli import main

if __name__ == "__main__":
    main()
