"""SQLite schema of the store and its migrations.

The schema version lives in ``PRAGMA user_version``. Each migration moves the database from version
``i`` to ``i + 1`` inside one transaction; a database written by a newer workbench is refused rather
than guessed at.

Layout choices, for speed at 100k+ trajectories:

* ``trajectories`` holds the small, filterable columns only, so listing and filtering never touch
  the large texts; ``trajectory_bodies`` holds prompt, raw text and other JSON, keyed by the same
  rowid; ``token_arrays`` holds per-token arrays as little-endian binary blobs.
* ``annotations`` is append-only (an ``AUTOINCREMENT`` sequence gives the history order).
* ``attention`` keeps constraint-attention results (float32 ``[tokens, layers, constraints]``
  blobs), one per trajectory, model and constraint set.
* ``segment_attention`` keeps segment-to-segment attention (the lower triangle of float32
  ``[layers, heads, S, S]``, packed), one per trajectory and model.
* ``dedup_key`` makes imports idempotent: ``source`` + ``source_id`` when the record had an id,
  a content hash when it did not, the trajectory id for generated trajectories.
* ``trajectory_fts`` (version 7) is the FTS5 trigram index of each body's ``prompt`` and ``raw``,
  kept in sync by triggers (:mod:`workbench.store._search`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

from workbench.store._listing import create_listing_cache
from workbench.store._search import create_search_index

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "Migration", "migrate"]

Migration = Callable[[sqlite3.Connection], None]

_V1 = """
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE trajectories (
    id             TEXT NOT NULL UNIQUE,
    dedup_key      TEXT NOT NULL UNIQUE,
    prompt_key     TEXT NOT NULL,
    source         TEXT,
    source_id      TEXT,
    model          TEXT,
    backend        TEXT,
    status         TEXT NOT NULL,
    finish_reason  TEXT,
    think_format   TEXT NOT NULL,
    thinking_start INTEGER NOT NULL,
    thinking_end   INTEGER NOT NULL,
    answer_start   INTEGER NOT NULL,
    answer_end     INTEGER NOT NULL,
    n_tokens       INTEGER,
    gold           TEXT,
    grade          REAL,
    tags           TEXT NOT NULL DEFAULT '[]',
    metadata       TEXT NOT NULL DEFAULT '{}',
    parent_id      TEXT,
    created_at     REAL NOT NULL,
    updated_at     REAL NOT NULL
);
CREATE INDEX trajectories_model ON trajectories(model);
CREATE INDEX trajectories_prompt_key ON trajectories(prompt_key);
CREATE TABLE trajectory_bodies (
    traj_rowid  INTEGER PRIMARY KEY,
    prompt      TEXT NOT NULL,
    raw         TEXT NOT NULL,
    constraints TEXT NOT NULL,
    sampling    TEXT NOT NULL,
    timings     TEXT NOT NULL
);
CREATE TABLE token_arrays (
    traj_rowid INTEGER PRIMARY KEY,
    n          INTEGER NOT NULL,
    ids        BLOB NOT NULL,
    offsets    BLOB,
    logprobs   BLOB,
    entropies  BLOB
);
CREATE TABLE segments (
    id            TEXT PRIMARY KEY,
    trajectory_id TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    char_start    INTEGER NOT NULL,
    char_end      INTEGER NOT NULL,
    token_start   INTEGER,
    token_end     INTEGER,
    labels        TEXT NOT NULL DEFAULT '[]',
    label_source  TEXT,
    confidence    REAL,
    keyword_hits  TEXT NOT NULL DEFAULT '[]',
    segmenter     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX segments_trajectory ON segments(trajectory_id, idx);
CREATE TABLE annotations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    trajectory_id TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
    segment_id    TEXT,
    kind          TEXT NOT NULL,
    value         TEXT,
    author        TEXT NOT NULL,
    created_at    REAL NOT NULL
);
CREATE INDEX annotations_trajectory ON annotations(trajectory_id, id);
CREATE TABLE pairs (
    id          TEXT PRIMARY KEY,
    prompt_key  TEXT NOT NULL,
    chosen_id   TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
    rejected_id TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
    strategy    TEXT NOT NULL,
    provenance  TEXT NOT NULL DEFAULT '{}',
    created_at  REAL NOT NULL,
    UNIQUE (chosen_id, rejected_id, strategy)
);
"""


def _v1(conn: sqlite3.Connection) -> None:
    for statement in _V1.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v2(conn: sqlite3.Connection) -> None:
    """Grades become objects: ``grade`` keeps the score, plus ``correct``, ``grader``, details."""
    conn.execute("ALTER TABLE trajectories ADD COLUMN correct INTEGER")
    conn.execute("ALTER TABLE trajectories ADD COLUMN grader TEXT")
    conn.execute("ALTER TABLE trajectories ADD COLUMN grade_details TEXT")
    conn.execute("UPDATE trajectories SET grader = 'unspecified' WHERE grade IS NOT NULL")
    conn.execute("CREATE INDEX trajectories_correct ON trajectories(correct)")


def _v3(conn: sqlite3.Connection) -> None:
    """Constraint attention results: per generated token, layer and constraint, one blob."""
    conn.execute(
        """CREATE TABLE attention (
            id            TEXT PRIMARY KEY,
            trajectory_id TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
            model         TEXT NOT NULL,
            constraints   TEXT NOT NULL,
            n_tokens      INTEGER NOT NULL,
            n_layers      INTEGER NOT NULL,
            mass          BLOB NOT NULL,
            offsets       BLOB NOT NULL,
            meta          TEXT NOT NULL DEFAULT '{}',
            created_at    REAL NOT NULL,
            UNIQUE (trajectory_id, model, constraints)
        )"""
    )


def _v4(conn: sqlite3.Connection) -> None:
    """Label provenance: how a segment's labels were made, and where an annotation came from.

    ``segments.label_meta`` (JSON) records the labeller (the LLM labeller's model, backend and
    prompt); ``annotations.source`` (JSON) records what a hand label was taken from, e.g. the
    model suggestion a person accepted.
    """
    conn.execute("ALTER TABLE segments ADD COLUMN label_meta TEXT")
    conn.execute("ALTER TABLE annotations ADD COLUMN source TEXT")


def _v5(conn: sqlite3.Connection) -> None:
    """Segment-to-segment attention: per layer, head and pair of segments, one blob.

    A table of its own rather than a kind column on ``attention``: the array has another shape
    and meaning, the key is (trajectory, model) rather than (trajectory, model, constraints), and
    the segments (ids, spans, labels) are part of the result.
    """
    conn.execute(
        """CREATE TABLE segment_attention (
            id            TEXT PRIMARY KEY,
            trajectory_id TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
            model         TEXT NOT NULL,
            n_segments    INTEGER NOT NULL,
            n_layers      INTEGER NOT NULL,
            n_heads       INTEGER NOT NULL,
            segments      TEXT NOT NULL,
            mass          BLOB NOT NULL,
            meta          TEXT NOT NULL DEFAULT '{}',
            created_at    REAL NOT NULL,
            UNIQUE (trajectory_id, model)
        )"""
    )


def _v6(conn: sqlite3.Connection) -> None:
    """Counterfactual segment importance: every sampled continuation, stored as it finishes.

    ``key`` names the experiment (model, mode, sampling, budgets, grader: see
    :func:`workbench.analysis.importance.experiment_key`), so a run with more samples or a resumed
    run adds to the same rows; ``position`` is the index of the boundary the continuation was
    sampled from.
    """
    conn.execute(
        """CREATE TABLE importance_samples (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            trajectory_id TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
            key           TEXT NOT NULL,
            position      INTEGER NOT NULL,
            boundary      INTEGER NOT NULL,
            sample        INTEGER NOT NULL,
            seed          INTEGER,
            text          TEXT NOT NULL,
            answer        TEXT NOT NULL,
            answer_key    TEXT,
            correct       INTEGER NOT NULL,
            first_segment TEXT NOT NULL,
            n_tokens      INTEGER NOT NULL,
            elapsed_s     REAL NOT NULL,
            created_at    REAL NOT NULL,
            UNIQUE (trajectory_id, key, position, sample)
        )"""
    )
    conn.execute(
        """CREATE TABLE importance_experiments (
            key           TEXT NOT NULL,
            trajectory_id TEXT NOT NULL REFERENCES trajectories(id) ON DELETE CASCADE,
            model         TEXT NOT NULL,
            config        TEXT NOT NULL,
            created_at    REAL NOT NULL,
            PRIMARY KEY (trajectory_id, key)
        )"""
    )


def _v7(conn: sqlite3.Connection) -> None:
    """Full-text search: the FTS5 trigram index of prompts and outputs, and its triggers.

    Builds the index of every stored trajectory in batches (a progress bar for large stores),
    inside the migration's one transaction: a crash leaves the store at version 6, intact.
    """
    create_search_index(conn)


def _v8(conn: sqlite3.Connection) -> None:
    """Create the listing cache: columnar chunks of the listing and triggers keeping them exact.

    Creates empty tables (see :mod:`workbench.store._listing`); the chunks are written later, by
    ``Store.cache_listing()`` or a large listing.
    """
    create_listing_cache(conn)


MIGRATIONS: tuple[Migration, ...] = (_v1, _v2, _v3, _v4, _v5, _v6, _v7, _v8)
"""``MIGRATIONS[i]`` moves a database from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Bring the database up to ``len(migrations)``; return the version found before.

    Must be called inside a write transaction (``BEGIN IMMEDIATE``) so that two processes opening
    a new store at once do not both create it.
    """
    (current,) = conn.execute("PRAGMA user_version").fetchone()
    for version in range(current, len(migrations)):
        migrations[version](conn)
        conn.execute(f"PRAGMA user_version = {version + 1}")
    return int(current)
