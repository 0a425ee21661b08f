"""`replay:PATH` finds any season's files (a manifest, or the ../shared/data names with any
season in them; several seasons side by side) and checks them before anything runs."""
from __future__ import annotations

import json
import shutil
from datetime import date

import pytest

from shared.providers.replay import ReplaySource
from shared.providers.replay_layout import ReplayDataInvalid, ReplayDataMissing
from shared.providers.seasons import OutOfSeason, check_in_season
from tests.providers.made_up_season import DAYS, D, write_made_up_season


@pytest.fixture
def made_up(tmp_path):
    return write_made_up_season(tmp_path / "made-up")


def _as_data_layout(made_up, target, season="2031_32", shift_years=0):
    """The made-up files under the ../shared/data names, without a manifest, optionally a later season."""
    names = {"people.csv": "nba-api-static/players.csv", "games_by_team.csv": f"logs/team_game_logs_{season}.csv",
             "box.csv": f"box/player_box_{season}.csv", "lines.csv": f"logs/props_player_points_{season}.csv"}
    for source, name in names.items():
        text = (made_up / source).read_text()
        if shift_years and source != "people.csv":
            text = text.replace("2031-", f"{2031 + shift_years}-").replace("00231", f"002{31 + shift_years}")
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not (source == "people.csv" and path.exists()):
            path.write_text(text)
    return target


def test_a_manifest_names_files_of_any_name(made_up):
    source = ReplaySource(made_up)
    source.check()
    assert [(s.label, s.first, s.last) for s in source.seasons()] == [("2031-32", DAYS[0], DAYS[-1])]
    assert len(source.schedule(D).games) == 2 and len(source.prop_lines(D).rows) == 12


def test_by_name_any_season_and_several_seasons_side_by_side(made_up, tmp_path):
    folder = _as_data_layout(made_up, tmp_path / "data")
    _as_data_layout(made_up, folder, season="2032_33", shift_years=1)
    source = ReplaySource(folder)
    source.check()
    assert [s.label for s in source.seasons()] == ["2031-32", "2032-33"]
    later = date(2032, D.month, D.day)
    assert len(source.schedule(D).games) == len(source.schedule(later).games) == 2
    check_in_season(source, later)
    with pytest.raises(OutOfSeason, match=r"2032-01-15 is outside every season .*2031-32 \(2031-10-21\.\.2031-10-26\)"):
        check_in_season(source, date(2032, 1, 15))


def test_a_missing_file_is_named(made_up):
    (made_up / "box.csv").unlink()
    with pytest.raises(ReplayDataMissing, match=r"box\.csv \(named as 'player_box_scores' in .*replay\.json\)"):
        ReplaySource(made_up)


def test_a_missing_kind_without_manifest_says_which_names_are_looked_for(made_up, tmp_path):
    folder = _as_data_layout(made_up, tmp_path / "data")
    shutil.rmtree(folder / "box")
    with pytest.raises(ReplayDataMissing, match=r"no file named player_box_\*\.csv"):
        ReplaySource(folder)


def test_a_missing_column_names_the_file_and_the_column(made_up):
    path = made_up / "games_by_team.csv"
    path.write_text(path.read_text().replace("PLUS_MINUS", "PLUSMINUS", 1))
    with pytest.raises(ReplayDataInvalid, match=r"games_by_team\.csv: missing column\(s\) PLUS_MINUS"):
        ReplaySource(made_up).check()


def test_a_malformed_row_names_the_file_and_the_line(made_up):
    path = made_up / "box.csv"
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace(DAYS[0].isoformat(), "21/10/2031")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReplayDataInvalid, match=r"box\.csv line 6: cannot read this row"):
        ReplaySource(made_up).check()


def test_an_unknown_team_nickname_names_the_file(made_up):
    path = made_up / "box.csv"
    path.write_text(path.read_text().replace("Celtics", "Seltics"))
    with pytest.raises(ReplayDataInvalid, match=r"box\.csv line \d+"):
        ReplaySource(made_up).check()


def test_a_bad_manifest(made_up):
    (made_up / "replay.json").write_text(json.dumps({"player_boxes": "box.csv"}))
    with pytest.raises(ReplayDataInvalid, match=r"unknown key\(s\) \['player_boxes'\]"):
        ReplaySource(made_up)


def test_empty_reasons_name_the_months_the_prop_files_cover(made_up):
    source = ReplaySource(made_up)
    assert source.empty_reasons(D) == {}
    assert source.empty_reasons(DAYS[0]) == {
        "prop_lines": "no prop lines in the source for October 2031: its prop files cover 2031-10-24..2031-10-24"}
