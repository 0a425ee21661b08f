"""How the pipeline's tables are declared: one DATE partition per analysis date."""
from __future__ import annotations

from shared.ports.warehouse import FieldSpec, TableSpec


def game_date_table(dataset: str, name: str, description: str, *fields: FieldSpec,
                    clustering: tuple[str, ...] = ()) -> TableSpec:
    """A table partitioned on `game_date` = the analysis date D."""
    return TableSpec(dataset=dataset, name=name, fields=fields, partition_field="game_date",
                     clustering=clustering, description=description)
