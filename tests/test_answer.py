"""The answer parser: final count, listed repetitions, reasoning, exact format, completion shapes."""

import time

import pytest

from actrep.answer import (
    ListedReps,
    ParsedCompletion,
    answer_text,
    completion_text,
    count_listed,
    format_exact,
    intervals_of,
    parse_completion,
    parse_count,
    parse_listed_reps,
    reasoning_text,
)
from actrep.errors import ActRepError

GOOD = """<think>
The video shows a man in a gym. One repetition of squat is going down and back up.
Tracking each repetition: rep1: 1.0s-5.0s, rep2: 5.0s-8.8s, rep3: 8.8s-11.8s
Check: 3 repetitions listed between 1.0s and 11.8s.
Total count: 3.
</think>
<answer>
3
</answer>"""


# --- parse_count -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("<answer>3</answer>", 3),
        ("<answer>\n  12 \n</answer>", 12),
        ("<answer>0</answer>", 0),
        ("<answer>+4</answer>", 4),
        ("<answer>007</answer>", 7),
        ("<answer>There are 7 reps</answer>", 7),
        ("<answer>There are 7.</answer>", 7),
        ("<answer>7.0</answer>", 7),
        ("<answer>7.000</answer>", 7),
        ("<answer>1,000</answer>", 1000),
        ("<answer>about 2,345 reps</answer>", 2345),
        ("<answer>1,2,3</answer>", 3),  # a list, not a thousands number: last number
        ("<answer>3-5</answer>", 5),  # a range dash is not a minus sign
        ("<answer>7 (not 8)</answer>", 8),  # the LAST number wins
        ("<answer>-0</answer>", 0),
    ],
)
def test_parse_count_values(text, expected):
    assert parse_count(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "3",  # no block
        "The answer is 3.",
        "<answer></answer>",
        "<answer>   \n </answer>",
        "<answer>seven</answer>",
        "<answer>3",  # truncated: no closing tag
        "3</answer>",
        "<ANSWER>3</ANSWER>",  # upper-case tags are not answer tags
        "<Answer>3</Answer>",
        "< answer >3</ answer >",
        "<answer>7.5</answer>",  # fractional: not rounded
        "<answer>-3</answer>",
        "<answer>count: -3</answer>",
        "<answer>.5</answer>",
        "<answer>\u0663</answer>",  # non-ASCII digit (Arabic-Indic 3)
    ],
)
def test_parse_count_none(text):
    assert parse_count(text) is None


def test_last_answer_block_wins():
    assert parse_count("<answer>1</answer> then <answer>2</answer>") == 2
    assert parse_count("<answer>5</answer>\n<answer>no idea</answer>") is None  # the last block decides
    assert parse_count("<answer>1</answer><answer>9") == 1  # a trailing unclosed block is no block
    assert parse_count("<answer> <answer>4</answer>") == 4  # innermost block
    assert answer_text("<answer>1</answer>x<answer> two </answer>") == " two "
    assert answer_text("no block") is None


def test_answer_inside_think_is_not_special():
    text = "<think>maybe <answer>2</answer>?</think><answer>3</answer>"
    assert parse_count(text) == 3


def test_range_check():
    assert parse_count("<answer>10000</answer>") == 10000
    assert parse_count("<answer>10001</answer>") is None
    assert parse_count("<answer>50</answer>", max_count=50) == 50
    assert parse_count("<answer>51</answer>", max_count=50) is None
    assert parse_count("<answer>0</answer>", max_count=0) == 0
    assert parse_count("<answer>" + "9" * 5000 + "</answer>") is None  # no int-conversion limit error
    assert parse_count("<answer>" + "0" * 5000 + "12</answer>") == 12


def test_parse_count_is_fast_on_adversarial_text():
    text = "<answer>" * 20000 + "x" * 200_000 + "</answer" * 1000
    t0 = time.perf_counter()
    assert parse_count(text) is None
    assert time.perf_counter() - t0 < 2.0


def test_parse_count_reads_the_good_example():
    assert parse_count(GOOD) == 3  # "Total count: 3." and times in the reasoning do not interfere


# --- completion shapes -----------------------------------------------------------------------------


def test_completion_text_shapes():
    assert completion_text("abc") == "abc"
    assert completion_text(None) == ""
    assert completion_text([{"role": "assistant", "content": "abc"}]) == "abc"
    assert completion_text({"role": "assistant", "content": "abc"}) == "abc"
    parts = [{"type": "text", "text": "<answer>"}, {"type": "image"}, {"type": "text", "text": "4</answer>"}]
    assert completion_text([{"role": "assistant", "content": parts}]) == "<answer>4</answer>"
    two = [{"role": "assistant", "content": "<answer>"}, {"role": "assistant", "content": "5</answer>"}]
    assert completion_text(two) == "<answer>5</answer>"
    assert completion_text([{"role": "user", "content": "ignored"}, {"role": "assistant", "content": "x"}]) == "x"
    assert completion_text([{"role": "assistant", "content": None}]) == ""


