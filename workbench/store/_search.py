"""Full-text search of the store: an SQLite FTS5 trigram index over each trajectory's texts.

What is indexed
---------------
``trajectory_fts`` is an FTS5 table with *external content* (``content='trajectory_bodies'``): it
indexes ``prompt`` (the stored JSON of the messages) and ``raw`` (the whole output, thinking
included) of every row of ``trajectory_bodies`` without keeping a second copy of the text. The
``trigram`` tokenizer indexes every three-character window (case-folded), so any substring of
three or more characters can be looked up; ``detail=none`` keeps only which rows hold a trigram
(about 0.2× the text's size on the benchmark's prose, against 2.4× for ``detail=full``, and twice
as fast to write), ``columnsize=0`` skips the per-row length table nobody reads.

Keeping it in sync (a deferred index, exact searches)
----------------------------------------------------
Trigram indexing costs about 1 ms of CPU per 12 KB trajectory, ten times what storing it costs,
so the index is *deferred*: a trigger on ``trajectory_bodies`` records each new row's id in
``search_pending`` (an integer table, cheap to write) and :func:`index_pending` indexes the
pending rows later, in short transactions. A search looks up the index **and** scans the pending
rows with ``LIKE``, so its results are exact at every moment; only its speed depends on how many
rows wait. The store indexes the pending rows itself before a search on a writable store when
there are at most :data:`AUTO_INDEX_ROWS` of them (a live session's trickle), and otherwise
scans them and says, once, how to index them (``Store.index_search()``, ``workbench index``;
``workbench import`` indexes what it imported).

Triggers also cover a delete and an update that changes ``prompt`` or ``raw``: an indexed row is
removed from the index with its old text (FTS5 external content must be told the old text), a
pending row just leaves ``search_pending``. We chose triggers over explicit writes in the
store's add/save paths because every path that writes a body (``add_trajectories``, ``save``,
importers, a future delete, a hand-written ``UPDATE`` in a repair script) is covered without
being remembered.

Query semantics (identical to the LIKE search it replaces)
----------------------------------------------------------
``search=text`` matches a trajectory whose ``raw`` or ``prompt`` contains ``text``, ignoring the
case of ASCII letters only (SQLite's ``LIKE``); every character is literal (``"``, ``*``, ``-``,
``AND``, ``%``, ``_`` are text, never syntax). For three or more characters the index picks the
candidate rows (those holding every trigram of the text, in either column) and ``LIKE`` on those
rows alone decides, so the index only ever makes search faster, never different. Texts of one or
two characters have no trigram and are answered by ``LIKE`` over every row (a full scan).

Without FTS5 (an SQLite built without it), the migration skips the index with a warning and
every search uses ``LIKE`` (slower at scale, same results).
"""

from __future__ import annotations

import re
import sqlite3
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

__all__ = [
    "AUTO_INDEX_ROWS",
    "FTS_TABLE",
    "LIKE_SQL",
    "MIN_INDEXED_CHARS",
    "PENDING_TABLE",
    "Snippet",
    "build_search_index",
    "create_search_index",
    "fts5_available",
    "has_search_index",
    "index_driven_source",
    "index_pending",
    "like_pattern",
    "match_expression",
    "pending_rows",
    "progress_reporter",
    "rarest_trigram",
    "search_clause",
    "snippet",
]

FTS_TABLE = "trajectory_fts"
"""Name of the FTS5 table (external content over ``trajectory_bodies``)."""

PENDING_TABLE = "search_pending"
"""Ids (``traj_rowid``) of the bodies written since the index last caught up."""

AUTO_INDEX_ROWS = 1_000
"""Most pending rows a search on a writable store indexes first (about 1 s of CPU at 12 KB)."""

MIN_INDEXED_CHARS = 3
"""Shortest search text the trigram index can answer; shorter texts scan every row."""

