from shared.runtime.entrypoints import pubsub_entry_point

handle = pubsub_entry_point("ingestion_worker")
