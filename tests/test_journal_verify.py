"""Tests for verification's one-pass check against the two passes it replaced and the analysis."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from incidentkit._chain import (
    GENESIS_DIGEST,
    Anchor,
    _check_clean,
    _codec,
    analyse,
    check_bytes,
    encode_body,
    encode_line,
    scan_clean,
)

_HASHED_START = 83  # where a line's hashed part starts: after '{"v":1,"digest":"<64>",'


def _reference_accepts(data: bytes) -> bool:
    """Whether the fast path before the one-pass check took ``data`` (no full analysis).

    The two passes it made, as they were: ``scan_clean`` over every complete
    line, then every body parsed by the strict decoder's ``raw_decode`` from
    just after its ``"body":``, which had to end at the line's closing brace
    with a JSON object, the lines decoded from UTF-8 (all at once here: the
    blocks only changed the cost).
    """
    _starts, stop = scan_clean(data, 0, GENESIS_DIGEST)
    if b"\n" in data[stop:]:
        return False
    try:
        text = data[:stop].decode("utf-8")
    except UnicodeDecodeError:
        return False
    raw_decode = _codec()[1].raw_decode
    pos = 0
    end = text.find("\n")
    try:
        while end >= 0:
            body, after = raw_decode(text, text.find('"body":', pos + _HASHED_START) + 7)
            if after != end - 1 or type(body) is not dict:
                return False
            pos = end + 1
            end = text.find("\n", pos)
    except (ValueError, RecursionError):
        return False
    return True


def _full_analysis(data: bytes, anchor: Anchor | None):
    """What the full analysis says of ``data``, the fast path skipped."""
    lines = data.split(b"\n")
    tail = lines.pop()
    return analyse(lines, tail, len(data) - len(tail), anchor)


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=8,
)
_OBJECTS = st.dictionaries(st.text(max_size=4), _JSON, max_size=4)

# Bodies only a writer that recomputes the chain can leave: each must be refused by the
# fast path exactly when the decoder refuses it (or accepts it only with whitespace).
_FORGED_BODIES = [
    b'{"a":1},',
    b'{"a":1}{"b":2}',
    b'{"a":1},"x":{}',
    b'{"a":[1',
    b"2]}",
    b"[1,{}]",
    b'"text"',
    b"1",
    b"null",
    b" {}",
    b"{} ",
    b"{\n}",
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":-Infinity}',
    b'{"a":1e999}',
    b'{"a":' + b"7" * 5000 + b"}",
    b'{"a":"\xff"}',
    b'{"a":"\xc3"}',
    b'{"a":"\\ud800"}',
    b'{"a":"\x01"}',
    b'{"a":"\\x"}',
    b'{"a":1,}',
    b'{"a" :1}',
    b'{"a":01}',
    b'{"a":1,"a":2}',
    b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}",
    b'{"\xc3\xa9":"\xe2\x80\xa8\xc2\x85"}',
    b"{}",
    b"",
    b"}",
    b'{"a":"}\n{"',
]
_FORGED = st.sampled_from(_FORGED_BODIES)


@st.composite
def _journals(draw: st.DrawFn) -> bytes:
    """Return a journal's bytes: canonical and forged bodies chained, maybe tampered, maybe torn."""
    bodies = draw(
        st.lists(
            st.one_of(_OBJECTS.map(encode_body), _FORGED),
            max_size=6,
        )
    )
    lines: list[bytes] = []
    prev = GENESIS_DIGEST
    for seq, body in enumerate(bodies):
        prev, line = encode_line(seq, prev, body)
        lines.append(line)
    if lines and draw(st.booleans()):  # the record's closing brace, outside the digest, changed
        index = draw(st.integers(0, len(lines) - 1))
        brace = draw(st.sampled_from([b"]", b" ", b"", b"}}", b"0"]))
        lines[index] = lines[index][:-2] + brace + b"\n"
    data = b"".join(lines)
    if data and draw(st.booleans()):  # a byte changed, inserted or cut, the chain not redone
        at = draw(st.integers(0, len(data) - 1))
        byte = draw(st.sampled_from([b"", b"0", b"a", b",", b"}", b'"', b"\n", b"\xff", b" "]))
        data = data[:at] + byte + data[at + draw(st.integers(0, 1)) :]
    if draw(st.booleans()):  # a torn tail
        data += draw(st.sampled_from([b'{"v":1,"digest":"', b"x", b"{}"]))
    return data


