"""The command line: shared I/O in ``common``, one module per command, ``main`` builds the
parser and runs it."""
