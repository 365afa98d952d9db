"""The converter's errors: a problem found in a line's values is located once, by the reader."""

from __future__ import annotations

import pickle

import pytest

from tfrecord_lite.pipeline.errors import RAISE, SKIP, ErrorPolicy, InputError, problem


def test_a_problem_gets_its_file_and_line_where_the_line_was_read() -> None:
    found = problem("box left is negative", value=-1, hint="pixels are >= 0", reason="bad-box")
    assert str(found) == "box left is negative (value: -1); pixels are >= 0"
    located = found.at("job/output.manifest", 12)
    assert str(located) == "job/output.manifest:12: box left is negative (value: -1); " \
        "pixels are >= 0"
    assert (located.line, located.reason, located.value) == (12, "bad-box", -1)
    assert located.at("other", 3) is located  # a location, once given, stays
    assert str(pickle.loads(pickle.dumps(located))) == str(located)  # crosses worker pipes


def test_the_policy_raises_or_tells_its_callback() -> None:
    error = problem("bad", reason="x").at("m", 1)
    with pytest.raises(InputError, match="m:1: bad"):
        RAISE.handle(error)
    SKIP.handle(error)  # skipped quietly: the caller counts it
    told: list[InputError] = []
    ErrorPolicy(skip=True, on_skip=told.append).handle(error)
    assert told == [error]
