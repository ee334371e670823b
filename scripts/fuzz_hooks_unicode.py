"""schemathesis hooks for the non-ASCII pass of scripts/fuzz-api.sh (FUZZ_TEXT=unicode).

Every string the fuzzer generates for a body, a query or a path parameter may be replaced by,
or joined with, text as people and hostile clients send it: Chinese (durations typed as
15分钟, names), emoji and their joiners, combining marks, right-to-left marks, full-width
digits, NUL. A request may still answer 4xx; it may never answer 5xx, hang or drop the
connection."""

import schemathesis
from hypothesis import strategies as st

PIECES = [
    "十五分钟", "15分", "两小时", "一个半小时", "半小时", "３分", "王芳", "深圳二组", "月消费",
    "😀", "👩\u200d👩\u200d👧", "\U0001F1E8\U0001F1F3", "\u0301", "\u0308", "\u202e", "\u200f",
    "مرحبا", "\u3000", "１５", "＝1+1", "\ufeff", "\u0000", "+86 138 0013 8000", "Asia/上海",
]

TEXT = st.one_of(
    st.lists(st.sampled_from(PIECES), min_size=1, max_size=6).map("".join),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=12),
    st.text(st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF), min_size=1, max_size=6),
)


def _replaced(value):
    """A strategy for `value` with each string kept, replaced, or joined with hostile text."""
    if isinstance(value, str):
        return st.one_of(
            st.just(value), TEXT, TEXT.map(lambda t: value + t), TEXT.map(lambda t: t + value)
        )
    if isinstance(value, dict):
        keys = list(value)
        return st.tuples(*[_replaced(value[k]) for k in keys]).map(lambda vs: dict(zip(keys, vs)))
    if isinstance(value, list):
        return st.tuples(*[_replaced(v) for v in value]).map(list)
    return st.just(value)


@schemathesis.hook
def flatmap_body(ctx, body):
    return _replaced(body)


@schemathesis.hook
def flatmap_query(ctx, query):
    return _replaced(query) if query else st.just(query)


@schemathesis.hook
def flatmap_path_parameters(ctx, parameters):
    return _replaced(parameters) if parameters else st.just(parameters)