BUILD_BATCH = 2_000
"""Rows indexed per statement when an existing store's index is built (the progress unit)."""

_PROGRESS_MIN_ROWS = 20_000
"""Stores with fewer rows build their index without a progress bar."""

_DDL: tuple[str, ...] = (
    f"""CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(
    prompt, raw,
    content='trajectory_bodies', content_rowid='traj_rowid',
    tokenize='trigram', detail=none, columnsize=0
)""",
    f"CREATE TABLE {PENDING_TABLE} (traj_rowid INTEGER PRIMARY KEY)",
    f"""CREATE TRIGGER {FTS_TABLE}_insert AFTER INSERT ON trajectory_bodies BEGIN
    INSERT OR IGNORE INTO {PENDING_TABLE}(traj_rowid) VALUES (new.traj_rowid);
END""",
    f"""CREATE TRIGGER {FTS_TABLE}_delete AFTER DELETE ON trajectory_bodies BEGIN
    INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, prompt, raw)
        SELECT 'delete', old.traj_rowid, old.prompt, old.raw
        WHERE NOT EXISTS (SELECT 1 FROM {PENDING_TABLE} WHERE traj_rowid = old.traj_rowid);
    DELETE FROM {PENDING_TABLE} WHERE traj_rowid = old.traj_rowid;
END""",
    f"""CREATE TRIGGER {FTS_TABLE}_update AFTER UPDATE OF prompt, raw ON trajectory_bodies
WHEN old.prompt IS NOT new.prompt OR old.raw IS NOT new.raw BEGIN
    INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, prompt, raw)
        SELECT 'delete', old.traj_rowid, old.prompt, old.raw
        WHERE NOT EXISTS (SELECT 1 FROM {PENDING_TABLE} WHERE traj_rowid = old.traj_rowid);
    INSERT INTO {FTS_TABLE}(rowid, prompt, raw)
        SELECT new.traj_rowid, new.prompt, new.raw
        WHERE NOT EXISTS (SELECT 1 FROM {PENDING_TABLE} WHERE traj_rowid = new.traj_rowid);
END""",
)


