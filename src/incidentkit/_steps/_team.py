"""Working as a team: roles handed over, follow-up action items, clock corrections."""

from __future__ import annotations

from incidentkit._arguments import text
from incidentkit._errors import InvalidInputError
from incidentkit._events import ClockCorrected, FollowUpAdded, RoleHandedOver
from incidentkit._model import Actor, Role
from incidentkit._state import IncidentState
from incidentkit._steps._common import Now, Outcome

__all__ = ["correct_clock", "follow_up", "hand_over"]


def hand_over(
    state: IncidentState, now: Now, who: Actor, *, role: Role | str, to: str, note: str
) -> Outcome:
    """Hand ``role`` to the responder ``to``; the previous holder is recorded."""
    if not isinstance(role, Role):
        try:
            role = Role(str(role).strip().lower())
        except ValueError:
            names = ", ".join(repr(r.value) for r in Role)
            msg = f"role must be a Role (Role.INCIDENT_COMMANDER ...) or one of {names}"
            raise InvalidInputError(msg) from None
    holder = text(to, "the responder a role is handed to")
    previous = state.roles.get(role)
    if previous == holder:
        msg = f"{holder} already holds the role {role.value}"
        raise InvalidInputError(msg)
    return Outcome((RoleHandedOver(now(), who, role, holder, previous, note),))


def follow_up(
    state: IncidentState, now: Now, who: Actor, *, action: str, owner: str, notes: str
) -> Outcome:
    """Add a follow-up action item, numbered ``A1``, ``A2``, ... in order."""
    item_id = f"A{len(state.follow_ups) + 1}"
    return Outcome(
        (
            FollowUpAdded(
                now(),
                who,
                item_id,
                text(action, "a follow-up's action"),
                text(owner, "a follow-up's owner"),
                notes,
            ),
        )
    )


def correct_clock(state: IncidentState, now: Now, who: Actor, reason: str) -> Outcome:
    """Record that time is read from an earlier instant from here on, and why."""
    at = now()
    if at >= state.latest_at:
        msg = (
            f"the clock says {at}, not earlier than the last recorded event at "
            f"{state.latest_at}: there is nothing to correct"
        )
        raise InvalidInputError(msg)
    return Outcome(
        (ClockCorrected(at, who, text(reason, "a clock correction's reason"), state.latest_at),)
    )
