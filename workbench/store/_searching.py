"""``Store.search``: one page of a text search, its total, and a snippet around each hit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workbench.errors import ValidationError
from workbench.store._search import (
    FTS_TABLE,
    Snippet,
    like_pattern,
    match_expression,
    prompt_contents,
    snippet,
)
from workbench.store._trajectories import TrajectoryTables
from workbench.store.query import build_where

__all__ = ["EXACT_COUNT_LIMIT", "SearchResult", "TextSearch"]

EXACT_COUNT_LIMIT = 5_000
"""Most index candidates a search confirms one by one to count its total exactly.

Above it the total is estimated (:attr:`SearchResult.total_exact` is ``False``): the number of
candidates the index finds, times the share of the first :data:`ESTIMATE_SAMPLE` candidates that
really match. Confirming a candidate reads its whole text, so an exact count of a term found in
most of a million trajectories would read every text (seconds, as the old scan did).
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
        expression = match_expression(query) if self._search_indexed() else None
        if expression is None:  # no index, or too short for it: a scan gives the exact count
            return self.count(search=query, **filters), True
        if filters:
            where, params, _ = build_where(filters)
            candidates = int(
                self._read(
                    f"SELECT count(*) FROM trajectories t WHERE t.rowid IN (SELECT rowid FROM"
                    f" {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?) AND {where}",
                    [expression, *params],
                )[0][0]
            )
        else:
            candidates = int(
                self._read(
                    f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?", [expression]
                )[0][0]
            )
        if candidates <= EXACT_COUNT_LIMIT:
            return (self.count(search=query, **filters) if candidates else 0), True
        # confirm the first ESTIMATE_SAMPLE candidates (rowid order) and scale their share
        where, params, _ = build_where(filters)
        pattern = like_pattern(query)
        looked, matched = self._read(
            "SELECT count(*), coalesce(sum(CASE WHEN b.raw LIKE ? ESCAPE '\\' OR b.prompt LIKE ?"
            f" ESCAPE '\\' THEN 1 ELSE 0 END), 0) FROM (SELECT rowid AS r FROM {FTS_TABLE} WHERE"
            f" {FTS_TABLE} MATCH ? ORDER BY rowid LIMIT ?) AS c JOIN trajectories t ON t.rowid = c.r"
            f" JOIN trajectory_bodies b ON b.traj_rowid = c.r WHERE {where}",
            [pattern, pattern, expression, ESTIMATE_SAMPLE, *params],
        )[0]
        if not looked:  # none of the first candidates passes the other filters: count them all
            return self.count(search=query, **filters), True
        return round(candidates * int(matched) / int(looked)), False