@cache
def fts5_available() -> bool:
    """Whether this Python's SQLite has FTS5 with the trigram tokenizer (SQLite >= 3.34)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='trigram', detail=none)")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


@cache
def _warn_no_fts5() -> None:
    """Warn once per process that search falls back to ``LIKE``."""
    warnings.warn(
        f"this Python's SQLite ({sqlite3.sqlite_version}) has no FTS5 trigram tokenizer, so the "
        "store's text search scans every row (same results, slower on large stores): use a "
        "Python whose sqlite3 has FTS5 (SQLite >= 3.34, the python.org and conda builds do)",
        RuntimeWarning,
        stacklevel=3,
    )


def has_search_index(conn: sqlite3.Connection) -> bool:
    """Whether the open database has the index (and this SQLite can read it)."""
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (FTS_TABLE,)
    ).fetchone()
    if row is None:
        if not fts5_available():
            _warn_no_fts5()
        return False
    return fts5_available()


def create_search_index(conn: sqlite3.Connection) -> None:
    """Migration to schema 7: create the index and its triggers, then index every stored row.

    Runs inside the migration's transaction: a crash (or Ctrl-C) midway rolls everything back and
    leaves the store at version 6, fully usable, and the next writable open starts again. Rows
    are indexed :data:`BUILD_BATCH` at a time with a progress bar on stderr for large stores.
    Without FTS5 nothing is created (searches then use ``LIKE``) and a warning says so.
    """
    if not fts5_available():
        _warn_no_fts5()
        return
    for statement in _DDL:
        conn.execute(statement)
    build_search_index(conn)


def build_search_index(
    conn: sqlite3.Connection, *, progress: Callable[[int, int], None] | None = None
) -> int:
    """Index every row of ``trajectory_bodies`` in batches; return the number indexed.

    The caller holds the write transaction. ``progress(done, total)`` is called after each batch;
    by default a tqdm bar (or a plain line) on stderr is shown when there are at least 20,000
    rows.
    """
    (total,) = conn.execute("SELECT count(*) FROM trajectory_bodies").fetchone()
    report = progress if progress is not None else progress_reporter(int(total))
    done, last = 0, 0
    while True:
        row = conn.execute(
            "SELECT max(traj_rowid), count(*) FROM (SELECT traj_rowid FROM trajectory_bodies"
            " WHERE traj_rowid > ? ORDER BY traj_rowid LIMIT ?)",
            (last, BUILD_BATCH),
        ).fetchone()
        if not row[1]:
            break
        upto, n = int(row[0]), int(row[1])
        conn.execute(
            f"INSERT INTO {FTS_TABLE}(rowid, prompt, raw) SELECT traj_rowid, prompt, raw"
            " FROM trajectory_bodies WHERE traj_rowid > ? AND traj_rowid <= ?",
            (last, upto),
        )
        done, last = done + n, upto
        report(done, int(total))
    report(done, -1)  # finished
    return done


def pending_rows(conn: sqlite3.Connection) -> int:
    """Return how many stored bodies wait to be indexed (0 without the index)."""
    return int(conn.execute(f"SELECT count(*) FROM {PENDING_TABLE}").fetchone()[0])


def index_pending(conn: sqlite3.Connection, limit: int = BUILD_BATCH) -> int:
    """Index up to ``limit`` pending rows (lowest ids first); return how many were indexed.

    The caller holds the write transaction, so the rows leave ``search_pending`` in the same
    transaction as they enter the index: a crash midway leaves them pending, never lost.
    """
    row = conn.execute(
        f"SELECT max(traj_rowid), count(*) FROM (SELECT traj_rowid FROM {PENDING_TABLE}"
        " ORDER BY traj_rowid LIMIT ?)",
        (limit,),
    ).fetchone()
    if not row[1]:
        return 0
    upto = int(row[0])
    conn.execute(
        f"INSERT INTO {FTS_TABLE}(rowid, prompt, raw) SELECT b.traj_rowid, b.prompt, b.raw"
        f" FROM {PENDING_TABLE} p JOIN trajectory_bodies b ON b.traj_rowid = p.traj_rowid"
        " WHERE p.traj_rowid <= ?",
        (upto,),
    )
    conn.execute(f"DELETE FROM {PENDING_TABLE} WHERE traj_rowid <= ?", (upto,))
    return int(row[1])


def progress_reporter(
    total: int, *, desc: str = "building the search index", minimum: int = _PROGRESS_MIN_ROWS
) -> Callable[[int, int], None]:
    """Return ``update(done, total)`` drawing a bar on stderr (``total < 0``: finished).

    Nothing is drawn when ``total < minimum``; a tqdm bar when tqdm is installed, else a line.
    """
    if total < minimum:
        return lambda done, total: None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        bar = tqdm(total=total, desc=f"workbench: {desc}", unit="traj")

        def update(done: int, of: int) -> None:
            if of < 0:
                bar.close()
            else:
                bar.update(done - bar.n)

        return update

    def line(done: int, of: int) -> None:
        end = "\n" if of < 0 else ""
        sys.stderr.write(f"\rworkbench: {desc}: {done:,}/{total:,}{end}")
        sys.stderr.flush()

    return line


def like_pattern(text: str) -> str:
    """Return the ``LIKE ... ESCAPE '\\'`` pattern matching ``text`` as a literal substring."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


_MAX_TRIGRAMS = 24
"""Most trigrams put in one index query (evenly spread over a long text): candidates only."""


