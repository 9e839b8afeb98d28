"""Issue 19: the engine's small rules pinned at their boundaries - option checking (issue 14's
one-line messages), help lines read from docstrings, damaged streams, fail-fast, run-ahead."""
# no `from __future__ import annotations` here: some factories below need real annotation objects

import threading
import time
import warnings

import pytest

from emofuse.damage import EARLY_STOP, StreamStop, record_stops, stopped_early
from emofuse.errors import DamagedMediaWarning, PluginError
from emofuse.fail_fast import FAIL_FAST_SEGMENTS, FailFast
from emofuse.option_check import (REQUIRED, OptionError, OptionInfo, check_options, coerce, describe_names,
                                  format_default, options_of)
from emofuse.registry import Registry
from emofuse.threads import RunAhead
from emofuse.types import SegmentResult

# --------------------------------------------------------------------------- coerce


@pytest.mark.parametrize(("value", "annotation", "expected"), [
    (3, "Optional[float]", 3.0),
    (None, "Optional[int]", None),  # issue 19: Optional[...] refused None (`--set x=none`)
    (None, "Optional[str | Path]", None),
    ("a.txt", "str", "a.txt"),
    ("a.txt", "Path", "a.txt"),
    (7, "Path | None", "7"),
    (2.5, "str", "2.5"),
    (False, "bool | None", False),
    (None, "int | None", None),
    (4, "int | float", 4),
])
def test_coerce_accepts_what_the_annotation_allows(value, annotation, expected):
    result = coerce(value, annotation)
    assert result == expected and type(result) is type(expected)


@pytest.mark.parametrize(("value", "annotation", "message"), [
    ("abc", "Optional[int]", "expected an integer or none, got 'abc'"),
    ("abc", "int | None", "expected an integer or none, got 'abc'"),
    ("abc", "int|None", "expected an integer or none, got 'abc'"),
    (None, "str | Path", "expected text or a path, got None"),
    ("yes", "bool", "expected true or false, got 'yes'"),
    (1.5, "bool | None", "expected true or false or none, got 1.5"),
])
def test_coerce_refusals_list_every_accepted_type(value, annotation, message):
    with pytest.raises(OptionError) as caught:
        coerce(value, annotation)
    assert str(caught.value) == message


def test_coerce_leaves_values_of_unjudged_annotations_alone():
    marker = object()
    assert coerce(marker, "Callable") is marker
    assert coerce(marker, "") is marker  # no annotation at all
    assert coerce("abc", "int | Sequence") == "abc"  # one word it does not know: not judged


# --------------------------------------------------------------------------- check_options


def _needs(path: "str", size: "int", scale: "float" = 1.0):
    return path, size, scale


def test_required_options_given_are_accepted_and_coerced():
    assert check_options(_needs, {"path": "x", "size": 2}) == {"path": "x", "size": 2}
    assert check_options(_needs, {"path": "x", "size": 2, "scale": 3}) == {"path": "x", "size": 2, "scale": 3.0}


def test_missing_required_options_are_named_singular_and_plural():
    with pytest.raises(OptionError) as caught:
        check_options(_needs, {"path": "x"})
    assert str(caught.value) == "missing required option size"
    with pytest.raises(OptionError) as caught:
        check_options(_needs, {"scale": 2.0})
    assert str(caught.value) == "missing required options path, size"


def test_wrong_type_is_refused_naming_the_option():
    with pytest.raises(OptionError) as caught:
        check_options(_needs, {"path": "x", "size": "big"})
    assert str(caught.value) == "option size: expected an integer, got 'big'"


def test_an_option_for_a_factory_without_options_says_it_takes_none():
    def plain():
        return 1

    with pytest.raises(OptionError) as caught:
        check_options(plain, {"speed": 1})
    assert str(caught.value) == "unknown option 'speed'; it takes no options"


def test_describe_names():
    assert describe_names(None) == "its options are not declared"
    assert describe_names([]) == "it takes no options"
    assert describe_names([OptionInfo("a"), OptionInfo("b")]) == "options: a, b"


