"""One labelling sitting at the terminal (``hub review``): show a pair, read the steward's answer.

Pure of storage: the queue comes in, labels (review.queue.LABEL_COLUMNS) go out; ``ask`` and ``say``
are the terminal (``input`` and ``print``), so a test drives a session with a list of answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

import pandas as pd

from hub_platform.defs.review.queue import LABEL_COLUMNS, label_rows

ANSWERS = {"m": "match", "n": "non_match", "u": "unsure"}
PROMPT = "[m]atch  [n]on-match  [u]nsure  [s]kip  [q]uit > "


def _side_by_side(left: str, right: str) -> str:
    a, b = json.loads(left or "{}"), json.loads(right or "{}")
    fields = list(dict.fromkeys([*a, *b]))
    width = max([len(f) for f in fields] + [5])
    lines = [f"  {'field':<{width}}  {'left':<36}  right"]
    for name in fields:
        mark = " " if a.get(name) == b.get(name) else "≠"
        lines.append(f"{mark} {name:<{width}}  {a.get(name, '')!s:<36}  {b.get(name, '')}")
    return "\n".join(lines)


def review_session(queue: pd.DataFrame, labelled_by: str, now: Callable[[], datetime],
                   ask: Callable[[str], str] | None = None, say: Callable[[str], None] | None = None,
                   limit: int | None = None) -> pd.DataFrame:
    """Label queue rows one by one until the queue, ``limit`` or a ``q`` ends it; returns the labels given.

    ``ask`` / ``say`` default to the terminal (``input`` / ``print``, looked up when called)."""
    ask, say = ask or (lambda prompt: input(prompt)), say or print
    given = []
    rows = queue if limit is None else queue.head(limit)
    for position, (_, pair) in enumerate(rows.iterrows(), start=1):
        say(f"\n{pair['domain']} pair {position} of {len(rows)}: {pair['left_id']} / {pair['right_id']}  "
            f"(match probability {pair['match_probability']:.3f}, threshold {pair['threshold']:.3f})")
        say(_side_by_side(pair["left_record"], pair["right_record"]))
        while True:
            answer = ask(PROMPT).strip().lower()[:1]
            if answer in (*ANSWERS, "s", "q"):
                break
            say("answer m, n, u, s or q")
        if answer == "q":
            break
        if answer == "s":
            continue
        note = ask("note (optional) > ").strip()
        given.append(label_rows(pair.to_frame().T, [ANSWERS[answer]], labelled_by, now(), [note]))
    if not given:
        return pd.DataFrame({c: pd.Series(dtype="string") for c in LABEL_COLUMNS})
    return pd.concat(given, ignore_index=True)
