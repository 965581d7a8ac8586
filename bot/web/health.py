"""``/healthz`` (is the database reachable?) and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.web.deps import ServicesDep

router = APIRouter()


@router.get("/healthz")
def healthz(svc: ServicesDep) -> JSONResponse:
    try:
        with svc.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ok", "database": svc.engine.dialect.name})


@router.get("/metrics")
def metrics(svc: ServicesDep) -> Response:
    return Response(svc.desk.metrics.render(), media_type=CONTENT_TYPE_LATEST)
