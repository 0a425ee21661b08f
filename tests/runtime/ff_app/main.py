"""A functions-framework app for the push test: the real entry-point code, a test handler.

The handler records every attempt in FF_TEST_STATE_DIR and fails transiently on the first
delivery of messages from processor "fails_once" — so the test can watch Pub/Sub redeliver.
"""
import os
from pathlib import Path

from shared.runtime.entrypoints import pubsub_entry_point
from shared.runtime.errors import TransientError

STATE = Path(os.environ["FF_TEST_STATE_DIR"])


def record_completion(message, ctx):
    attempts_file = STATE / f"{ctx.envelope.message_id}.attempts"
    attempts = int(attempts_file.read_text()) + 1 if attempts_file.exists() else 1
    attempts_file.write_text(str(attempts))
    if message.processor_name == "fails_once" and attempts == 1:
        raise TransientError("simulated outage on first delivery")
    (STATE / f"{ctx.envelope.message_id}.handled").write_text(message.model_dump_json())


handle = pubsub_entry_point("phase3_to_phase4_orchestrator", handler=record_completion)
