"""Reading Prometheus text format in tests."""

from __future__ import annotations

import re


def metric(text: str, name: str, **labels: str) -> float:
    """The value of the first sample of `name` whose labels include `labels` (0 when absent)."""
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(?:\{{(.*)\}})? (\S+)$", line)
        if match:
            found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
            if all(found.get(key) == value for key, value in labels.items()):
                return float(match.group(2))
    return 0.0
