"""Cloud Function `phase1_scrapers` (HTTP, called by Cloud Scheduler): see shared.pipeline.phase1."""
import functions_framework

from shared.pipeline.phase1 import handle_scrape_request


@functions_framework.http
def handle(request):
    return handle_scrape_request(request)
