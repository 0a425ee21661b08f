"""The injury report of D: what a provider knows before tip-off, from the synthetic and replay sources.

Synthetic: the players ruled out of a game before it is simulated are listed "out" and are not in
its box score. Replay: derived from games before D only (a player who missed his team's last 3
games is "out", the last 1-2 "questionable"); changing D's own box scores never changes it."""
from __future__ import annotations

from datetime import date

from shared.pipeline.phase1 import canonical_json
from shared.providers.replay import OUT_AFTER_MISSED_GAMES, ReplaySource
from shared.providers.synthetic import SyntheticSource
from tests.providers.made_up_season import DAYS, D, person_id, player_name, write_made_up_season

DAY = date(2025, 1, 15)
OUT_PLAYER = player_name("NYK", 1)  # misses the three game days before D
QUESTIONABLE_PLAYER = player_name("LAL", 2)  # misses the last game day before D only
RETURNING_PLAYER = player_name("GSW", 3)  # missed DAYS[0] only, played since
ABSENCES = {OUT_PLAYER: tuple(DAYS[:3]), QUESTIONABLE_PLAYER: (DAYS[2],), RETURNING_PLAYER: (DAYS[0],)}


def _statuses(report) -> dict[int, str]:
    return {p.person_id: p.status for p in report.players}


# --- synthetic ----------------------------------------------------------------------------
def test_synthetic_players_ruled_out_are_reported_and_absent_from_the_box_score():
    source = SyntheticSource(seed=0)
    report = source.injury_report(DAY)
    names = {p.person_id: p.box_score_name for p in source.league.people}
    played = {row.player_name for row in source.player_boxscores(DAY).rows}
    out = [p for p in report.players if p.status == "out"]
    questionable = [p for p in report.players if p.status == "questionable"]
    assert out and questionable
    assert not [p.player_name for p in out if names[p.person_id] in played], "a player reported out played"
    playing = {g.home_team_abbr for g in source.schedule(DAY).games} | {g.away_team_abbr
                                                                        for g in source.schedule(DAY).games}
    assert {p.team_abbr for p in report.players} <= playing
    assert all(source.league.team_of(next(x for x in source.league.people if x.person_id == p.person_id), DAY)
               == p.team_abbr for p in report.players)


def test_synthetic_report_is_deterministic_and_seeded():
    first, again = SyntheticSource(seed=4).injury_report(DAY), SyntheticSource(seed=4).injury_report(DAY)
    assert canonical_json(first) == canonical_json(again)
    assert canonical_json(first) != canonical_json(SyntheticSource(seed=5).injury_report(DAY))
    assert SyntheticSource(seed=4).injury_report(date(2024, 12, 24)).players == (), "no games, no report"


# --- replay -------------------------------------------------------------------------------
def test_replay_lists_players_who_missed_their_teams_last_games(tmp_path):
    source = ReplaySource(write_made_up_season(tmp_path / "r", absences=ABSENCES))
    statuses = _statuses(source.injury_report(D))
    assert OUT_AFTER_MISSED_GAMES == 3
    assert statuses == {person_id("NYK", 1): "out", person_id("LAL", 2): "questionable"}
    assert source.injury_report(DAYS[0]).players == (), "opening night: nobody has missed a game yet"
    assert _statuses(source.injury_report(DAYS[1])) == {person_id("NYK", 1): "questionable",
                                                        person_id("GSW", 3): "questionable"}


def test_replay_report_of_d_never_reads_ds_box_scores(tmp_path):
    """The out player plays on D in one folder and sits D out in the other, and every box score of
    D changes: the report of D is byte-identical (his return is only in D's box scores)."""
    plays_on_d = ReplaySource(write_made_up_season(tmp_path / "a", absences=ABSENCES))
    sits_d_out = ReplaySource(write_made_up_season(
        tmp_path / "b", box_score_change=(D, 7), absences={**ABSENCES, OUT_PLAYER: tuple(DAYS[:4])}))
    assert OUT_PLAYER in {r.player_name for r in plays_on_d.player_boxscores(D).rows}
    assert OUT_PLAYER not in {r.player_name for r in sits_d_out.player_boxscores(D).rows}
    assert plays_on_d.injury_report(D).players == sits_d_out.injury_report(D).players
    after_d = DAYS[4]  # and the box scores of D are read for later dates: the test can fail
    assert plays_on_d.injury_report(after_d).players != sits_d_out.injury_report(after_d).players


def test_replay_report_of_a_real_date(data_dir):
    source = ReplaySource(data_dir)
    report = source.injury_report(DAY)
    registry = {p.person_id: p.team_abbr for p in source.player_registry(DAY).players}
    playing = {g.home_team_abbr for g in source.schedule(DAY).games} | {g.away_team_abbr
                                                                        for g in source.schedule(DAY).games}
    assert report.players and {p.status for p in report.players} == {"out", "questionable"}
    assert all(registry[p.person_id] == p.team_abbr and p.team_abbr in playing for p in report.players)
    played = {row.player_name for row in source.player_boxscores(DAY).rows}
    out = [p for p in report.players if p.status == "out"]
    wrongly_out = [p for p in out if p.player_name in played]
    assert len(wrongly_out) <= len(out) // 5, f"most players reported out do not play: {wrongly_out}"
