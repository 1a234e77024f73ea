"""Write the checkout outage's request counts into checkout_outage.json, from its ratio and traffic.

The dataset was recorded as an error ratio and a request rate. The examples
assess and verify with counts (``Counts``: what ``increase()`` over one minute
gives in Prometheus), so this script draws them from those two series, with a
fixed seed, and stores them beside them in the same file:

* all requests of minute ``k``: ``60 x traffic[k]`` requests on average, drawn
  from the normal approximation to the Poisson distribution (about 50,000 a
  minute, where the two agree to a fraction of a percent), rounded;
* the failed ones: the error ratio of the same minute is the chance that a
  request fails, drawn from the normal approximation to the binomial
  distribution (at least 60 expected failures in every minute), rounded and
  kept between 0 and the minute's requests;
* the failed scrape at 12:47 is a gap (``null``) in both.

Run it from the repository's root: ``python examples/data/make_counts.py``.
It rewrites only the two count entries of ``metrics`` (and writes the same
bytes each time: the seed is fixed); the rest of the file is kept as it is.
"""

from __future__ import annotations

import json
import math
import random
import re
from pathlib import Path

DATA = Path(__file__).parent / "checkout_outage.json"
RATIO = (
    'sum(rate(http_requests_total{service="checkout",code=~"5.."}[5m])) '
    '/ sum(rate(http_requests_total{service="checkout"}[5m]))'
)
TRAFFIC = 'sum(rate(http_requests_total{service="checkout"}[5m]))'
BAD = 'sum(increase(http_requests_total{service="checkout",code=~"5.."}[1m]))'
TOTAL = 'sum(increase(http_requests_total{service="checkout"}[1m]))'
SEED = 4812
PER_LINE = 10
STEP = 60


def draw(ratio: list[float | None], traffic: list[float | None]) -> tuple[list[int | None], ...]:
    """The failed and all requests of each minute, drawn with the fixed seed."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible synthetic data, not a secret
    bad: list[int | None] = []
    total: list[int | None] = []
    for share, rate in zip(ratio, traffic, strict=True):
        if share is None or rate is None:
            bad.append(None)
            total.append(None)
            continue
        mean = 60 * rate
        n = max(0, round(rng.gauss(mean, math.sqrt(mean))))
        failed = round(rng.gauss(n * share, math.sqrt(n * share * (1 - share))))
        bad.append(min(max(failed, 0), n))
        total.append(n)
    return bad, total


def entry(query: str, start: str, values: list[int | None]) -> str:
    """One metric entry, written as the file writes the others (ten values a line)."""
    rows = [
        ", ".join("null" if v is None else str(v) for v in values[i : i + PER_LINE])
        for i in range(0, len(values), PER_LINE)
    ]
    body = ",\n".join(f"        {row}" for row in rows)
    return (
        f"    {json.dumps(query)}: {{\n"
        f'      "unit": "requests",\n'
        f'      "start": "{start}",\n'
        f'      "step": 60,\n'
        f'      "values": [\n{body}\n      ]\n'
        f"    }}"
    )


def main() -> None:
    """Draw the counts and write them into the dataset."""
    text = DATA.read_text(encoding="utf-8")
    metrics = json.loads(text)["metrics"]
    ratio, traffic = metrics[RATIO], metrics[TRAFFIC]
    if ratio["start"] != traffic["start"] or not ratio["step"] == traffic["step"] == STEP:
        msg = "the ratio and the traffic must start together, one sample a minute"
        raise SystemExit(msg)
    bad, total = draw(ratio["values"], traffic["values"])
    # Drop the count entries written before, then append them at the end of "metrics".
    for query in (BAD, TOTAL):
        text = re.sub(
            r",\n    " + re.escape(json.dumps(query)) + r": \{\n.*?\n    \}(?=\n  \}|,\n)",
            "",
            text,
            flags=re.DOTALL,
        )
    end = text.index('\n  },\n  "live_versions"')
    counts = ",\n".join(entry(q, ratio["start"], v) for q, v in ((BAD, bad), (TOTAL, total)))
    text = f"{text[:end]},\n{counts}{text[end:]}"
    json.loads(text)  # still JSON
    DATA.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
