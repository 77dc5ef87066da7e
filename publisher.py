"""Entry script: ``python publisher.py build`` from a checkout."""

from feedpub.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
