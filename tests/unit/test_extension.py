"""The JupyterLab extension's server half: request parsing, the store documents it answers, and the
real endpoints on a real Jupyter server (auth, XSRF, path confinement, paging, annotations).
Also: the committed front-end build matches its sources, and the viewer's keys are the
Annotator's."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import workbench as wb
from workbench.errors import NotFoundError

pytest.importorskip("jupyter_server", reason="the extension tests need jupyter_server (make setup)")
httpx = pytest.importorskip("httpx")

REPO = Path(__file__).resolve().parents[2]
EXT = REPO / "extensions"
if str(EXT) not in sys.path:  # a source checkout works before `pip install -e ./extensions`
    sys.path.insert(0, str(EXT))

from workbench_jupyterlab.api import (  # noqa: E402
    LIST_PARAMETERS,
    AnnotationRequest,
    ListQuery,
    RequestError,
    add_annotation,
    list_page,
    store_summary,
    trajectory_document,
)
from workbench_jupyterlab.config import (  # noqa: E402
    StoreAccess,
    StoreMissingError,
    WorkbenchExtension,
    shown_path,
)
from workbench_jupyterlab.testing import JupyterServer  # noqa: E402

BODY = "\n\n".join(
    f"Step {i}: {i} + {i} = {2 * i}. Wait, let me check that again. Hmm, yes {2 * i}."
    for i in range(12)
)
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


def make_store(path: Path, n: int = 60) -> list[str]:
    store = wb.Store(path)
    items = []
    for i in range(n):
        items.append(
            wb.Trajectory(
                prompt=f"Question {i}: what is {i} + {i}?" if i != 7 else f"Question 7 {XSS}",
                raw=f"<think>\nOkay.\n\n{BODY}\n</think>\n\nThe answer is {2 * i}.",
                model=("QwQ-32B", "DeepSeek-R1", "Qwen3-8B")[i % 3],
                status="complete" if i % 5 else "partial",
                grade=(i % 2 == 0) if i % 4 else None,
                tags=["math"] + (["hard"] if i % 6 == 0 else []),
                source="unit",
                source_id=f"q{i}",
            )
        )
    ids = store.add_trajectories(items).inserted
    store.close()
    return ids


@pytest.fixture
def store_file(tmp_path: Path) -> tuple[Path, list[str]]:
    path = tmp_path / "store.db"
    return path, make_store(path)


# -- request parsing ----------------------------------------------------------------------------
def q(**kwargs: object) -> dict[str, list[str]]:
    return {k: [str(x) for x in v] if isinstance(v, list) else [str(v)] for k, v in kwargs.items()}


def test_list_query_defaults_and_filters() -> None:
    assert ListQuery.from_args({}) == ListQuery()
    query = ListQuery.from_args(
        q(
            model=["a", "b"],
            status="complete",
            tag=["x", "y"],
            search="  wait ",
            grade="incorrect",
            grade_min="0.5",
            sort="grade",
            order="asc",
            offset=200,
            limit=50,
            count=1,
        )
    )
    assert query.filters == {
        "model": ["a", "b"],
        "status": ["complete"],
        "tags": ["x", "y"],
        "search": "wait",
        "correct": False,
        "grade": (0.5, None),
    }
    assert (query.sort, query.descending, query.offset, query.limit, query.count) == (
        "grade",
        False,
        200,
        50,
        True,
    )
    assert ListQuery.from_args(q(grade="ungraded")).filters == {"graded": False}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (q(path="/etc/passwd"), "unknown parameter 'path'"),
        (q(store="other.db"), "unknown parameter 'store'"),
        (q(limit=0), "out of range"),
        (q(limit=501), "out of range"),
        (q(offset=-1), "out of range"),
        (q(offset="x"), "not an integer"),
        (q(sort="raw"), "not one of"),
        (q(order="up"), "not 'asc' or 'desc'"),
        (q(grade="great"), "not one of"),
        (q(grade_min="nan"), "finite"),
        (q(grade_min=2, grade_max=1), "above"),
        (q(count="maybe"), "1/true"),
        ({"sort": ["id", "grade"]}, "given 2 times"),
        (q(search="x" * 501), "longer than"),
    ],
)
def test_list_query_refuses_bad_requests(args: dict[str, list[str]], message: str) -> None:
    with pytest.raises(RequestError, match=re.escape(message)) as info:
        ListQuery.from_args(args)
    assert info.value.status == 400


def test_list_query_tolerates_jupyterlab_cache_buster() -> None:
    assert ListQuery.from_args({"1718000000000": [""], "limit": ["3"]}).limit == 3
    with pytest.raises(RequestError):
        ListQuery.from_args({"1718000000000": ["/etc/passwd"]})


def test_annotation_request_validation() -> None:
    ok = AnnotationRequest.from_json({"kind": "rating", "value": 4, "segment_id": None})
    assert (ok.kind, ok.value, ok.segment_id) == ("rating", 4, None)
    assert AnnotationRequest.from_json({"kind": "verdict", "value": None}).value is None
    bad = [
        [],
        {"kind": "grade", "value": 1},
        {"kind": "rating", "value": "4"},
        {"kind": "rating", "value": True},
        {"kind": "verdict", "value": "great"},
        {"kind": "label", "value": ""},
        {"kind": "label", "value": [1]},
        {"kind": "note", "value": 3},
        {"kind": "note", "value": "x", "author": "someone else"},
        {"kind": "note", "value": "x", "segment_id": ""},
    ]
    for body in bad:
        with pytest.raises(RequestError):
            AnnotationRequest.from_json(body)


# -- documents over the store -------------------------------------------------------------------
def test_list_page_is_the_stores_list(store_file: tuple[Path, list[str]]) -> None:
    path, ids = store_file
    store = wb.Store(path, readonly=True)
    query = ListQuery.from_args(q(model="QwQ-32B", sort="created", order="asc", limit=5, count=1))
    page = list_page(store, query)
    expected = store.list_trajectories(columns=["id"], model="QwQ-32B", limit=5)["id"].to_list()
    assert [r["id"] for r in page["rows"]] == expected
    assert page["total"] == store.count(model="QwQ-32B") == 20
    assert page["rows"][0]["prompt"] == "Question 0: what is 0 + 0?"
    second = list_page(
        store, ListQuery.from_args(q(model="QwQ-32B", order="asc", offset=5, limit=5))
    )
    assert "total" not in second
    assert [r["id"] for r in second["rows"]] == store.list_trajectories(
        columns=["id"], model="QwQ-32B", limit=5, offset=5
    )["id"].to_list()
    newest = list_page(store, ListQuery.from_args(q(limit=1)))
    assert newest["rows"][0]["id"] == ids[-1]
    tagged = list_page(store, ListQuery.from_args(q(tag=["math", "hard"], count=1)))
    assert tagged["total"] == 10
    found = list_page(store, ListQuery.from_args(q(search="question 7 <img", count=1)))
    assert found["total"] == 1
    assert found["rows"][0]["prompt"].startswith("Question 7 <img")
    snip = found["rows"][0]["snippet"]  # plain text around the match; the front end escapes it
    assert snip["field"] == "prompt" and snip["match"].lower() == "question 7 <img"
    from workbench.documents import SearchSnippet  # the wire type mirrors the store's Snippet

    assert set(snip) == set(SearchSnippet.__annotations__)
    assert found["total_exact"] is True
    json.dumps(page, allow_nan=False)
    json.dumps(found, allow_nan=False)
    assert "snippet" not in page["rows"][0]  # no search, no snippet


def test_summary_and_document(store_file: tuple[Path, list[str]]) -> None:
    path, ids = store_file
    store = wb.Store(path, readonly=True)
    summary = store_summary(store, shown_path="store.db", taxonomy="dto")
    assert summary["total"] == 60
    assert summary["models"] == {"DeepSeek-R1": 20, "QwQ-32B": 20, "Qwen3-8B": 20}
    assert summary["tags"] == {"math": 60, "hard": 10}
    assert summary["labels"][0] == "problem_understanding"
    doc = trajectory_document(store, ids[3], taxonomy="dto")
    assert doc["payload"]["version"] == 1
    assert doc["payload"]["trajectory"]["id"] == ids[3]
    assert doc["payload"]["trajectory"]["tokens"] is None
    assert doc["segments_stored"] is False  # computed, not written: the store is read-only
    assert len(doc["segments"]) > 3
    assert {h["keyword"] for h in doc["hits"]} >= {"wait", "check"}
    assert doc["state"]["history"] == []
    with pytest.raises(NotFoundError):
        trajectory_document(store, "no-such-id", taxonomy="dto")


def test_add_annotation_stores_segments_and_returns_previous(
    store_file: tuple[Path, list[str]],
) -> None:
    path, ids = store_file
    store = wb.Store(path, create=False)
    tid = ids[5]
    segment = trajectory_document(store, tid, taxonomy="dto")["segments"][2]["id"]
    label = AnnotationRequest.from_json(
        {"kind": "label", "value": "planning", "segment_id": segment}
    )
    reply = add_annotation(store, tid, label, author="tester", taxonomy="dto")
    assert reply["previous"] is None
    assert reply["annotation"]["kind"] == "label"
    assert [s.id for s in store.get_segments(tid)][
        2
    ] == segment  # the computed segments were stored
    assert reply["state"]["segments"][2]["human_label"] == "planning"
    again = AnnotationRequest.from_json(
        {"kind": "label", "value": "computation", "segment_id": segment}
    )
    assert (
        add_annotation(store, tid, again, author="tester", taxonomy="dto")["previous"] == "planning"
    )
    rating = AnnotationRequest.from_json({"kind": "rating", "value": 4})
    state = add_annotation(store, tid, rating, author="tester", taxonomy="dto")["state"]
    assert state["rating"] == 4.0
    assert [a.kind for a in store.get_annotations(tid)] == ["label", "label", "rating"]
    assert {a.author for a in store.get_annotations(tid)} == {"tester"}
    wrong = AnnotationRequest.from_json({"kind": "note", "value": "x", "segment_id": "nope"})
    with pytest.raises(RequestError) as info:
        add_annotation(store, tid, wrong, author="tester", taxonomy="dto")
    assert info.value.status == 404


# -- configuration and store access -------------------------------------------------------------
def test_store_path_is_taken_from_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WORKBENCH_STORE", raising=False)
    ext = WorkbenchExtension()
    assert ext.resolved_store_path(tmp_path) == (tmp_path / "workbench.db").resolve()
    monkeypatch.setenv("WORKBENCH_STORE", "data/env.db")
    assert ext.resolved_store_path(tmp_path) == (tmp_path / "data" / "env.db").resolve()
    ext.store_path = "/abs/configured.db"
    assert ext.resolved_store_path(tmp_path) == Path("/abs/configured.db").resolve()
    assert shown_path(tmp_path / "a" / "b.db", tmp_path) == str(Path("a") / "b.db")
    assert shown_path(Path("/elsewhere/b.db"), tmp_path) == "/elsewhere/b.db"


def test_store_access_missing_replaced_and_readonly(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    access = StoreAccess(path, shown="s.db")
    try:
        with pytest.raises(StoreMissingError, match="no store at s.db"):
            access.reader()
        with pytest.raises(StoreMissingError):
            access.writer()
        assert not path.exists()  # never created by the extension
        make_store(path, n=3)
        first = access.reader()
        assert first.readonly and len(first) == 3
        assert access.reader() is first
        path.unlink()
        make_store(path, n=5)  # replaced: reopened
        assert len(access.reader()) == 5
    finally:
        access.close()


# -- the endpoints on a real server -------------------------------------------------------------
@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[JupyterServer, list[str]]]:
    root = tmp_path_factory.mktemp("server")
    (root / "data").mkdir()
    ids = make_store(root / "data" / "store.db")
    (root / "secret.db").write_bytes(b"not for the browser")
    with JupyterServer(root, store="data/store.db") as srv:
        yield srv, ids


def api(srv: JupyterServer, path: str) -> str:
    return srv.url(f"workbench/api/{path}")


def test_endpoints_refuse_unauthenticated_requests(server: tuple[JupyterServer, list[str]]) -> None:
    srv, ids = server
    for method, path in [
        ("GET", "info"),
        ("GET", "trajectories"),
        ("GET", f"trajectories/{ids[0]}"),
        ("POST", f"trajectories/{ids[0]}/annotations"),
    ]:
        for headers in ({}, {"Authorization": "token wrong"}):
            r = httpx.request(
                method, api(srv, path), headers=headers, json={"kind": "rating", "value": 1}
            )
            assert r.status_code == 403, (method, path, headers, r.text)
    with wb.Store(srv.root / "data" / "store.db", readonly=True) as store:
        assert store.get_annotations(ids[0]) == []


def test_cookie_sessions_need_the_xsrf_header(server: tuple[JupyterServer, list[str]]) -> None:
    srv, ids = server
    with httpx.Client(follow_redirects=True) as client:
        client.get(srv.url(f"lab?token={srv.token}"))
        assert client.get(api(srv, "info")).status_code == 200  # the login cookie alone reads
        url = api(srv, f"trajectories/{ids[1]}/annotations")
        refused = client.post(url, json={"kind": "verdict", "value": "chosen"})
        assert refused.status_code == 403 and "xsrf" in refused.text.lower()
        xsrf = client.cookies.get("_xsrf")
        assert xsrf
        ok = client.post(
            url, json={"kind": "verdict", "value": "chosen"}, headers={"X-XSRFToken": xsrf}
        )
        assert ok.status_code == 201, ok.text
    with wb.Store(srv.root / "data" / "store.db", readonly=True) as store:
        assert [(a.kind, a.value) for a in store.get_annotations(ids[1])] == [("verdict", "chosen")]


def test_list_pages_and_filters(server: tuple[JupyterServer, list[str]]) -> None:
    srv, ids = server
    r = httpx.get(api(srv, "trajectories"), params={"count": 1, "limit": 25}, headers=srv.auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    page = r.json()
    assert page["total"] == 60 and len(page["rows"]) == 25
    assert page["rows"][0]["id"] == ids[-1]  # newest first by default
    seen = [row["id"] for row in page["rows"]]
    for offset in (25, 50):
        more = httpx.get(
            api(srv, "trajectories"), params={"offset": offset, "limit": 25}, headers=srv.auth
        ).json()
        seen += [row["id"] for row in more["rows"]]
    assert seen == ids[::-1]
    r = httpx.get(
        api(srv, "trajectories"),
        params=[("model", "QwQ-32B"), ("status", "partial"), ("count", "1")],
        headers=srv.auth,
    )
    assert r.json()["total"] == 4
    info = httpx.get(api(srv, "info"), headers=srv.auth).json()
    assert info["store"] == str(Path("data") / "store.db") and info["total"] == 60


def test_requests_cannot_pick_another_file(server: tuple[JupyterServer, list[str]]) -> None:
    srv, _ids = server
    for params in ({"path": "secret.db"}, {"store": "../secret.db"}, {"db": "/etc/passwd"}):
        r = httpx.get(api(srv, "trajectories"), params=params, headers=srv.auth)
        assert r.status_code == 400 and r.json()["reason"] == "bad_request", r.text
    for tid in ("..%2F..%2Fsecret.db", "%2Fetc%2Fpasswd", "secret.db"):
        r = httpx.get(api(srv, f"trajectories/{tid}"), headers=srv.auth)
        assert r.status_code == 404 and r.json()["reason"] == "not_found", r.text
    r = httpx.get(api(srv, "info"), params={"path": "secret.db"}, headers=srv.auth)
    assert r.json()["store"] == str(Path("data") / "store.db")


def test_bad_input_gets_clear_json_errors(server: tuple[JupyterServer, list[str]]) -> None:
    srv, ids = server
    r = httpx.get(api(srv, "trajectories"), params={"limit": 10_000}, headers=srv.auth)
    assert r.status_code == 400 and "out of range" in r.json()["message"]
    url = api(srv, f"trajectories/{ids[2]}/annotations")
    r = httpx.post(url, content=b"{not json", headers=srv.auth)
    assert r.status_code == 400 and r.json()["message"].startswith("the body is not JSON")
    r = httpx.post(url, json={"kind": "rating", "value": "five"}, headers=srv.auth)
    assert r.status_code == 400 and r.json()["message"] == "a rating is a number"
    r = httpx.post(
        url, json={"kind": "label", "value": "x", "segment_id": "nope"}, headers=srv.auth
    )
    assert r.status_code == 404 and "no segment" in r.json()["message"]
    r = httpx.post(
        api(srv, "trajectories/nope/annotations"),
        json={"kind": "note", "value": "x"},
        headers=srv.auth,
    )
    assert r.status_code == 404 and r.json()["reason"] == "not_found"


def test_viewer_document_and_annotation_round_trip(server: tuple[JupyterServer, list[str]]) -> None:
    srv, ids = server
    tid = ids[7]
    doc = httpx.get(api(srv, f"trajectories/{tid}"), headers=srv.auth).json()
    assert doc["payload"]["trajectory"]["prompt"][0]["content"].endswith(XSS)  # data, as stored
    segment = doc["segments"][1]["id"]
    url = api(srv, f"trajectories/{tid}/annotations")
    r = httpx.post(
        url,
        json={"kind": "label", "value": "verification", "segment_id": segment},
        headers=srv.auth,
    )
    assert r.status_code == 201
    body = r.json()
    assert (
        body["previous"] is None and body["state"]["segments"][1]["human_label"] == "verification"
    )
    r = httpx.post(url, json={"kind": "note", "value": XSS}, headers=srv.auth)
    assert r.json()["state"]["note"] == XSS
    with wb.Store(srv.root / "data" / "store.db", readonly=True) as store:
        latest = {
            (a.segment_id, a.kind): a.value for a in store.get_annotations(tid, history=False)
        }
        assert latest == {(segment, "label"): "verification", (None, "note"): XSS}
        assert store.get_segments(tid)[1].id == segment


def test_missing_store_is_a_404_with_a_hint(server: tuple[JupyterServer, list[str]]) -> None:
    srv, _ids = server
    path = srv.root / "data" / "store.db"
    moved = path.with_suffix(".moved")
    path.rename(moved)
    try:
        r = httpx.get(api(srv, "trajectories"), headers=srv.auth)
        assert r.status_code == 404 and r.json()["reason"] == "store_missing"
        assert "c.WorkbenchExtension.store_path" in r.json()["message"]
    finally:
        moved.rename(path)
    assert httpx.get(api(srv, "info"), headers=srv.auth).status_code == 200


# -- the front-end build and its installation ---------------------------------------------------
def sources_hash() -> tuple[str, list[str]]:
    """The build's input hash, as extensions/build.mjs computes it."""
    files = [EXT / f for f in ("package.json", "package-lock.json", "tsconfig.json", "build.mjs")]
    files += [p for d in ("src", "style") for p in (EXT / d).rglob("*") if p.is_file()]
    files += [
        REPO / "js" / "src" / name
        for name in ("dom.ts", "keys.ts", "protocol.generated.ts", "styles.css")
    ]
    rel = sorted(p.relative_to(REPO).as_posix() for p in files)
    h = hashlib.sha256()
    for r in rel:
        text = (REPO / r).read_text(encoding="utf-8").replace("\r\n", "\n")
        h.update(f"{r}\0{text}\0".encode())
    return h.hexdigest(), rel