def match_expression(text: str) -> str | None:
    """Return the FTS5 query selecting candidate rows for ``text``, or ``None`` under 3 chars.

    Every trigram of ``text`` becomes a quoted FTS5 string (``"`` doubled), joined with ``AND``:
    no character of the user's text is ever FTS5 syntax. A long text contributes at most 24
    trigrams spread along it (a wider candidate set; ``LIKE`` decides anyway).
    """
    if len(text) < MIN_INDEXED_CHARS:
        return None
    grams = list(dict.fromkeys(text[i : i + 3] for i in range(len(text) - 2)))
    if len(grams) > _MAX_TRIGRAMS:
        step = (len(grams) - 1) / (_MAX_TRIGRAMS - 1)
        grams = [grams[round(i * step)] for i in range(_MAX_TRIGRAMS)]
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


_VOCAB = "temp.wb_trigram_vocab"
"""A per-connection ``fts5vocab`` view of the index: how many rows hold each trigram."""


def rarest_trigram(conn: sqlite3.Connection, text: str) -> tuple[str, int] | None:
    """Return ``(trigram, rows holding it)`` for the rarest trigram of ``text`` in the index.

    Read from FTS5's own term statistics (one b-tree seek per trigram, no doclist decoded).
    ``None`` when ``text`` is under three characters or none of its (case-folded) trigrams is
    in the index's vocabulary.
    """
    if len(text) < MIN_INDEXED_CHARS:
        return None
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {_VOCAB} USING fts5vocab(main, {FTS_TABLE}, row)"
    )
    best: tuple[str, int] | None = None
    folded = text.lower()  # the trigram tokenizer folds case (remove_diacritics=0)
    for gram in dict.fromkeys(folded[i : i + 3] for i in range(len(folded) - 2)):
        row = conn.execute(f"SELECT doc FROM {_VOCAB} WHERE term = ?", (gram,)).fetchone()
        if row is not None and (best is None or int(row[0]) < best[1]):
            best = (gram, int(row[0]))
    return best


LIKE_SQL = "(b.raw LIKE ? ESCAPE '\\' OR b.prompt LIKE ? ESCAPE '\\')"
"""What decides a match, on bodies ``b``; both parameters are :func:`like_pattern` of the text."""

_CANDIDATES_SQL = (
    f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
    f" UNION ALL SELECT traj_rowid FROM {PENDING_TABLE}"
)
"""The candidate rowids for one ``MATCH ?``: the index's hits and the pending rows."""


def search_clause(text: str, *, indexed: bool) -> tuple[str, list[Any]]:
    """Return ``(sql, params)`` for ``search=text`` over ``trajectories t`` joined to bodies ``b``.

    With ``indexed`` and three or more characters, the index (plus the pending rows it has not
    caught up with) narrows the rows first; ``LIKE`` on ``b.raw`` / ``b.prompt`` always decides
    (see the module's docstring).
    """
    pattern = like_pattern(text)
    expression = match_expression(text) if indexed else None
    if expression is None:
        return LIKE_SQL, [pattern, pattern]
    return f"t.rowid IN ({_CANDIDATES_SQL}) AND {LIKE_SQL}", [expression, pattern, pattern]


def index_driven_source(text: str) -> tuple[str, list[Any]] | None:
    """Return ``(FROM ... WHERE ...)`` SQL reading the index's hits for ``text`` in rowid order.

    For a page in insertion order: the hits stream from FTS5 already sorted, so ``LIMIT 20``
    stops after the first 20 confirmed rows instead of collecting every candidate first (a term
    in most of a million rows: under 1 ms instead of about 150). Tables are ``f`` (the index),
    ``t`` and ``b``; ``None`` under three characters. Only valid with no rows pending.
    """
    expression = match_expression(text)
    if expression is None:
        return None
    pattern = like_pattern(text)
    return (
        f"{FTS_TABLE} f CROSS JOIN trajectories t ON t.rowid = f.rowid"
        " CROSS JOIN trajectory_bodies b ON b.traj_rowid = t.rowid"
        f" WHERE f.{FTS_TABLE} MATCH ? AND {LIKE_SQL}",
        [expression, pattern, pattern],
    )


