"""Evidence analysis: symptom onset, ranked suspects, verified recovery, impact in numbers.

Pure Python (no numpy at run time). Each function explains its verdict in
plain words and returns the figures behind it.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from incidentkit._recovery import (
    RecoveryOutcome,
    RecoveryPolicy,
    RecoveryVerdict,
    check_recovery,
)
from incidentkit._recovery_counts import check_recovery_counts
from incidentkit._recovery_threshold import check_recovery_threshold
from incidentkit.analysis._impact import BurnRate, ImpactNumbers, impact_numbers
from incidentkit.analysis._onset import Onset, detect_onset
from incidentkit.analysis._onset_counts import detect_onset_counts
from incidentkit.analysis._suspects import (
    Suspect,
    SuspectPolicy,
    SuspectRanking,
    SuspectReason,
    SuspectReasonKind,
    rank_suspects,
)

__all__ = [
    "BurnRate",
    "ImpactNumbers",
    "Onset",
    "RecoveryOutcome",
    "RecoveryPolicy",
    "RecoveryVerdict",
    "Suspect",
    "SuspectPolicy",
    "SuspectRanking",
    "SuspectReason",
    "SuspectReasonKind",
    "check_recovery",
    "check_recovery_counts",
    "check_recovery_threshold",
    "detect_onset",
    "detect_onset_counts",
    "impact_numbers",
    "rank_suspects",
]
