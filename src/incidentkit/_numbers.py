"""The one test of "a finite number" that every argument check shares.

``math.isfinite`` raises ``TypeError`` on a string or ``None`` and
``OverflowError`` on an integer too large for a float; a check at the public
boundary wants a yes or no, so that it raises its own
:class:`~incidentkit.InvalidInputError` naming the argument.
"""

from __future__ import annotations

import math
import numbers

__all__ = ["is_finite"]


def is_finite(value: object) -> bool:
    """Whether ``value`` is a real number (not a bool) that is finite as a float."""
    if type(value) is float:
        return math.isfinite(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False
