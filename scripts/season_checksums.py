#!/usr/bin/env python3
"""Every table's rows and content checksum for every date of an embedded home, as one JSON
object: compare two homes (e.g. a season backfill by two versions of the code) with `diff`.

    SPORTSFLOW_HOME=/tmp/h sportsflow backfill --start 2024-10-22 --end 2025-04-13 --source replay:../shared/data
    python scripts/season_checksums.py /tmp/h > a.json

Only reads the home; uses nothing but `table_results` and the pipeline's table list, so it
runs against any version of the package that has them.
"""
from __future__ import annotations

import argparse
import json
from datetime import date, timedelta
from pathlib import Path

from shared.adapters.local.warehouse import DuckDBWarehouse
from shared.pipeline.report import table_results
from shared.pipeline.tables import pipeline_tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("home", type=Path)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2024, 10, 22))
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 4, 13))
    args = parser.parse_args()
    warehouse = DuckDBWarehouse(args.home / "warehouse.duckdb")
    try:
        checksums = {}
        day = args.start
        while day <= args.end:
            checksums[day.isoformat()] = {t.table: [t.rows, t.checksum]
                                          for t in table_results(warehouse, pipeline_tables(), day)}
            day += timedelta(days=1)
    finally:
        warehouse.close()
    print(json.dumps(checksums, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
