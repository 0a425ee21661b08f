from shared.runtime.entrypoints import http_entry_point

handle = http_entry_point("alerts_check")