def test_completion_text_rejects_bad_shapes():
    with pytest.raises(ActRepError):
        completion_text(42)
    with pytest.raises(ActRepError):
        completion_text([42])
    with pytest.raises(ActRepError, match="reasoning_content"):
        completion_text([{"role": "assistant", "content": "<answer>3</answer>", "reasoning_content": "rep1: 0-1s"}])


def test_parsers_accept_conversational_completions():
    conv = [{"role": "assistant", "content": [{"type": "text", "text": GOOD}]}]
    assert parse_count(conv) == 3
    assert count_listed(parse_listed_reps(conv)) == 3
    assert format_exact(conv)
    assert parse_completion(conv) == parse_completion(GOOD)


# --- listed repetitions ----------------------------------------------------------------------------


def test_single_items():
    items = parse_listed_reps(GOOD)
    assert items == [ListedReps(1, 1, 1.0, 5.0), ListedReps(2, 2, 5.0, 8.8), ListedReps(3, 3, 8.8, 11.8)]
    assert count_listed(items) == 3
    assert intervals_of(items) == [(1.0, 5.0), (5.0, 8.8), (8.8, 11.8)]
    assert items[0].n == 1


def test_grouped_items_and_trailing_single():
    text = (
        "<think>Tracking each repetition: reps 1-10: 0.5s-12.3s, reps 11-20: 12.3s-25.0s, rep21: 25.0s-26.1s"
        "</think><answer>21</answer>"
    )
    items = parse_listed_reps(text)
    assert items == [ListedReps(1, 10, 0.5, 12.3), ListedReps(11, 20, 12.3, 25.0), ListedReps(21, 21, 25.0, 26.1)]
    assert count_listed(items) == 21
    assert intervals_of(items) == [(0.5, 12.3), (12.3, 25.0), (25.0, 26.1)]  # a group's span once


def test_hundred_rep_grouped_line():
    line = (
        "Tracking each repetition: "
        "reps 1-10: 0.0s-10.0s, reps 11-20: 10.0s-20.0s, reps 21-30: 20.0s-30.0s, "
        "reps 31-40: 30.0s-40.0s, reps 41-50: 40.0s-50.0s, reps 51-60: 50.0s-60.0s, "
        "reps 61-70: 60.0s-70.0s, reps 71-80: 70.0s-80.0s, reps 81-90: 80.0s-90.0s, "
        "reps 91-100: 90.0s-100.0s"
    )
    text = (
        f"<think>\n{line}\nCheck: 100 repetitions listed between 0.0s and 100.0s.\nTotal count: 100.\n</think>\n"
        "<answer>\n100\n</answer>"
    )
    items = parse_listed_reps(text)
    assert len(items) == 10
    assert items[0] == ListedReps(1, 10, 0.0, 10.0)
    assert items[-1] == ListedReps(91, 100, 90.0, 100.0)
    assert all(it.n == 10 for it in items)
    assert count_listed(items) == 100
    assert intervals_of(items)[4] == (40.0, 50.0)
    p = parse_completion(text)
    assert (p.count, p.listed_count, p.format_ok) == (100, 100, True)


@pytest.mark.parametrize(
    "fragment, expected",
    [
        ("rep1: 1.0s-5.0s", ListedReps(1, 1, 1.0, 5.0)),
        ("rep 1 : 1.0 s - 5.0 s", ListedReps(1, 1, 1.0, 5.0)),
        ("rep1: 1.0-5.0", ListedReps(1, 1, 1.0, 5.0)),  # no 's'
        ("rep1: 1s-5s", ListedReps(1, 1, 1.0, 5.0)),  # integer times
        ("rep1: 1.0s\u20135.0s", ListedReps(1, 1, 1.0, 5.0)),  # en dash
        ("Rep1: 1.0s-5.0s", ListedReps(1, 1, 1.0, 5.0)),
        ("reps 11-20: 12.3s-25.0s", ListedReps(11, 20, 12.3, 25.0)),
        ("reps11-20:12.3s-25.0s", ListedReps(11, 20, 12.3, 25.0)),
        ("reps 11\u201320: 12.3s\u201325.0s", ListedReps(11, 20, 12.3, 25.0)),  # en dashes
        ("reps 11 - 20 : 12.3 s - 25.0 s", ListedReps(11, 20, 12.3, 25.0)),
        ("reps 11 to 20: 12.3s to 25.0s", ListedReps(11, 20, 12.3, 25.0)),
    ],
)
def test_listed_item_tolerance(fragment, expected):
    assert parse_listed_reps(fragment) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Check: 3 repetitions listed between 1.0s and 11.8s.",  # 'repetitions' is not an item
        "prep1: 1.0s-5.0s",  # not a word boundary
        "rep1 1.0s-5.0s",  # no colon
        "rep1: about one second",
        "reps 9-3: 1.0s-5.0s",  # last before first: skipped
        "rep" + "9" * 12 + ": 1.0s-2.0s",  # absurd rep number: skipped
    ],
)
def test_listed_items_rejected(text):
    assert parse_listed_reps(text) == []