def test_a_factory_taking_any_options_that_refuses_one_says_its_options_are_not_declared():
    def anything(**options):
        raise ValueError("no such knob")

    registry = Registry("fusion", "fusion strategy")
    registry.add("any", anything, "tests")
    with pytest.raises(PluginError) as caught:
        registry.create("any", knob=1)
    assert str(caught.value) == ("fusion strategy 'any' (plugin tests): bad option knob=1: no such knob "
                                 "(its options are not declared)")


@pytest.mark.parametrize(("default", "shown"), [
    (REQUIRED, "required"), (None, "none"), (True, "true"), (False, "false"), (1.5, "1.5"), (0, "0"),
    ("auto", "auto"),
])
def test_format_default_is_what_a_user_would_type(default, shown):
    assert format_default(OptionInfo("x", "", default)) == shown


# --------------------------------------------------------------------------- options_of


def test_options_of_skips_positional_only_and_star_args():
    def factory(frame, /, *more, size: int = 3, name="x"):
        return frame

    options = options_of(factory)
    assert [(o.name, o.type, o.default, o.required) for o in options] == [("size", "int", 3, False),
                                                                          ("name", "", "x", False)]


def test_options_of_a_callable_without_a_signature_is_unknown():
    assert options_of(dict) is None
    assert check_options(dict, {"a": 1}) == {"a": 1}


def test_an_option_help_that_is_not_a_mapping_is_ignored():
    def factory(rate: float = 1.0):
        """`rate`: frames a second."""

    factory.option_help = "not a mapping"
    assert [o.help for o in options_of(factory)] == ["frames a second"]


def test_option_help_mapping_comes_before_the_docstring():
    def factory(rate: float = 1.0, size: int = 2):
        """`rate`: from the docstring. `size`: pixels."""

    factory.option_help = {"rate": "from the mapping"}
    assert [o.help for o in options_of(factory)] == ["from the mapping", "pixels"]


def test_help_comes_from_the_init_docstring_too():
    class Thing:
        """A thing. `a` (the first)."""

        def __init__(self, a=1, b=2):
            """`b`: the second, in
            two lines."""

    assert [o.help for o in options_of(Thing)] == ["the first", "the second, in two lines"]


def test_help_of_a_function_ends_with_its_docstring():
    def factory(rate=1.0):
        """`rate`: frames a second"""

    assert options_of(factory)[0].help == "frames a second"


def test_class_and_init_docstrings_are_read_as_one_text():
    class Thing:
        """Counts. `a`: how many."""

        def __init__(self, a=1, b=2):
            """Also `b`: how often."""

    assert [o.help for o in options_of(Thing)] == ["how many", "how often"]


def _help(doc: str, *names: str) -> list[str]:
    """The help lines of a factory taking `names` (default: `a`) documented by `doc`."""
    names = names or ("a",)
    code = f"def factory({', '.join(f'{n}=None' for n in names)}):\n    pass\n"
    space: dict = {}
    exec(code, space)  # noqa: S102 - a factory with exactly these option names
    factory = space["factory"]
    factory.__doc__ = doc
    return [o.help for o in options_of(factory)]


@pytest.mark.parametrize(("doc", "help"), [
    ("`a`: the rate; more about it.", "the rate"),
    ("`a`: the rate. Next sentence.", "the rate"),
    ("Intro. `a`: the rate.", "the rate"),
    ("`a`: version 1.5 of it. More.", "version 1.5 of it"),
    ("`a` (the rate) is used.", "the rate"),
    ("`a=SECONDS` (how long) to wait.", "how long"),
    ("`a` (the rate (frames a second)) is used.", "the rate (frames a second)"),
    ("`a`: X-ray dose.", "X-ray dose"),
    ("Nothing about it.", ""),
    ("`a`: the rate (frames; per second).", "the rate"),
    ("`a`: rate (x) in (frames; per second).", "rate (x) in"),
    ("`a`: the width, (pixels; or so).", "the width"),
    ("`a`: the width in X (pixels; or so).", "the width in X"),
    ("`a`: the rate (in Hz)", "the rate (in Hz)"),
    ("(`a`: the rate). Next.", "the rate"),
    ("`a`: first and then `a` (again).", "first and then `a` (again)"),
    ("`a` (early) and `a`: late.", "early"),
])
def test_help_from_docs(doc, help):
    assert _help(doc)[0] == help


