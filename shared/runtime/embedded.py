"""The topology deployed in process: what Terraform does for Google.

Every topic and subscription of the topology is created on the bus; every push
subscription is routed to its function's PubSubFunction (a topic function's handler module is
imported on its first message: a run that never reaches it does not pay for it); every
dead-letter sink to a DeadLetterRecorder, so dead letters end up in the document store. The
embedded bus gets the routes attached (it pushes); on the Pub/Sub emulator a PullDispatcher
delivers them.
"""
from __future__ import annotations

import logging
from typing import Callable, Mapping

from shared.bootstrap import Services
from shared.runtime.dead_letters import DEAD_LETTER_SUFFIX, DeadLetterRecorder
from shared.runtime.handlers import DeferredHandler, HandlerNotImplemented, resolve_push_route
from shared.runtime.pubsub_function import Handler, PubSubFunction
from shared.topology.model import SubscriptionSpec

log = logging.getLogger("sportsflow.runtime.embedded")


class EmbeddedDeployment:
    def __init__(self, services: Services, handlers: Mapping[str, Handler] | None = None,
                 wrap: Callable[[str, Handler], Handler] | None = None):
        """`handlers` override resolved ones by function name; `wrap` decorates every handler
        (e.g. chaos: transient failures injected before the real work)."""
        self.services = services
        self._handlers = dict(handlers or {})
        self._wrap = wrap
        self.deployed: list[str] = []
        self.not_implemented: list[str] = []
        self.routes: dict[str, Callable] = {}  # subscription -> subscriber

    def deploy(self) -> "EmbeddedDeployment":
        bus, topology = self.services.bus, self.services.topology
        for topic in topology.topics:
            bus.create_topic(topic.name)
            bus.create_topic(topic.dead_letter_topic)
        for subscription in topology.subscriptions:
            bus.create_subscription(subscription)
            self._route(subscription)
        if hasattr(bus, "attach"):  # the embedded bus pushes; others are pulled by a PullDispatcher
            for subscription, subscriber in self.routes.items():
                bus.attach(subscription, subscriber)
        return self

    def _route(self, subscription: SubscriptionSpec) -> None:
        if subscription.topic.endswith(DEAD_LETTER_SUFFIX):
            source_topic = subscription.topic.removesuffix(DEAD_LETTER_SUFFIX)
            self.routes[subscription.name] = DeadLetterRecorder(self.services.documents, source_topic,
                                                                settings=self.services.settings)
            return
        if not subscription.push_function:
            return
        spec = self.services.topology.function(subscription.push_function)
        if spec.trigger == "topic" and spec.trigger_topic != subscription.topic:
            return
        handler = self._handler_for(spec, subscription.push_path if spec.trigger == "http" else None)
        if handler is None:
            return
        function = PubSubFunction(spec, self.services.topology, handler, lambda: self.services,
                                  topic=subscription.topic)
        self.routes[subscription.name] = function.on_received
        if spec.name not in self.deployed:
            self.deployed.append(spec.name)

    def _handler_for(self, spec, push_path: str | None = None) -> Handler | None:
        """A topic function's handler, or (push_path) the handler of an HTTP function's push route."""
        override = self._handlers.get(spec.name if push_path is None else f"{spec.name}{push_path}")
        if override is not None:
            handler = override
        else:
            try:
                handler = resolve_push_route(spec, push_path) if push_path is not None else DeferredHandler(spec)
            except HandlerNotImplemented as err:
                self.not_implemented.append(spec.name)
                log.info("function not deployed", extra={"fields": {"function": spec.name, "reason": str(err)}})
                return None
        return self._wrap(spec.name, handler) if self._wrap else handler