# -- snippets -----------------------------------------------------------------------------------
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class Snippet:
    """Where a search text was found in a trajectory, with the text around it.

    Plain strings, never markup: whoever shows a snippet escapes ``before``, ``match`` and
    ``after`` itself (model output is untrusted).

    Attributes
    ----------
    field
        ``"thinking"``, ``"answer"`` or ``"output"`` (other text of ``raw``: tags, untagged
        output), or ``"prompt"`` (the prompt's messages).
    start, end
        Character offsets of the match: into :attr:`Trajectory.raw` for the output fields, into
        the matched message's content for ``"prompt"`` (into the stored prompt JSON when the
        match spans the JSON itself, e.g. a quote).
    before, match, after
        The match and up to ``context`` characters either side (``before``/``after`` start or end
        with ``"…"`` when cut).
    """

    field: str
    start: int
    end: int
    before: str
    match: str
    after: str

    def to_dict(self) -> dict[str, Any]:
        """Return the snippet as a JSON-ready dict."""
        return asdict(self)


def _find(haystack: str, needle: str) -> int:
    """Position of ``needle`` in ``haystack``, ASCII case ignored (as SQLite's LIKE), or -1."""
    return haystack.translate(_ASCII_LOWER).find(needle.translate(_ASCII_LOWER))


def _cut(text: str, start: int, end: int, context: int, field: str) -> Snippet:
    left = max(0, start - context)
    right = min(len(text), end + context)
    before = ("…" if left > 0 else "") + text[left:start]
    after = text[end:right] + ("…" if right < len(text) else "")
    return Snippet(field, start, end, before, text[start:end], after)


def snippet(
    text: str,
    *,
    raw: str,
    prompt_contents: Sequence[str],
    prompt_json: str,
    thinking_span: tuple[int, int],
    answer_span: tuple[int, int],
    context: int = 60,
) -> Snippet | None:
    """Return the first match of ``text`` (output first, then the prompt), or ``None``.

    Matching is that of ``search=``: a literal substring, ASCII letters case-insensitive.
    """
    if not text:
        return None
    at = _find(raw, text)
    if at >= 0:
        end = at + len(text)
        field = "output"
        if thinking_span[0] <= at and end <= thinking_span[1]:
            field = "thinking"
        elif answer_span[0] <= at and end <= answer_span[1]:
            field = "answer"
        return _cut(raw, at, end, context, field)
    for content in prompt_contents:
        at = _find(content, text)
        if at >= 0:
            return _cut(content, at, at + len(text), context, "prompt")
    at = _find(prompt_json, text)
    if at >= 0:
        return _cut(prompt_json, at, at + len(text), context, "prompt")
    return None


def prompt_contents(prompt_json: str) -> list[str]:
    """Return the text content of each stored prompt message (best effort; ``[]`` if unreadable)."""
    import json

    try:
        messages = json.loads(prompt_json)
    except ValueError:
        return []
    if isinstance(messages, str):
        return [messages]
    out: list[str] = []
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            out.append(content)
    return out


def escape_html(text: str) -> str:
    """Escape text for HTML (``&``, ``<``, ``>``, quotes)."""
    import html

    return html.escape(text, quote=True)


def snippet_html(s: Snippet) -> str:
    """Return ``s`` as escaped HTML with the match in ``<mark>`` (for static previews)."""
    return (
        f"{escape_html(s.before)}<mark>{escape_html(s.match)}</mark>{escape_html(s.after)}"
    ).replace("\n", " ")


_WS = re.compile(r"\s+")


def one_line(s: Snippet) -> tuple[str, str, str]:
    """Return ``(before, match, after)`` with whitespace runs collapsed (for terminals)."""
    return (_WS.sub(" ", s.before), _WS.sub(" ", s.match), _WS.sub(" ", s.after))
