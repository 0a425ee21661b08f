"""Contracts: the envelope, every versioned message model, and the codec between them and bytes."""
from shared.contracts.codec import DecodedMessage, EncodedMessage, MAX_MESSAGE_BYTES, decode, decode_base64, encode
from shared.contracts.envelope import Envelope, Message
from shared.contracts.errors import InvalidMessage, InvalidMessageKind
from shared.contracts.messages import (AnalyticsCompleted, AnalyticsTrigger, DeadLetter, PrecomputeCompleted,
                                       PrecomputeProcessorCompleted, PrecomputeTrigger, PredictionReady,
                                       PredictionRequest, PredictionsCompleted, RawProcessed, ScraperCompleted)

__all__ = ["Envelope", "Message", "InvalidMessage", "InvalidMessageKind", "encode", "decode", "decode_base64",
           "EncodedMessage", "DecodedMessage", "MAX_MESSAGE_BYTES", "ScraperCompleted", "RawProcessed",
           "AnalyticsCompleted", "AnalyticsTrigger", "PrecomputeTrigger", "PrecomputeProcessorCompleted", "PrecomputeCompleted",
           "PredictionRequest", "PredictionReady", "PredictionsCompleted", "DeadLetter"]
