"""SmapsSyntaxError crosses a process boundary whole: a pool of workers parsing captures (as
multiprocessing and concurrent.futures run them) raises in the caller the error the worker
raised, with its location, its line and its rendering."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import pickle

import pytest
from support import INVALID

import smapsfmt

BAD = INVALID / "bad-perms.smaps"


def test_a_syntax_error_raised_in_a_worker_process_is_the_same_error() -> None:
    data = BAD.read_bytes()
    with pytest.raises(smapsfmt.SmapsSyntaxError) as here:
        smapsfmt.parse_smaps(data, path=str(BAD))
    context = multiprocessing.get_context("spawn")  # a new interpreter: nothing inherited
    with (
        concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool,
        pytest.raises(smapsfmt.SmapsSyntaxError) as there,
    ):
        pool.submit(smapsfmt.parse_smaps, data, path=str(BAD)).result(timeout=120)
    mine, theirs = here.value, there.value
    assert (theirs.msg, theirs.line, theirs.column, theirs.path, theirs.source_line) == (
        mine.msg, mine.line, mine.column, str(BAD), mine.source_line
    )  # fmt: skip
    assert str(theirs) == str(mine) and str(mine).startswith(f"{BAD}:")
    copy = pickle.loads(pickle.dumps(mine))
    assert type(copy) is smapsfmt.SmapsSyntaxError and str(copy) == str(mine)
