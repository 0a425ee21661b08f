"""Promotions as data: the schema refuses bad rules naming the field; rules evaluate as their names say."""
from __future__ import annotations

import json

import pytest

from shared.validation.catalogue import DEFAULT_CATALOGUE, load_catalogue
from shared.validation.gamelog import game_log_file, parse_line_score, read_game_log
from shared.validation.rules import InvalidPromotion, parse_catalogue, parse_promotion
from shared.validation.teams import RETRO_CODES
from tests.validation.conftest import GAMES

RULE = {"id": "lad-test", "version": 1, "team": "LAN", "venue": "home", "title": "test promo",
        "sponsor": "s", "conditions": [{"type": "win"}]}


@pytest.mark.parametrize("change, named", [
    ({"conditions": [{"type": "runs_at_least", "runs": 0}]}, "promotion.conditions[0].runs"),
    ({"conditions": [{"type": "strikeouts_at_least"}]}, "promotion.conditions[0].strikeouts"),
    ({"conditions": [{"type": "hat_trick"}]}, "promotion.conditions[0]"),
    ({"conditions": []}, "promotion.conditions"),
    ({"team": "LAD"}, "promotion.team"),
    ({"venue": "neutral"}, "promotion.venue"),
    ({"version": 0}, "promotion.version"),
    ({"id": "Bad Id"}, "promotion.id"),
    ({"colour": "blue"}, "promotion.colour"),
])
def test_a_bad_rule_is_refused_with_a_message_naming_the_field(change, named) -> None:
    with pytest.raises(InvalidPromotion) as refused:
        parse_promotion({**RULE, **change})
    assert str(refused.value).split(":")[0] == named


def test_a_catalogue_names_the_promotion_at_fault_and_refuses_duplicate_ids() -> None:
    bad = {"format_version": 1, "season": 2024,
           "promotions": [RULE, {**RULE, "id": "lad-two", "conditions": [{"type": "runs_in_inning", "runs": -1}]}]}
    with pytest.raises(InvalidPromotion, match=r"^promotions\[1\]\.conditions\[0\]\.runs:"):
        parse_catalogue(bad)
    with pytest.raises(InvalidPromotion, match="appears twice"):
        parse_catalogue({"format_version": 1, "season": 2024, "promotions": [RULE, RULE]})


def test_the_default_catalogue_covers_all_30_clubs_and_validates() -> None:
    catalogue = load_catalogue()
    assert {p.team for p in catalogue.promotions} == RETRO_CODES
    assert len({p.id for p in catalogue.promotions}) == len(catalogue.promotions)
    kinds = {c.type for p in catalogue.promotions for c in p.conditions}
    assert kinds == {"win", "runs_at_least", "runs_in_inning", "shutout", "strikeouts_at_least", "walk_off"}
    assert json.loads(DEFAULT_CATALOGUE.read_text())["format_version"] == 1


def _promo(team: str, venue: str, *conditions) -> object:
    return parse_promotion({**RULE, "team": team, "venue": venue, "conditions": list(conditions)})


def test_conditions_evaluate_on_the_facts() -> None:
    dodgers, giants, yankees, mets = GAMES
    assert _promo("LAN", "home", {"type": "win"}, {"type": "runs_at_least", "runs": 6}).is_met(dodgers)
    assert not _promo("LAN", "home", {"type": "runs_at_least", "runs": 8}).is_met(dodgers)
    assert _promo("LAN", "home", {"type": "runs_in_inning", "runs": 5, "inning": 1}).is_met(dodgers)
    assert not _promo("LAN", "home", {"type": "runs_in_inning", "runs": 5, "inning": 2}).is_met(dodgers)
    assert _promo("SDN", "away", {"type": "runs_in_inning", "runs": 1}).is_met(dodgers)
    assert not _promo("LAN", "home", {"type": "walk_off"}).is_met(dodgers)  # did not bat in the 9th
    assert _promo("SFN", "home", {"type": "walk_off"}).is_met(giants)
    assert not _promo("OAK", "any", {"type": "walk_off"}).is_met(giants)
    assert _promo("NYA", "any", {"type": "shutout"}).is_met(yankees)
    assert _promo("NYA", "home", {"type": "strikeouts_at_least", "strikeouts": 11}).is_met(yankees)
    assert not _promo("BOS", "away", {"type": "strikeouts_at_least", "strikeouts": 9}).is_met(yankees)
    assert not _promo("NYN", "home", {"type": "win"}).is_met(mets)
    assert _promo("ATL", "away", {"type": "win"}).is_met(mets)


def test_venue_and_dates_decide_which_games_a_promotion_applies_to() -> None:
    home_only = _promo("LAN", "home", {"type": "win"})
    assert home_only.applies_to("LAN", "SDN", GAMES[0].game_date)
    assert not home_only.applies_to("SDN", "LAN", GAMES[0].game_date)
    assert _promo("LAN", "any", {"type": "win"}).applies_to("SDN", "LAN", GAMES[0].game_date)


def test_line_scores_parse_double_digits_and_innings_not_batted() -> None:
    assert parse_line_score("20(14)00000x") == (2, 0, 14, 0, 0, 0, 0, 0, None)
    with pytest.raises(ValueError):
        parse_line_score("20?")


def test_the_2024_game_log_has_the_published_counts(data_dir) -> None:
    games = read_game_log(game_log_file(data_dir / "retrosheet-gamelogs", 2024))
    home_wins = [g for g in games if g.home_runs > g.away_runs]
    assert len(games) == 2429
    assert len(home_wins) == 1267
    assert sum(g.home_runs >= 6 for g in home_wins) == 635
    assert all(g.consistent for g in games)  # every line score adds up to the final score
