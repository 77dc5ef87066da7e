"""`publisher status`: what the state index says, read-only, safe while the daemon runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from feedpub.build import STATE_FILE
from feedpub.config import Config
from feedpub.store import open_store


def site_status(config: Config, *, now: datetime) -> dict[str, Any]:
    with open_store(config.state_dir / STATE_FILE, readonly=True) as store:
        indexed, published = store.counts(now)
        last_run = store.get_meta("last_run")
        return {
            "seeds_indexed": indexed,
            "entries_published": published,
            "waiting": [
                {"slug": slug, "date": date.isoformat()} for slug, date in store.waiting(now)
            ],
            "skipped": store.errors(),
            "last_run": json.loads(last_run) if last_run else None,
        }


def format_status(status: dict[str, Any]) -> str:
    lines = [
        f"seeds indexed:     {status['seeds_indexed']}",
        f"entries published: {status['entries_published']}",
        f"waiting for date:  {len(status['waiting'])}",
    ]
    lines += [f"  {item['date']}  {item['slug']}" for item in status["waiting"]]
    lines.append(f"skipped:           {len(status['skipped'])}")
    lines += [f"  {problem}" for problem in status["skipped"]]
    last = status["last_run"]
    if last:
        lines.append(f"last run:          {last['at']} {last['result']}: {last['summary']}")
    else:
        lines.append("last run:          never")
    return "\n".join(lines)