def test_listed_reps_only_before_last_answer():
    text = "<think>rep1: 0.0s-1.0s</think><answer>rep2: 1.0s-2.0s 2</answer>"
    assert parse_listed_reps(text) == [ListedReps(1, 1, 0.0, 1.0)]
    no_answer = "rep1: 0.0s-1.0s, rep2: 1.0s-2.0s"  # no answer block: the whole text is read
    assert parse_listed_reps(no_answer) == [ListedReps(1, 1, 0.0, 1.0), ListedReps(2, 2, 1.0, 2.0)]


def test_duplicates_count_as_written():
    items = parse_listed_reps("rep1: 0.0s-1.0s, rep1: 0.0s-1.0s")
    assert count_listed(items) == 2
    assert count_listed([]) == 0
    assert intervals_of([]) == []


def test_listed_reps_dataclass_is_frozen():
    with pytest.raises(AttributeError):
        ListedReps(1, 1, 0.0, 1.0).first = 2


# --- reasoning and exact format --------------------------------------------------------------------


def test_reasoning_text():
    assert reasoning_text("<think>abc</think><answer>1</answer>") == "abc"
    assert reasoning_text("<thinking>abc</thinking><answer>1</answer>", "thinking") == "abc"
    assert reasoning_text("<thinking>abc</thinking>", "think") is None
    assert reasoning_text("<think>unclosed", "think") is None
    with pytest.raises(ActRepError):
        reasoning_text("x", "reasoning")


FORMAT_OK_THINK = [
    GOOD,
    "<think>a</think><answer>3</answer>",
    "\n  <think>a</think>\n\n<answer>3</answer>\n  ",
    "<think></think><answer></answer>",  # structural only: the count rewards judge the content
]
FORMAT_BAD_THINK = [
    "",
    "<answer>3</answer>",  # no reasoning
    "<think>a</think>",  # no answer
    "<think>a</think> so <answer>3</answer>",  # text between
    "Sure! <think>a</think><answer>3</answer>",  # text before
    "<think>a</think><answer>3</answer> done",  # text after
    "<think>a</think><answer>3</answer><answer>4</answer>",  # second answer
    "<think>a</think><think>b</think><answer>3</answer>",  # second think block
    "<think>a<think>b</think></think><answer>3</answer>",  # nested think
    "<think>a</think>b</think><answer>3</answer>",  # stray closing tag
    "<think>see <answer>2</answer></think><answer>3</answer>",  # answer tag inside reasoning
    "<think>a <thinking>b</thinking></think><answer>3</answer>",  # the other variant's tags inside
    "<answer>3</answer><think>a</think>",  # wrong order
    "<THINK>a</THINK><ANSWER>3</ANSWER>",  # upper case
    "<think>a</think><answer>3",  # truncated
    "<thinking>a</thinking><answer>3</answer>",  # the other variant
]


@pytest.mark.parametrize("text", FORMAT_OK_THINK)
def test_format_exact_think_ok(text):
    assert format_exact(text) is True
    assert format_exact(text, "think") is True


@pytest.mark.parametrize("text", FORMAT_BAD_THINK)
def test_format_exact_think_bad(text):
    assert format_exact(text) is False


def test_format_exact_thinking_variant():
    thinking = GOOD.replace("<think>", "<thinking>").replace("</think>", "</thinking>")
    assert format_exact(thinking, "thinking") is True
    assert format_exact(thinking, "think") is False
    assert format_exact(GOOD, "thinking") is False
    for bad in FORMAT_BAD_THINK:
        swapped = bad.replace("think>", "thinking>").replace("THINK>", "THINKING>")
        if swapped == "<thinking>a</thinking><answer>3</answer>":  # the swapped 'other variant' case is valid
            continue
        assert format_exact(swapped, "thinking") is False, swapped
    with pytest.raises(ActRepError):
        format_exact(GOOD, "reason")


# --- parse_completion ------------------------------------------------------------------------------


def test_parse_completion_bundle():
    p = parse_completion(GOOD)
    assert isinstance(p, ParsedCompletion)
    assert p.count == 3
    assert p.answer == "\n3\n"
    assert p.listed_count == 3
    assert len(p.items) == 3
    assert p.intervals == [(1.0, 5.0), (5.0, 8.8), (8.8, 11.8)]
    assert p.reasoning.strip().startswith("The video shows")
    assert p.format_ok is True
    assert p.text == GOOD


def test_parse_completion_garbage_and_variants():
    p = parse_completion("I don't know")
    assert (p.count, p.answer, p.items, p.listed_count, p.reasoning, p.format_ok) == (None, None, (), 0, None, False)
    thinking = GOOD.replace("think>", "thinking>")
    p = parse_completion(thinking, "thinking")
    assert p.format_ok and p.reasoning is not None and p.count == 3 and p.listed_count == 3
    p = parse_completion(thinking, "think")
    assert not p.format_ok and p.reasoning is None and p.count == 3  # count/listing do not depend on the variant
    assert parse_completion("<answer>20</answer>", max_count=10).count is None
