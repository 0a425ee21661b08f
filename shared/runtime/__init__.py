"""The function runtime: one handler `(message, context)` served by functions-framework or the embedded bus."""
from shared.runtime.context import FunctionContext
from shared.runtime.errors import PermanentError, TransientError
from shared.runtime.pubsub_function import Delivery, Outcome, PubSubFunction, delivery_from_push

__all__ = ["FunctionContext", "PermanentError", "TransientError", "Delivery", "Outcome", "PubSubFunction",
           "delivery_from_push"]
