"""Operations metrics in Prometheus text format (assistant/app/metrics.py), for a scraper on an allowed network."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from assistant.app import metrics
from assistant.app.server.deps import app_settings
from assistant.app.server.security import require_metrics_client
from assistant.core.settings import Settings

router = APIRouter(tags=["operations"])


# Loopback / security.metrics_allowed_networks only; the reverse proxy never passes it (docs/security.md).
# Not in the OpenAPI document: Prometheus text, not JSON.
@router.get("/metrics", dependencies=[Depends(require_metrics_client)], include_in_schema=False)
def prometheus_metrics(settings: Settings = Depends(app_settings)) -> Response:
    return Response(metrics.render(settings), media_type=metrics.CONTENT_TYPE)
