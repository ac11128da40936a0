"""The finance desk in a browser: `python -m pipelines desk` (http://127.0.0.1:8090).

Server-rendered HTML (Starlette + Jinja2, no JavaScript build): the working queue from the
published snapshot with filters (kind, currency, merchant, owner, status, age) sorted by money at
stake, one exception with its history, and forms for every action (store.py). It reads
only analytics.duckdb (read-only: it never waits for a run nor blocks one) and writes only the
desk's own store; actions show in the queue from the next run on, and in the exception's history
at once.

Localhost by default. Bound to any other address it refuses to start without an access token
(VIOLET_DESK_TOKEN): a browser opens `/?token=...` once, which sets a cookie; API clients send
`Authorization: Bearer ...`.
"""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import duckdb
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pipelines.finance.build import parse_as_of
from pipelines.finance.desk import store as desk
from pipelines.finance.reports import money

COOKIE = "violet_desk_token"
FILTERS = ("kind", "currency", "merchant_id", "owner", "status")


_ENV = Environment(
    loader=FileSystemLoader(Path(__file__).resolve().parent / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


@dataclass(frozen=True)
class DeskSettings:
    data_dir: Path
    token: str = ""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str) -> None:
    if not _loopback(host) and not token:
        raise desk.DeskError(
            f"the finance desk bound to {host} needs an access token: set VIOLET_DESK_TOKEN"
        )


def _rows(con: duckdb.DuckDBPyConnection, query: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts, with `amount`: the money at stake as a person reads it (1,234.56 USD)."""
    cur = con.execute(query, params)
    names = [d[0] for d in cur.description]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    for row in rows:
        row["amount"] = money(row.get("amount_minor"), row.get("currency"))
    return rows


_SELECT = """
select e.*, m.merchant_name
from finance.exceptions as e left join core.merchants as m on m.id = e.merchant_id
"""


def create_app(settings: DeskSettings) -> Starlette:
    store = desk.path(settings.data_dir)
    snapshot = settings.data_dir / "analytics.duckdb"

    def connect() -> duckdb.DuckDBPyConnection:
        if not snapshot.exists():
            raise desk.DeskError(f"no published snapshot at {snapshot}: run a materialization")
        return duckdb.connect(str(snapshot), read_only=True)

    def allowed(request: Request) -> bool:
        if not settings.token:
            return True
        offered = request.cookies.get(COOKIE, "")
        bearer = request.headers.get("authorization", "")
        if bearer.lower().startswith("bearer "):
            offered = bearer[7:]
        return hmac.compare_digest(offered.encode(), settings.token.encode())

    def page(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        return HTMLResponse(
            _ENV.get_template(f"{name}.html").render(**context), status_code=status_code
        )

    def guard(request: Request) -> Response | None:
        token = request.query_params.get("token")
        if settings.token and token is not None:
            if not hmac.compare_digest(token.encode(), settings.token.encode()):
                return HTMLResponse("wrong access token", status_code=401)
            response = RedirectResponse(request.url.remove_query_params("token"), 303)
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
            return response
        if not allowed(request):
            return HTMLResponse("access token required: open /?token=...", status_code=401)
        return None

    async def queue(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        q = request.query_params
        filters = {k: q[k] for k in FILTERS if q.get(k)}
        status = filters.pop("status", None)
        where: list[str] = []
        params: list[object] = []
        if status != "all":
            where.append(
                "e.status in ('open', 'acknowledged')" if status is None else "e.status = ?"
            )
            params += [] if status is None else [status]
        for key, value in filters.items():
            where.append(f"e.{key}::varchar = ?")
            params.append(value)
        min_age = q.get("min_age", "").strip()
        if min_age:
            try:
                params.append(float(min_age))
            except ValueError:
                return HTMLResponse("min_age must be a number of days", status_code=400)
            where.append("e.age_days >= ?")
        try:
            with connect() as con:
                rows = _rows(
                    con,
                    _SELECT
                    + (" where " + " and ".join(where) if where else "")
                    + " order by e.amount_minor desc, e.exception_id",
                    params,
                )
                choices = {
                    name: [r[0] for r in con.execute(
                        f"select distinct {name} from finance.exceptions "  # noqa: S608
                        f"where {name} is not null order by 1"
                    ).fetchall()]
                    for name in FILTERS
                }  # fmt: skip
                as_of = con.execute("select max(as_of) from finance.exceptions").fetchone()
        except desk.DeskError as exc:
            return HTMLResponse(str(exc), status_code=503)
        if status:
            filters["status"] = status
        return page(
            "queue", title="Exceptions", rows=rows, choices=choices, filters=filters,
            min_age=min_age, as_of=as_of[0] if as_of else "",
        )  # fmt: skip

    async def detail(request: Request, error: str = "", status_code: int = 200) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        exception_id = request.path_params["exception_id"]
        try:
            with connect() as con:
                found = _rows(
                    con,
                    "select l.*, m.merchant_name from finance.exception_log as l "
                    "left join core.merchants as m on m.id = l.merchant_id "
                    "where l.exception_id = ?",
                    [exception_id],
                )
                as_of = con.execute("select max(as_of) from finance.exceptions").fetchone()
        except desk.DeskError as exc:
            return HTMLResponse(str(exc), status_code=503)
        if not found:
            return HTMLResponse(f"no exception {exception_id}", status_code=404)
        history = [a for a in desk.actions(store) if a[1] == exception_id]
        return page(
            "detail", status_code=status_code, title=exception_id, e=found[0], history=history,
            actions=desk.ACTIONS, actor=request.cookies.get("violet_desk_actor", ""), error=error,
            as_of=as_of[0] if as_of else "",
        )  # fmt: skip

    async def act(request: Request) -> Response:
        if (refused := guard(request)) is not None:
            return refused
        exception_id = request.path_params["exception_id"]
        # The forms post application/x-www-form-urlencoded (no multipart parser needed).
        body = await request.body()
        if len(body) > 64 * 1024:
            return HTMLResponse("form too large", status_code=413)
        form = parse_qs(body.decode("utf-8", "replace"))

        def field(name: str) -> str | None:
            value = (form.get(name) or [""])[0].strip()
            return value or None

        try:
            with connect() as con:
                seen = con.execute(
                    "select kind, amount_minor from finance.exception_log where exception_id = ?",
                    [exception_id],
                ).fetchone()
            if seen is None:
                return HTMLResponse(f"no exception {exception_id}", status_code=404)
            until = field("until")
            actor = field("actor") or desk.actor()
            desk.record(
                store,
                desk.Action(
                    exception_id=exception_id,
                    action=field("action") or "",
                    actor=actor,
                    at=desk.now(),
                    owner=field("owner"),
                    note=field("note"),
                    until=parse_as_of(until) if until else None,
                    seen_kind=seen[0],
                    seen_amount_minor=seen[1],
                ),
            )
        except (desk.DeskError, ValueError) as exc:
            return await detail(request, error=str(exc), status_code=400)
        response = RedirectResponse(f"/exceptions/{exception_id}", status_code=303)
        response.set_cookie("violet_desk_actor", actor, samesite="strict")
        return response

    return Starlette(
        routes=[
            Route("/", queue),
            Route("/exceptions/{exception_id}", detail),
            Route("/exceptions/{exception_id}/actions", act, methods=["POST"]),
        ]
    )
