"""Actions around the answers: hand-off to staff, feedback, dossier tracking."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from assistant.app import answers, conversation_log, dossier_tracking, handoff_desk
from assistant.app.actions import common, procedures

HANDOFF_MESSAGES = 10  # how much of the conversation staff see with a hand-off flag


class ActionHandoff(common.BlockingAction):
    """Flags the conversation for the staff page and says truthfully what happens next (channel-dependent)."""

    def name(self) -> str:
        return "action_handoff"

    def turn(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        channel = tracker.get_latest_input_channel() or ""
        conversation_log.flag_handoff(
            tracker.sender_id, channel, common.recent_messages(tracker.events, HANDOFF_MESSAGES)
        )
        # What happens next depends on the channel: on Zalo staff can write back; a web chat is anonymous.
        common.send(
            dispatcher, answers.handoff(common.app_settings(), staff_can_reply=handoff_desk.staff_can_reply(channel))
        )
        return [SlotSet("handoff_requested", True)]


class ActionStoreFeedback(common.BlockingAction):
    """Stores feedback_good / feedback_bad with the question and the answer it rates."""

    def name(self) -> str:
        return "action_store_feedback"

    def turn(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        good = common.latest_intent(tracker) != "feedback_bad"
        question, answer = common.last_exchange(tracker.events, skip_intent_prefix="feedback")
        if not answer:  # nothing to rate yet: perhaps a procedure question the NLU took for an opinion
            answered = procedures.answer_if_the_catalogue_is_sure(dispatcher, tracker, ask_back=True)
            if answered is not None:
                return answered
        conversation_log.store_feedback(
            tracker.sender_id,
            "good" if good else "bad",
            question=question,
            answer=answer,
            channel=tracker.get_latest_input_channel() or "",
        )
        common.send(dispatcher, answers.feedback_thanks(good))
        return []


class ActionTrackDossier(Action):
    """Looks a receipt code up in the one-stop system and reports the dossier's status."""

    def name(self) -> str:
        return "action_track_dossier"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = common.latest_text(tracker)
        code = common.latest_entity(tracker, "dossier_code") or dossier_tracking.find_code_in_text(text)
        if not code:
            common.send(dispatcher, answers.ask_dossier_code())
            return []
        settings = common.app_settings()
        result = await dossier_tracking.look_up(code, settings)
        common.send(dispatcher, answers.tracking(result, settings))
        return [SlotSet("dossier_code", result.code)]
