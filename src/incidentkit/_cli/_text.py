r"""Text for a terminal: what a source or a journal says, made inert before it is printed.

A title, a change summary, a note or a reason came from outside the library
and may hold a terminal's control sequences: ``ESC [ 2 J`` clears the screen,
``ESC ] 0 ; ... BEL`` sets the window title, ``ESC ] 8`` makes a link, and a
bidirectional control (U+202E) shows text reversed. :func:`inert` removes
every escape sequence whole (CSI, OSC, DCS and the others, in their 7-bit and
8-bit forms), then every control character left (C0 but the tab and line
breaks, DEL, C1) and every bidirectional control, and folds line breaks to a
space, so that a value prints on one line as plain text.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["inert", "inert_lines", "one_line"]

_SEQUENCES: Final = re.compile(
    r"""
      (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?          # CSI ... final byte
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)?
                                                                    # OSC, DCS, SOS, PM, APC ... ST
    | \x1b [\x20-\x2f]* [\x30-\x7e]?                                 # any other escape
    """,
    re.VERBOSE,
)
_CONTROLS: Final = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)
_BREAKS: Final = re.compile("[\t\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]+")


def inert(text: str) -> str:
    """Return ``text`` without escape sequences, control or bidirectional characters.

    Line breaks and tabs are kept (a carriage return becomes a line break, so
    it cannot overwrite what was printed before it); everything else that a terminal would act
    on rather than show is removed. Lone surrogates (a journal may hold one,
    JSON allows it) are shown as their escapes, so that printing never fails.
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n")  # a lone CR would overwrite a line
    cleaned = _CONTROLS.sub("", _SEQUENCES.sub("", lines))
    return cleaned.encode("utf-8", "backslashreplace").decode("utf-8")


def one_line(text: str) -> str:
    """Return ``text`` made inert and folded to one line (line breaks and tabs become a space)."""
    return inert(_BREAKS.sub(" ", text))


def inert_lines(text: str) -> str:
    """Return a multi-line text made inert line by line; a tab becomes a space."""
    return "\n".join(inert(line.replace("\t", " ")) for line in text.split("\n"))