def test_help_stops_at_the_next_option_named():
    assert _help("`a`: the rate; `b`: the size.", "a", "b") == ["the rate", "the size"]
    assert _help("`a`: first `b`: second", "a", "b") == ["first", "second"]
    assert _help("`a`: first, `b`: second.", "a", "b") == ["first", "second"]
    assert _help("`a`: scaled by `b` and by `b` again", "a", "b")[0] == "scaled by"
    assert _help("`a`: `b` (the size)", "a", "b") == ["", "the size"]


@pytest.mark.parametrize(("length", "shown"), [(120, "c" * 120), (121, "c" * 117 + "...")])
def test_help_longer_than_120_characters_is_cut(length, shown):
    assert _help(f"`a`: {'c' * length}.")[0] == shown


def test_help_is_cut_at_a_word_end():
    assert _help(f"`a`: {'c' * 116} {'d' * 10}.")[0] == "c" * 116 + "..."


def test_help_from_real_annotations():
    def factory(size: int = 3, scale: float = 1.0):
        pass

    assert [o.type for o in options_of(factory)] == ["int", "float"]
    assert check_options(factory, {"scale": 2}) == {"scale": 2.0}


# --------------------------------------------------------------------------- damaged streams


def test_stream_stop_text():
    assert str(StreamStop("video", 8.94, 20.0)) == "video decoding stopped at 8.9 s of 20.0 s"


@pytest.mark.parametrize(("covered", "period", "stopped"), [
    (9.45, 0.0, True), (9.5, 0.0, False), (9.55, 0.0, False),  # EARLY_STOP: half a second
    (6.1, 2.0, False), (5.9, 2.0, True),  # a frame every 2 s: two frames (4 s) may be missing
    (9.6, 0.2, False), (9.4, 0.2, True),  # two periods shorter than EARLY_STOP: EARLY_STOP counts
])
def test_stopped_early_allows_the_larger_of_half_a_second_and_two_periods(covered, period, stopped):
    assert EARLY_STOP == 0.5
    assert (stopped_early("video", covered, 10.0, period) is not None) is stopped


def test_stopped_early_default_period_is_none():
    assert stopped_early("audio", 9.0, 10.0) == StreamStop("audio", 9.0, 10.0)


@pytest.mark.parametrize(("covered", "at"), [(-0.2, 0.0), (0.3, 0.3), (0.0, 0.0)])
def test_a_stop_is_never_before_the_start(covered, at):
    assert stopped_early("audio", covered, 4.0) == StreamStop("audio", at, 4.0)