def test_committed_labextension_matches_its_sources() -> None:
    built = EXT / "workbench_jupyterlab" / "labextension"
    info = json.loads((built / "build.json").read_text())
    digest, inputs = sources_hash()
    assert info["inputs"] == inputs
    assert info["sources_sha256"] == digest, (
        "the labextension is out of date: run `make labextension`"
    )
    package = json.loads((built / "package.json").read_text())
    load = built / package["jupyterlab"]["_build"]["load"]
    assert load.is_file()
    source = json.loads((EXT / "package.json").read_text())
    assert package["name"] == source["name"] == "workbench-jupyterlab"
    assert package["version"] == source["version"]


def test_viewer_keys_are_the_annotators() -> None:
    # one key map and controller (js/src/keys.ts) serve the widget and the extension's viewer
    for path in (REPO / "js" / "src" / "annotator.ts", EXT / "src" / "viewer.ts"):
        text = path.read_text()
        assert re.search(r'import \{ AnnotationKeys, [^}]*\} from "[./]*(js/src/)?keys"', text)
        assert "new AnnotationKeys(this)" in text and "keyAction" not in text
    assert not (EXT / "src" / "keys.ts").exists()


def test_front_end_renders_data_as_text_only() -> None:
    for path in (EXT / "src").glob("*.ts"):
        text = path.read_text()
        assert "innerHTML" not in text and "outerHTML" not in text, path
        assert "insertAdjacentHTML" not in text and "document.write" not in text, path


