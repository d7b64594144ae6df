"""Custom-action endpoint that Rasa's endpoints.yml points to (rasa-sdk executor behind FastAPI).

Every call is timed, counted for /metrics (`assistant.app.metrics`) and recorded with its outcome in the
interaction log (`assistant.app.interaction_log`, masked); neither may cost the citizen the reply.
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException

from assistant.app import interaction_log, metrics
from assistant.app.server.security import ACTION_CALL_PATH, require_action_token

logger = logging.getLogger(__name__)
router = APIRouter(tags=["actions"])

executor = ActionExecutor()
executor.register_package("assistant.app.actions")


# Only Rasa may call it (shared secret, see assistant/app/server/security.py); not in the public API docs.
@router.post(
    ACTION_CALL_PATH,
    summary="Run a custom action (called by the Rasa server)",
    dependencies=[Depends(require_action_token)],
    include_in_schema=False,
)
async def run_action(request: Request) -> JSONResponse:
    try:
        action_call = await request.json()
    except ValueError:
        return JSONResponse({"error": "Invalid JSON body"}, status_code=400)
    if not isinstance(action_call, dict) or not action_call.get("next_action"):
        return JSONResponse({"error": "Body must be a Rasa action call with 'next_action'"}, status_code=400)
    action = str(action_call["next_action"])
    tracker = action_call.get("tracker")
    channel = str(tracker.get("latest_input_channel") or "") if isinstance(tracker, dict) else ""
    started = time.perf_counter()
    try:
        result = await executor.run(action_call)
    except ActionExecutionRejection as exc:
        _count_refused(action, "rejected", channel)
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
    except ActionNotFoundException as exc:
        _count_refused(action, "unknown_action", channel)
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
    except ActionMissingDomainException as exc:
        # Rasa resends the call with the domain on 449.
        _count_refused(action, "domain_missing", channel)
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=449)
    except Exception:
        _count_refused(action, "failed", channel)
        raise
    seconds = time.perf_counter() - started
    body = result.model_dump() if result else {"events": [], "responses": []}
    await _record(action_call, body, seconds)
    body["responses"] = interaction_log.without_outcomes(body.get("responses") or [])
    return JSONResponse(body)


def _count_refused(action: str, outcome: str, channel: str) -> None:
    # Only registered names become a label: a refused call's name is whatever the caller sent.
    known = any(item.name == action for item in executor.list_actions())
    metrics.observe_action(action if known else "unknown", outcome, channel, None)


async def _record(action_call: dict, body: dict, seconds: float) -> None:
    """Count the call and store it in the interaction log; a failure is logged, never raised."""
    try:
        interaction = interaction_log.describe(action_call, body, seconds * 1000)
    except Exception:
        logger.exception("could not classify an action call for the interaction log")
        return
    if interaction is None:
        return
    metrics.observe_action(interaction.action, interaction.outcome, interaction.channel, seconds, interaction.turn_ms)
    try:
        await run_in_threadpool(interaction_log.save, interaction)
    except Exception:
        logger.exception("could not store an action call in the interaction log")


@router.get("/actions", summary="List registered custom actions")
async def list_actions() -> list[dict]:
    return [item.model_dump() for item in executor.list_actions()]
