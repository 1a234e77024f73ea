#!/usr/bin/env bash
# Work the checkout outage from a shell script: one `incidentkit` command per step.
#
# The same incident as examples/checkout_outage.py, on the same built-in data: the
# sources, the rollback executor and the metrics are named in examples/cli_incident.toml.
# Each step runs `--at` the scenario's own time, so the journal reads as the real
# incident would have; against real systems, leave --at out (the clock is then now).
#
#   bash examples/cli_incident.sh [JOURNAL]
#
# The journal goes to a temporary folder unless a path is given (it must not exist).
# INCIDENTKIT names the command to run (default: incidentkit), for example
# INCIDENTKIT="python -m incidentkit".
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
read -r -a incidentkit <<< "${INCIDENTKIT:-incidentkit}"
ik() { "${incidentkit[@]}" "$@"; }

export INCIDENTKIT_CONFIG="$here/cli_incident.toml"
journal=${1:-$(mktemp -d)/checkout.jsonl}

# Declared at 14:11 by the incident commander, two minutes after the alert.
ik declare "$journal" --title "Checkout returns 5xx" --service checkout \
    --detection alert --detected-at 2026-11-20T14:09:00Z \
    --depends-on checkout=payments,gke-prod-pool-b,stripe \
    --actor Dana --role incident_commander --at 2026-11-20T14:11:00Z

# The protocol refuses a rollback before the impact is known: exit 3, nothing written.
if ik roll-back "$journal" --change deploy-4812 --actor Sam --at 2026-11-20T14:12:00Z; then
    echo "a rollback before the impact assessment was accepted" >&2
    exit 1
else
    status=$?
    [ "$status" -eq 3 ] || exit "$status"
fi

# 1. Impact before cause: the onset and the severity are read from monitoring.
ik assess "$journal" --ongoing --bad errors_1m --total requests_1m --slo 0.999 \
    --segment "every customer checking out" --measure peak_error_ratio=errors:max \
    --summary "Checkout fails for about one request in five." \
    --actor Dana --role incident_commander --at 2026-11-20T14:15:00Z

# 2. What changed (every configured source), then the rollback options.
ik gather "$journal" --actor Sam --role operations --at 2026-11-20T14:15:00Z
ik review "$journal" --actor Sam --role operations --at 2026-11-20T14:16:00Z
ik roll-back "$journal" --change deploy-4812 --actor Sam --role operations \
    --at 2026-11-20T14:31:00Z

# 3. Recovery verified in monitoring (exit 1 if not shown).
ik verify-recovery "$journal" --bad errors_1m --total requests_1m \
    --actor Sam --role operations --at 2026-11-20T14:50:00Z

# 4. Diagnosis: gather once more, a hypothesis, the usual suspects.
ik diagnose "$journal" --actor Dana --role incident_commander --at 2026-11-20T15:05:00Z
ik gather "$journal" --actor Dana --at 2026-11-20T15:05:00Z
ik hypothesis "$journal" \
    --statement "checkout v2.14.0 (deploy-4812) broke checkout; the rollback ended it" \
    --evidence change:deploy-4812 --actor Dana --at 2026-11-20T15:06:00Z
ik check "$journal" --item deploys --actor Dana --at 2026-11-20T15:07:00Z \
    --conclusion "deploy-4812 finished 2 min before the symptom; rolling it back ended it"
ik check "$journal" --item infrastructure --actor Dana --at 2026-11-20T15:08:00Z \
    --conclusion "the node-pool upgrade finished 17 min before the symptom, no node errors"
ik check "$journal" --item dependencies --actor Dana --at 2026-11-20T15:09:00Z \
    --conclusion "the payment provider's incident began 13 min after the symptom"
ik show "$journal"

# 5. Resolved; keep the anchor elsewhere, print the report, verify the journal with it.
anchor=$(ik resolve "$journal" \
    --root-cause "checkout v2.14.0 returned 5xx on checkout; rolled back to v2.13.3" \
    --evidence change:deploy-4812 --actor Dana --at 2026-11-20T15:30:00Z --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["anchor"])')
ik report "$journal" --format md
ik verify "$journal" --anchor "$anchor"
