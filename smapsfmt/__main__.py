"""``python -m smapsfmt``: the command line."""

from ._cli.main import entry_point

if __name__ == "__main__":
    entry_point()
