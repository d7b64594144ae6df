"""Custom-action endpoint that Rasa's endpoints.yml points to (rasa-sdk executor behind FastAPI)."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException

from assistant.server.security import ACTION_CALL_PATH, require_action_token

logger = logging.getLogger(__name__)
router = APIRouter(tags=["actions"])

executor = ActionExecutor()
executor.register_package("assistant.actions")


# Only Rasa may call it (shared secret, see assistant/server/security.py); not in the public API docs.
@router.post(ACTION_CALL_PATH, summary="Run a custom action (called by the Rasa server)",
             dependencies=[Depends(require_action_token)], include_in_schema=False)
async def run_action(request: Request) -> JSONResponse:
    try:
        action_call = await request.json()
    except ValueError:
        return JSONResponse({"error": "Invalid JSON body"}, status_code=400)
    if not isinstance(action_call, dict) or not action_call.get("next_action"):
        return JSONResponse({"error": "Body must be a Rasa action call with 'next_action'"}, status_code=400)
    try:
        result = await executor.run(action_call)
    except ActionExecutionRejection as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=400)
    except ActionNotFoundException as exc:
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=404)
    except ActionMissingDomainException as exc:
        # Rasa resends the call with the domain on 449.
        return JSONResponse({"error": exc.message, "action_name": exc.action_name}, status_code=449)
    return JSONResponse(result.model_dump() if result else {"events": [], "responses": []})


@router.get("/actions", summary="List registered custom actions")
async def list_actions() -> list[dict]:
    return [item.model_dump() for item in executor.list_actions()]