def _anchors(data: bytes) -> st.SearchStrategy[Anchor | None]:
    digests = [line[17:81].decode("ascii", "replace") for line in data.split(b"\n")]
    real = [
        Anchor(seq, digest)
        for seq, digest in enumerate(digests)
        if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)
    ]
    made_up = st.builds(Anchor, st.integers(0, 8), st.sampled_from(["a" * 64, GENESIS_DIGEST]))
    return st.none() | made_up | (st.sampled_from(real) if real else st.none())


@settings(max_examples=600)
@given(st.data())
def test_the_one_pass_check_takes_what_the_two_passes_took(data):
    """The fast path accepts a journal exactly when the two passes it replaced did."""
    journal = data.draw(_journals())
    stop = journal.rfind(b"\n") + 1
    assert (_check_clean(journal, stop) is not None) == _reference_accepts(journal)


@settings(max_examples=600)
@given(st.data())
def test_check_bytes_finds_what_the_full_analysis_finds(data):
    """Fast path or not, checking a journal's bytes reports what the full analysis reports."""
    journal = data.draw(_journals())
    anchor = data.draw(_anchors(journal))
    assert check_bytes(journal, anchor) == _full_analysis(journal, anchor)


def test_every_forged_body_is_refused_or_read_as_the_decoder_reads_it():
    """Each forged body is malformed to verify unless the decoder reads it as an object."""
    decoder = _codec()[1]
    for body in _FORGED_BODIES:
        prev, line = encode_line(0, GENESIS_DIGEST, encode_body({"n": 0}))
        _, forged = encode_line(1, prev, body)
        findings = check_bytes(line + forged, None)
        try:
            parsed = decoder.decode(body.decode("utf-8"))
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, dict) and b"\n" not in body:
            assert findings.problems == (), body
        else:
            assert [(p.kind, p.line) for p in findings.problems][:1] == [("malformed", 2)], body


def test_blocks_split_long_and_short_lines_alike():
    """A journal of lines longer and shorter than a block verifies, and its anchors resolve."""
    long = {3: "x" * 1_200_000, 7: "é🙂" * 400_000}
    bodies = [{"n": n, "text": long.get(n, f"record {n}")} for n in range(3_000)]
    lines: list[bytes] = []
    prev = GENESIS_DIGEST
    digests: list[str] = []
    for seq, body in enumerate(bodies):
        prev, line = encode_line(seq, prev, encode_body(body))
        lines.append(line)
        digests.append(prev)
    data = b"".join(lines)
    assert len(data) > 3 * 2**20
    for seq in (0, 3, 4, 7, 8, 1_500, 2_999):
        findings = check_bytes(data, Anchor(seq, digests[seq]))
        assert findings.problems == ()
        assert findings.records == len(bodies)
        assert findings.head == Anchor(2_999, digests[-1])
        assert findings.uncovered == range(seq + 1, 3_000)
    assert json.loads(lines[7])["body"]["n"] == 7


def test_a_line_whose_unhashed_closing_brace_was_changed_is_not_clean():
    """The line's last byte is outside its digest: the fast path still refuses another one.

    Each line of a block is checked in one ``map`` per check, so one bad line
    anywhere in a block (here the first, a middle and the last of many) sends
    the journal to the full analysis, which names that line.
    """
    lines: list[bytes] = []
    prev = GENESIS_DIGEST
    for seq in range(500):
        prev, line = encode_line(seq, prev, encode_body({"n": seq}))
        lines.append(line)
    for bad in (0, 250, 499):
        changed = list(lines)
        changed[bad] = changed[bad][:-2] + b"]\n"
        data = b"".join(changed)
        assert _check_clean(data, len(data)) is None
        findings = check_bytes(data, None)
        assert [(p.kind, p.line) for p in findings.problems][:1] == [("malformed", bad + 1)]
    data = b"".join(lines)
    clean = _check_clean(data, len(data))
    assert clean is not None
    assert clean.records == 500
