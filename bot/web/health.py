"""``/healthz`` (is the database reachable?) and ``/metrics`` (Prometheus, behind a token or this machine only)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.web import auth
from bot.web.deps import ServicesDep
from bot.web.throttle import client_address

router = APIRouter()


@router.get("/healthz")
def healthz(svc: ServicesDep) -> JSONResponse:
    try:
        with svc.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": svc.engine.dialect.name})


LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def _may_read_metrics(request: Request, token: SecretStr | None) -> bool:
    """With ``MADOGUCHI_METRICS_TOKEN`` set, its bearer token; without it, only a client on this machine."""
    if token is None:
        return client_address(request) in LOOPBACK
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and auth.same(given, token.get_secret_value())


@router.get("/metrics")
def metrics(request: Request, svc: ServicesDep) -> Response:
    if not _may_read_metrics(request, svc.settings.metrics_token):
        return Response("not allowed", status_code=403, media_type="text/plain")
    return Response(svc.desk.metrics.render(), media_type=CONTENT_TYPE_LATEST)
