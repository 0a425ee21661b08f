"""Cloud Function `phase1_scrapers` (HTTP, called by Cloud Scheduler): its handler from the topology,
shared.pipeline.phase1:handle_scrape_request."""
import functions_framework

from shared.runtime.handlers import resolve_handler
from shared.topology import TOPOLOGY

_scrape = resolve_handler(TOPOLOGY.function("phase1_scrapers"))


@functions_framework.http
def handle(request):
    return _scrape(request)
