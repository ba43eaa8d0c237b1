"""Run smapsfmt's command line (the entry point of ``python -m smapsfmt``) in this process over
many argument lists: a JSON list of lists on stdin; on stdout, a JSON list of ``[exit status,
stdout, stderr]`` (bytes as latin-1 text). One interpreter for hundreds of runs, under the hash
seed it was given.
"""

from __future__ import annotations

import io
import json
import sys

import smapsfmt.__main__


def _run(argv: list[str]) -> list[object]:
    out, err = io.BytesIO(), io.BytesIO()
    sys.stdout = text_out = io.TextIOWrapper(out, encoding="utf-8")
    sys.stderr = text_err = io.TextIOWrapper(err, encoding="utf-8")
    sys.argv = ["smapsfmt", *argv]
    try:
        try:
            smapsfmt.__main__.entry_point()
        except SystemExit as exit:
            code = exit.code
        text_out.flush()
        text_err.flush()
        return [code, out.getvalue().decode("latin-1"), err.getvalue().decode("latin-1")]
    finally:
        sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__


if __name__ == "__main__":
    runs = [_run(argv) for argv in json.load(sys.stdin)]
    sys.stdout.write(json.dumps(runs))