def test_list_parameters_are_documented() -> None:
    doc = (EXT / "workbench_jupyterlab" / "handlers.py").read_text()
    for name in LIST_PARAMETERS:
        assert f"{name}=" in doc, name


def test_extension_is_installed_and_enabled() -> None:
    """Fast twin of `jupyter labextension list` / `jupyter server extension list` (the browser
    tier runs the commands themselves)."""
    pytest.importorskip("jupyterlab", reason="JupyterLab is not installed")
    from jupyter_core.paths import jupyter_config_path, jupyter_path
    from jupyter_server.extension.config import ExtensionConfigManager
    from jupyterlab.commands import get_page_config

    try:
        from jupyter_builder.federated_extensions import get_federated_extensions
    except ImportError:  # JupyterLab < 4.6
        from jupyterlab.federated_labextensions import get_federated_extensions

    hint = "install it: make setup (pip install -e ./extensions)"
    paths = jupyter_path("labextensions")
    found = get_federated_extensions(paths).get("workbench-jupyterlab")
    assert found is not None, f"workbench-jupyterlab is not in {paths}: {hint}"
    assert "workbench-jupyterlab" not in (get_page_config(paths).get("disabledExtensions") or {})
    installed = Path(found["ext_dir"]) / "workbench-jupyterlab" / "build.json"
    committed = EXT / "workbench_jupyterlab" / "labextension" / "build.json"
    assert (
        json.loads(installed.read_text())["sources_sha256"]
        == json.loads(committed.read_text())["sources_sha256"]
    ), f"the installed labextension is older than the build: {hint}"
    enabled = ExtensionConfigManager(
        read_config_path=jupyter_config_path()
    ).get_jpserver_extensions()
    assert enabled.get("workbench_jupyterlab") is True, f"server extension not enabled: {hint}"


