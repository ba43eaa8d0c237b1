"""``python -m smapsfmt``: the command line."""

from ._cli.main import entry_point, run_process

__all__ = ["entry_point", "run_process"]

if __name__ == "__main__":
    run_process()
