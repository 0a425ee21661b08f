"""The promotion catalogue: the default one (realistic promotions for all 30 clubs, shipped as
`catalogue_mlb_2024.json`) or any file in the same format."""
from __future__ import annotations

import json
from pathlib import Path

from shared.validation.rules import Catalogue, InvalidPromotion, parse_catalogue

DEFAULT_CATALOGUE = Path(__file__).with_name("catalogue_mlb_2024.json")


def load_catalogue(path: Path | str | None = None) -> Catalogue:
    path = Path(path) if path else DEFAULT_CATALOGUE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise InvalidPromotion(f"{path}: not JSON ({error})") from None
    return parse_catalogue(data)