def test_rest_types_are_generated_from_the_python_declaration() -> None:
    from workbench.documents._payloads import typescript

    committed = (EXT / "src" / "rest.generated.ts").read_text(encoding="utf-8")
    assert committed == typescript(), (
        "extensions/src/rest.generated.ts is stale: run `make labextension` (the Python and "
        "TypeScript declarations of the REST payloads must agree)"
    )


def test_the_api_returns_the_declared_payloads(tmp_path: Path) -> None:
    import typing

    from workbench.documents import ListPage, StoreSummary, TrajectoryDocument
    from workbench.documents._payloads import TrajectoryData

    store = wb.Store(tmp_path / "s.db")
    tid = store.add(
        wb.Trajectory(prompt="2+2?", raw="<think>2+2. Wait, 4.</think>4", tags=["t"], model="m")
    )
    page = list_page(store, ListQuery.from_args({"count": ["1"]}))
    doc = trajectory_document(store, tid, taxonomy="dto")
    for value, declared in (
        (page, ListPage),
        (page["rows"][0], typing.get_type_hints(ListPage)["rows"].__args__[0]),
        (store_summary(store, shown_path="s.db", taxonomy="dto"), StoreSummary),
        (doc, TrajectoryDocument),
        (doc["payload"]["trajectory"], TrajectoryData),
    ):
        hints = typing.get_type_hints(declared, include_extras=True)
        keys = set(hints)
        optional = {k for k, tp in hints.items() if typing.get_origin(tp) is typing.NotRequired}
        required = keys - optional - getattr(declared, "__optional_keys__", frozenset())
        assert required <= set(value) <= keys, (declared.__name__, set(value) ^ keys)
