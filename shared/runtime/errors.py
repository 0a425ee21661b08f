"""How a handler tells the runtime what a failure means."""


class TransientError(Exception):
    """Might succeed later (a dependency is down, a race was lost): the message is nacked and
    Pub/Sub redelivers it with backoff, until the subscription's dead-letter policy stops it."""


class PermanentError(Exception):
    """Can never succeed for this message (e.g. it refers to data that cannot exist): the
    message is dead-lettered with this reason and acknowledged."""
