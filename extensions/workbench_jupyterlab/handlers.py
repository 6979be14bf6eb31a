"""HTTP endpoints under ``{base_url}workbench/api/``; JSON in and out.

``GET  info``                              store summary for the panel's filters
``GET  trajectories?model=&status=&tag=&search=&grade=&grade_min=&grade_max=&sort=&order=&offset=&limit=&count=``
                                           one page of the list (``total`` when ``count=1``)
``GET  trajectories/{id}``                 one trajectory: payload, segments, hits, annotations
``POST trajectories/{id}/annotations``     ``{"kind", "value", "segment_id"}``: append one

Every handler is an :class:`~jupyter_server.base.handlers.APIHandler` behind
``@tornado.web.authenticated`` (and Jupyter's authorizer): requests need the server's token or its
login cookie, and a cookie-authenticated POST needs the XSRF header, as the server enforces for
its own API. Errors answer ``{"message", "reason"}`` with 400 (bad request), 404 (no such
trajectory, segment or store) or 409 (the store cannot be opened). Store calls run on worker
threads, off the server's event loop.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from workbench._validate import strict_dumps
from workbench.documents import AnnotationReply, StoreSummary
from workbench.errors import NotFoundError, StoreError, ValidationError
from workbench.store.store import Store
from workbench_jupyterlab.api import (
    AnnotationRequest,
    ListQuery,
    RequestError,
    add_annotation,
    list_page,
    parse_body,
    store_summary,
    trajectory_document,
)
from workbench_jupyterlab.config import StoreAccess, StoreMissingError

__all__ = [
    "AnnotationsHandler",
    "InfoHandler",
    "TrajectoriesHandler",
    "TrajectoryHandler",
    "handlers",
]

T = TypeVar("T")

MAX_BODY = 100_000
CHUNK = 256 * 1024
"""Bytes written per flush of a large answer."""
AUTH_RESOURCE = "workbench"


class _Base(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def access(self) -> StoreAccess:
        access: StoreAccess = self.settings["workbench_store"]
        return access

    @property
    def taxonomy(self) -> str:
        return str(self.settings["workbench_taxonomy"])

    def _error(self, status: int, message: str, reason: str) -> None:
        self.set_status(status)
        self.finish(json.dumps({"message": message, "reason": reason}))

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run ``fn`` on a worker thread; answer a JSON error (and return None) if it raises."""
        try:
            return await IOLoop.current().run_in_executor(
                self.access.executor, functools.partial(fn, *args, **kwargs)
            )
        except RequestError as exc:
            self._error(
                exc.status, exc.message, "bad_request" if exc.status == 400 else "not_found"
            )
        except StoreMissingError as exc:
            self._error(404, str(exc), "store_missing")
        except NotFoundError as exc:
            self._error(404, str(exc), "not_found")
        except ValidationError as exc:
            self._error(400, str(exc), "invalid")
        except StoreError as exc:
            self._error(409, str(exc), "store_error")
        except UnicodeError:  # text that cannot be stored or looked up (a lone surrogate)
            self._error(400, "the request holds text that is not valid Unicode", "bad_request")
        return None

    async def _answer(
        self, fn: Callable[..., Mapping[str, Any]], *args: Any, status: int = 200, **kwargs: Any
    ) -> None:
        """Run ``fn`` on a worker thread, encode its answer there, and stream it in chunks.

        Encoding (strict JSON: a NaN read from an old store is sent as ``null``) happens off the
        event loop, and a body of several MB goes out in :data:`CHUNK` pieces with a flush after
        each, so one large trajectory never holds up the other requests.
        """

        def work() -> bytes:
            return strict_dumps(fn(*args, **kwargs)).encode("utf-8")

        data = await self._run(work)
        if data is None or self._finished:
            return
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "application/json; charset=UTF-8")
        for start in range(0, len(data), CHUNK):
            self.write(data[start : start + CHUNK])
            if len(data) > CHUNK:
                await self.flush()
        self.finish()


class InfoHandler(_Base):
    """``GET workbench/api/info``: the store's summary (path, counts, models, statuses, tags)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer the summary."""
        access = self.access

        taxonomy = self.taxonomy

        def work() -> StoreSummary:
            return store_summary(access.reader(), shown_path=access.shown, taxonomy=taxonomy)

        await self._answer(work)


class TrajectoriesHandler(_Base):
    """``GET workbench/api/trajectories``: one page of the filtered, sorted list."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        """Answer one page."""
        args = {
            k: [v.decode("utf-8", "replace") for v in vs]
            for k, vs in self.request.arguments.items()
        }
        try:
            query = ListQuery.from_args(args)
        except RequestError as exc:
            self._error(exc.status, exc.message, "bad_request")
            return
        access = self.access
        await self._answer(lambda: list_page(access.reader(), query))


class TrajectoryHandler(_Base):
    """``GET workbench/api/trajectories/{id}``: one trajectory with segments and annotations."""

    @web.authenticated
    @authorized
    async def get(self, trajectory_id: str) -> None:
        """Answer the trajectory's document."""
        access = self.access
        taxonomy = self.taxonomy
        await self._answer(
            lambda: trajectory_document(access.reader(), trajectory_id, taxonomy=taxonomy)
        )


class AnnotationsHandler(_Base):
    """``POST workbench/api/trajectories/{id}/annotations``: append one annotation."""

    @web.authenticated
    @authorized
    async def post(self, trajectory_id: str) -> None:
        """Validate the body, write the annotation durably, answer it with the new state."""
        if len(self.request.body) > MAX_BODY:
            self._error(413, f"the body is larger than {MAX_BODY} bytes", "too_large")
            return
        try:
            request = AnnotationRequest.from_json(parse_body(self.request.body))
        except RequestError as exc:
            self._error(exc.status, exc.message, "bad_request")
            return
        access = self.access
        taxonomy = self.taxonomy
        author = str(self.settings["workbench_author"])

        def work() -> AnnotationReply:
            store: Store = access.writer()
            return add_annotation(store, trajectory_id, request, author=author, taxonomy=taxonomy)

        await self._answer(work, status=201)


def handlers(base_url: str) -> list[tuple[str, type[APIHandler]]]:
    """Return the URL patterns and handlers under ``{base_url}workbench/api/``."""
    api = url_path_join(base_url, "workbench", "api")
    tid = r"(?P<trajectory_id>[^/]+)"
    return [
        (url_path_join(api, "info"), InfoHandler),
        (url_path_join(api, "trajectories"), TrajectoriesHandler),
        (url_path_join(api, "trajectories", tid), TrajectoryHandler),
        (url_path_join(api, "trajectories", tid, "annotations"), AnnotationsHandler),
    ]
