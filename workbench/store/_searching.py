"""``Store.search``: one page of a text search, its total, and a snippet around each hit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ValidationError
from workbench.store._search import (
    BUILD_BATCH,
    FTS_TABLE,
    LIKE_SQL,
    PENDING_TABLE,
    Snippet,
    index_pending,
    like_pattern,
    match_expression,
    pending_rows,
    progress_reporter,
    prompt_contents,
    rarest_trigram,
    snippet,
)
from workbench.store._trajectories import TrajectoryTables
from workbench.store.query import build_where

__all__ = ["EXACT_COUNT_LIMIT", "SearchResult", "TextSearch"]

EXACT_COUNT_LIMIT = 5_000
"""Most index candidates a search confirms one by one to count its total exactly.

Above it the total is estimated (:attr:`SearchResult.total_exact` is ``False``): the number of
rows holding the text's rarest trigram (read from FTS5's term statistics), times the share of the
first :data:`ESTIMATE_SAMPLE` of those rows that really match (every filter applied), plus the
rows not indexed yet, counted exactly. Confirming a candidate reads its whole text, so an exact
count of a term found in most of a million trajectories would read every text (seconds, as the
old scan did). An estimate is never below the rows a page has already found.
"""

ESTIMATE_SAMPLE = 2_000
"""Candidates confirmed to estimate a large total."""

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One page of :meth:`Store.search`.

    Attributes
    ----------
    query
        The search text.
    ids
        Trajectory ids of the page, in insertion order (or as ``order_by`` says).
    snippets
        One :class:`~workbench.store._search.Snippet` per id (``None`` only if the row changed
        since the page was read).
    total
        Matching trajectories in the whole store (every filter applied); ``None`` when not
        counted (``count=False``).
    total_exact
        ``False`` when ``total`` is an estimate (see :data:`EXACT_COUNT_LIMIT`).
    offset, limit
        The page asked for.
    """

    query: str
    ids: list[str]
    snippets: list[Snippet | None]
    total: int | None
    total_exact: bool
    offset: int
    limit: int
    filters: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``hits``: ``{"id", "snippet"}`` each)."""
        return {
            "query": self.query,
            "total": self.total,
            "total_exact": self.total_exact,
            "offset": self.offset,
            "limit": self.limit,
            "hits": [
                {"id": tid, "snippet": None if s is None else s.to_dict()}
                for tid, s in zip(self.ids, self.snippets, strict=True)
            ],
        }

    def __len__(self) -> int:
        return len(self.ids)


class TextSearch(TrajectoryTables):
    """The text-search half of :class:`~workbench.store.Store`."""

    def search(
        self,
        query: str,
        *,
        limit: int = 20,
        offset: int = 0,
        order_by: str = "created",
        descending: bool = False,
        count: bool = True,
        context: int = 60,
        **filters: Any,
    ) -> SearchResult:
        """Find trajectories whose output or prompt contains ``query``; a page with snippets.

        Matching is that of ``list_trajectories(search=query)`` (see
        :data:`workbench.store.query.FILTERS`): a literal substring, ASCII case ignored; quotes,
        ``*``, ``-`` and ``AND`` are plain text.

        Parameters
        ----------
        query
            The text to find (non-empty).
        limit, offset
            The page.
        order_by, descending
            As :meth:`list_trajectories`.
        count
            Also count every match (:attr:`SearchResult.total`); large totals are estimated,
            see :data:`EXACT_COUNT_LIMIT`.
        context
            Characters of text kept either side of each match in the snippets.
        **filters
            Further filters of :meth:`list_trajectories` (``model=``, ``tags=``, ...).

        Returns
        -------
        SearchResult
            ``ids``, a ``snippets`` entry per id, ``total`` and ``total_exact``.

        Examples
        --------
        >>> import workbench as wb
        >>> store = wb.Store(":memory:")
        >>> _ = store.add(wb.Trajectory(prompt="2+2?", raw="<think>Wait, 2+2=4</think>4"))
        >>> hit = store.search("wait").snippets[0]
        >>> (hit.field, hit.before, hit.match, hit.after)
        ('thinking', '<think>', 'Wait', ', 2+2=4</think>4')
        """
        if not isinstance(query, str) or not query:
            raise ValidationError("search.query", f"give a non-empty text, got {query!r}")
        if "search" in filters:
            raise ValidationError("search.search", "give the text once, as the first argument")
        if isinstance(context, bool) or not isinstance(context, int) or context < 0:
            raise ValidationError("search.context", f"must be a non-negative integer: {context!r}")
        ids = self.list_trajectories(
            columns=["id"],
            limit=limit,
            offset=offset,
            order_by=order_by,
            descending=descending,
            search=query,
            **filters,
        )["id"].to_list()
        snippets = self._snippets(ids, query, context)
        total, exact = (None, True)
        if count:
            total, exact = self._search_total(query, filters)
            if not exact:  # an estimate is never below the rows already found
                total = max(total, offset + len(ids))
        return SearchResult(
            query=query,
            ids=ids,
            snippets=[snippets.get(tid) for tid in ids],
            total=total,
            total_exact=exact,
            offset=offset,
            limit=limit,
            filters=dict(filters),
        )

    @property
    def has_search_index(self) -> bool:
        """Whether the file has the full-text index (``False`` when this SQLite lacks FTS5)."""
        return self._search_indexed()

    @property
    def search_pending(self) -> int:
        """Trajectories stored since the search index last caught up (0 without an index).

        Searches are exact regardless (they scan these rows); :meth:`index_search` indexes them.
        """
        if not self._search_indexed():
            return 0
        with self._reading() as conn:
            return pending_rows(conn)

    def index_search(self, *, progress: bool | None = None) -> int:
        """Bring the full-text index up to date with every stored trajectory; return rows indexed.

        Adding trajectories does not index their text (trigram indexing costs about ten times
        what storing does), so that ingest stays fast; a search scans the rows not yet indexed.
        Call this after a large import (``workbench import`` does) to make searches fast again.
        Rows are indexed :data:`~workbench.store._search.BUILD_BATCH` per transaction: an
        interruption keeps what was indexed, and other writers are never blocked for long.

        Parameters
        ----------
        progress
            Show a progress bar on stderr; ``None`` (default) shows one for 20,000 rows or more.

        Examples
        --------
        >>> import workbench as wb
        >>> store = wb.Store(":memory:")
        >>> _ = store.add(wb.Trajectory(prompt="2+2?", raw="<think>Wait, 2+2=4</think>4"))
        >>> store.search_pending, store.index_search(), store.search_pending
        (1, 1, 0)
        """
        if not self._search_indexed():
            return 0
        total = self.search_pending
        if not total:
            return 0
        report = progress_reporter(
            total,
            desc="indexing trajectories for search",
            minimum=0 if progress else (20_000 if progress is None else total + 1),
        )
        done = 0
        while True:
            with self._write() as conn:
                n = index_pending(conn, BUILD_BATCH)
            if not n:
                break
            done += n
            report(min(done, total), total)
        report(done, -1)
        return done

    def search_snippets(
        self, ids: list[str], query: str, *, context: int = 60
    ) -> dict[str, Snippet]:
        """Return ``{id: snippet}`` for the given trajectories (those where ``query`` is found)."""
        return self._snippets(ids, query, context)

    def _snippets(self, ids: list[str], query: str, context: int) -> dict[str, Snippet]:
        out: dict[str, Snippet] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            rows = self._read(
                "SELECT t.id, b.raw, b.prompt, t.thinking_start, t.thinking_end, t.answer_start,"
                " t.answer_end FROM trajectories t JOIN trajectory_bodies b"
                f" ON b.traj_rowid = t.rowid WHERE t.id IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for tid, raw, prompt, ts, te, as_, ae in rows:
                found = snippet(
                    query,
                    raw=str(raw),
                    prompt_contents=prompt_contents(str(prompt)),
                    prompt_json=str(prompt),
                    thinking_span=(int(ts), int(te)),
                    answer_span=(int(as_), int(ae)),
                    context=context,
                )
                if found is not None:
                    out[str(tid)] = found
        return out

    def _search_total(self, query: str, filters: dict[str, Any]) -> tuple[int, bool]:
        """Return ``(total, exact)`` for ``query`` under ``filters``."""
        expression = match_expression(query) if self._search_ready() else None
        if expression is None:  # no index, or too short for it: a scan gives the exact count
            return self.count(search=query, **filters), True
        where, params, _ = build_where(filters)
        pattern = like_pattern(query)
        # CROSS JOIN keeps the candidates the outer loop (the planner would rather scan bodies)
        bodies = (
            " CROSS JOIN trajectories t ON t.rowid = c.r"
            " CROSS JOIN trajectory_bodies b ON b.traj_rowid = c.r"
        )
        # rows the index has not caught up with are counted exactly (the search scans them anyway)
        (pending,) = self._read(
            f"SELECT count(*) FROM (SELECT traj_rowid AS r FROM {PENDING_TABLE}) AS c{bodies}"
            f" WHERE {LIKE_SQL} AND {where}",
            [pattern, pattern, *params],
        )[0]
        hits = f"SELECT rowid AS r FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
        with self._reading() as conn:
            rare = rarest_trigram(conn, query)
        if rare is not None and rare[1] > EXACT_COUNT_LIMIT:
            # the rows holding the rarest trigram (FTS5's own statistics, no doclist read), times
            # the share of its first ESTIMATE_SAMPLE rows that match: no intersection of the
            # long doclists of common trigrams, which costs hundreds of ms at a million rows
            term, docs = rare
            looked, matched = self._read(
                f"SELECT count(*), coalesce(sum(CASE WHEN {LIKE_SQL} AND {where} THEN 1 ELSE 0 END), 0)"
                f" FROM ({hits} ORDER BY r LIMIT ?) AS c{bodies}",
                [pattern, pattern, *params, '"' + term.replace('"', '""') + '"', ESTIMATE_SAMPLE],
            )[0]
            if looked:
                return round(docs * int(matched) / int(looked)) + int(pending), False
        if filters:
            sql = f"SELECT count(*) FROM ({hits}) AS c CROSS JOIN trajectories t ON t.rowid = c.r"
            candidates = int(self._read(f"{sql} WHERE {where}", [expression, *params])[0][0])
        else:
            candidates = int(self._read(f"SELECT count(*) FROM ({hits})", [expression])[0][0])

        def exact() -> int:
            sql = f"SELECT count(*) FROM ({hits}) AS c{bodies} WHERE {LIKE_SQL} AND {where}"
            return int(self._read(sql, [expression, pattern, pattern, *params])[0][0])

        if candidates <= EXACT_COUNT_LIMIT:
            return (exact() if candidates else 0) + int(pending), True
        # confirm the first ESTIMATE_SAMPLE candidates (rowid order) and scale their share
        looked, matched = self._read(
            f"SELECT count(*), coalesce(sum(CASE WHEN {LIKE_SQL} THEN 1 ELSE 0 END), 0)"
            f" FROM ({hits} ORDER BY r LIMIT ?) AS c{bodies} WHERE {where}",
            [pattern, pattern, expression, ESTIMATE_SAMPLE, *params],
        )[0]
        if not looked:  # none of the first candidates passes the other filters: count them all
            return exact() + int(pending), True
        return round(candidates * int(matched) / int(looked)) + int(pending), False
