from shared.topology.definition import TOPOLOGY
from shared.topology.model import (FunctionSpec, PhaseSpec, SchedulerJobSpec, SubscriptionSpec, TopicSpec,
                                   Topology)

__all__ = ["TOPOLOGY", "Topology", "TopicSpec", "SubscriptionSpec", "FunctionSpec", "SchedulerJobSpec",
           "PhaseSpec"]
