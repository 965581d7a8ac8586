"""Pages from templates, with the one-line notice (``?m=``) a redirect asked for."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response

from bot.desk.labels import BAD_FLASH, FLASH
from bot.web.services import Services


def render(svc: Services, request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    flash = request.query_params.get("m")
    base = {"flash": FLASH.get(flash or "", ""), "flash_bad": flash in BAD_FLASH}
    return svc.templates.TemplateResponse(request, name, base | context, status_code=status)
