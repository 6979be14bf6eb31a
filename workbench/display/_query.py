"""Query results that display themselves: :func:`browse` → :class:`QueryResult`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from workbench.display._renderers import mimebundle, renderers

if TYPE_CHECKING:
    from workbench.store.store import Store
    from workbench.trajectory import Trajectory

__all__ = ["QueryResult", "browse"]


class QueryResult:
    """A query over a store that displays as a :class:`~workbench.widgets.StatsPanel`.

    Parameters
    ----------
    store
        The store queried.
    frame
        ``store.list_trajectories(...)`` output (needs an ``id`` column).
    """

    def __init__(self, store: Store, frame: pl.DataFrame) -> None:
        self.store = store
        self.frame = frame

    @property
    def ids(self) -> list[str]:
        """Ids of the trajectories in the result."""
        return [str(i) for i in self.frame["id"].to_list()]

    def trajectories(self) -> list[Trajectory]:
        """Read the trajectories."""
        return [self.store.get(i) for i in self.ids]

    def widget(self, **kwargs: Any) -> Any:
        """Return the live widget of the result (a StatsPanel over its traces)."""
        factory = renderers.widget_factory("query")
        if factory is None:
            raise ImportError(
                "the widgets need anywidget: pip install 'thinking-workbench[widgets]'"
            )
        return factory(self, **kwargs)

    def __len__(self) -> int:
        return self.frame.height

    def __repr__(self) -> str:
        return f"QueryResult({self.frame.height} trajectories in {self.store.path})"

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return mimebundle(self, "query")


def browse(store: Store, *, limit: int = 1000, **filters: Any) -> QueryResult:
    """Query a store (``store.list`` filters) and return a result that displays as a StatsPanel.

    Examples
    --------
    >>> import workbench as wb
    >>> store = wb.Store(":memory:")
    >>> len(wb.browse(store, model="QwQ-32B"))
    0
    """
    return QueryResult(store, store.list_trajectories(limit=limit, **filters))