def test_record_stops_warns_once_per_stop():
    segments = [SegmentResult(float(i), float(i + 1)) for i in range(3)]
    stops = [StreamStop("video", 1.0, 3.0), StreamStop("audio", 2.0, 3.0)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = record_stops("a.mp4", segments, stops)
    assert [str(w.message) for w in caught] == ["a.mp4: video decoding stopped at 1.0 s of 3.0 s",
                                                "a.mp4: audio decoding stopped at 2.0 s of 3.0 s"]
    assert all(w.category is DamagedMediaWarning for w in caught)
    video, audio = (str(s) for s in stops)
    assert [s.errors for s in out] == [(), (video,), (video, audio)]


def test_record_stops_keeps_earlier_errors_and_spares_a_segment_ending_at_the_stop():
    segments = [SegmentResult(0.0, 1.0, errors=("x",)), SegmentResult(1.0, 2.0 + 1e-6, errors=("y",)),
                SegmentResult(2.0, 2.0 + 3e-6, errors=("z",))]
    with pytest.warns(DamagedMediaWarning):
        out = record_stops("a.mp4", segments, [StreamStop("audio", 2.0, 3.0)])
    stop = "audio decoding stopped at 2.0 s of 3.0 s"
    assert [s.errors for s in out] == [("x",), ("y",), ("z", stop)]


# --------------------------------------------------------------------------- fail fast


def test_fail_fast_stops_at_the_nth_failing_segment_not_before():
    watch = FailFast()
    assert watch.limit == FAIL_FAST_SEGMENTS == 3
    watch.start()
    watch.failed("face_detector", [], "broken")
    watch.failed("face_detector", [], "broken")
    with pytest.raises(PluginError) as caught:
        watch.failed("face_detector", [], "broken")
    assert str(caught.value) == "broken (in each of its first 3 segments; stopped)"


def test_fail_fast_counts_a_segment_once_however_often_it_fails_there():
    watch = FailFast(limit=2)
    watch.start()
    errors = []
    for _ in range(5):  # five frames of one segment
        watch.failed("face_detector", errors, "broken")
    with pytest.raises(PluginError, match=r"^broken \(in each of its first 2 segments; stopped\)$"):
        watch.failed("face_detector", [], "broken")


def test_fail_fast_counts_each_kind_apart():
    watch = FailFast()
    watch.start()
    for kind in ("face_detector", "fusion", "face_detector", "fusion"):
        watch.failed(kind, [], "broken")
    with pytest.raises(PluginError):
        watch.failed("fusion", [], "broken")


def test_fail_fast_is_idle_until_a_file_starts():
    watch = FailFast()
    for _ in range(5):
        watch.failed("fusion", [], "broken")
    watch.start()
    watch.failed("fusion", [], "broken")
    watch.failed("fusion", [], "broken")  # counting began at start(): 2 of 3


def test_a_component_that_worked_once_never_stops_the_file():
    watch = FailFast()
    watch.start()
    watch.succeeded("fusion")
    watch.succeeded("fusion")
    for _ in range(5):
        watch.failed("fusion", [], "broken")
    watch.failed("fusion", [], "broken")


def test_success_after_failures_forgets_them_and_a_new_file_starts_over():
    watch = FailFast()
    watch.start()
    watch.failed("fusion", [], "broken")
    watch.failed("fusion", [], "broken")
    watch.succeeded("fusion")
    watch.failed("fusion", [], "broken")
    watch.start()  # a new file: it must work again there
    watch.failed("fusion", [], "broken")
    watch.failed("fusion", [], "broken")
    with pytest.raises(PluginError):
        watch.failed("fusion", [], "broken")


# --------------------------------------------------------------------------- run ahead


class _Counting:
    def __init__(self, n: int) -> None:
        self.n, self.produced, self.thread = n, 0, None

    def __iter__(self):
        return self

    def __next__(self):
        self.thread = threading.current_thread()
        if self.produced >= self.n:
            raise StopIteration
        self.produced += 1
        return self.produced - 1


def _settled(source, at_least: int) -> int:
    deadline = time.monotonic() + 5.0
    while source.produced < at_least and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)
    return source.produced


def test_run_ahead_defaults_to_two_items_ahead_on_a_daemon_thread():
    source = _Counting(100)
    items = RunAhead(source)
    try:
        assert next(items) == 0
        # the one taken, two queued, one produced and waiting for room
        assert _settled(source, 4) == 4
        assert source.thread.name == "emofuse-run-ahead" and source.thread.daemon
    finally:
        items.close()


def test_run_ahead_depth_one_is_allowed():
    source = _Counting(100)
    with RunAhead(source, depth=1) as items:
        assert next(items) == 0
        assert _settled(source, 3) == 3
    with pytest.raises(ValueError) as caught:
        RunAhead(_Counting(1), depth=0)
    assert str(caught.value) == "depth must be >= 1, got 0"


def test_run_ahead_source_without_close_and_next_after_the_end(monkeypatch):
    failures = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    items = RunAhead(iter([1, 2]))
    assert list(items) == [1, 2]
    with pytest.raises(StopIteration):
        next(items)
    assert failures == []  # nothing went wrong on the producer thread either


def test_run_ahead_waits_for_a_slow_consumer():
    source = _Counting(5)
    got = []
    with RunAhead(source, depth=1) as items:
        for item in items:
            got.append(item)
            time.sleep(0.12)  # the producer waits more than one put timeout for room
    assert got == [0, 1, 2, 3, 4]


def test_quiet_blas_leaves_other_thread_pools_alone():
    from emofuse.threads import quiet_blas

    threadpoolctl = pytest.importorskip("threadpoolctl")
    pytest.importorskip("sklearn.utils")  # brings an OpenMP runtime along

    def pools(api):
        return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == api]

    openmp = pools("openmp")
    if not openmp or max(openmp) < 2 or not pools("blas"):
        pytest.skip("needs an OpenMP pool of 2+ threads and a BLAS threadpoolctl can see")
    with quiet_blas():
        assert pools("openmp") == openmp and set(pools("blas")) == {1}
