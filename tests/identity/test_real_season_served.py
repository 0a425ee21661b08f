"""Identity on the real 2024-25 season as the pipeline meets it: every box-score and prop row
resolved against the registry the replay provider serves for its date (rosters as of the date,
shared.providers.replay), with the id-bearing player logs visible to the provider, and hidden.

Wrong ids are checked as in test_real_season: a log row whose (date, team, full stat line)
matches exactly one box row pins that row to the log's person id. Run with -s for the numbers.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict

import pytest

from shared.identity import PlayerResolver
from shared.identity.aliases import ALIAS_IDS
from shared.identity.names import name_key
from shared.providers.replay import (
    PLAYER_BOX_SCORES,
    PLAYER_GAME_LOGS,
    PLAYERS,
    PROPS_THREES,
    TEAM_GAME_LOGS,
    ReplaySource,
)
from tests.identity.test_real_season import LOG_STATS, read

pytestmark = pytest.mark.realdata
BOX_FIELDS = ("points", "rebounds", "assists", "steals", "blocks", "turnovers", "fgm", "fga", "fg3m", "fg3a",
              "ftm", "fta")


def _source(data_dir, tmp_path_factory, logs_visible: bool) -> ReplaySource:
    if logs_visible:
        return ReplaySource(data_dir)
    folder = tmp_path_factory.mktemp("logs-hidden")  # a manifest naming the real files, no logs
    (folder / "replay.json").write_text(json.dumps({
        "players": str(data_dir / PLAYERS), "team_game_logs": [str(data_dir / TEAM_GAME_LOGS)],
        "player_box_scores": [str(data_dir / PLAYER_BOX_SCORES)], "player_game_logs": [],
        "prop_lines": [str(data_dir / PROPS_THREES)]}))
    return ReplaySource(folder)


@pytest.fixture(scope="module", params=[True, False], ids=["logs visible", "logs hidden"])
def served(request, data_dir, tmp_path_factory):
    source = _source(data_dir, tmp_path_factory, request.param)
    days = source.game_days()
    names = {r.player_name for d in days for r in source.player_boxscores(d).rows} | \
        {r.player_name for d in days for r in source.prop_lines(d).rows}
    bases = {name_key(n).base for n in names}
    # Only persons who can be a candidate of some name (same base name, or an alias's person): the
    # others cannot change a resolution, and leaving them out makes 160 registries cheap.
    people = [p for p in source._people if name_key(p.full_name).base in bases or p.person_id in ALIAS_IDS.values()]
    box, props = [], []
    for day in days:
        resolver = PlayerResolver([{**source._with_team(p, day).model_dump(), "as_of_date": day} for p in people])
        box += [(row, resolver.resolve(row.player_name, row.team_abbr, day))
                for row in source.player_boxscores(day).rows]
        props += [resolver.resolve(row.player_name, None, day) for row in source.prop_lines(day).rows]
    return request.param, box, props


def test_box_scores_resolve_at_least_999_per_mille_with_no_wrong_id(served, data_dir):
    logs_visible, box, props = served
    share = sum(r.resolved for _, r in box) / len(box)
    quarantined = Counter((row.player_name, r.method) for row, r in box if not r.resolved)
    by_line = defaultdict(list)
    for row, resolution in box:
        by_line[(row.game_date.isoformat(), row.team_abbr, *(getattr(row, f) for f in BOX_FIELDS))].append(resolution)
    checked, wrong = 0, []
    for log in read(data_dir / PLAYER_GAME_LOGS):
        candidates = by_line.get((log["date"], log["matchup"][:3], *(int(log[s]) for s in LOG_STATS)), [])
        if len(candidates) == 1 and candidates[0].resolved:
            checked += 1
            if candidates[0].person_id != int(log["player_id"]):
                wrong.append((log["player"], log["date"], int(log["player_id"]), candidates[0].person_id))
    prop_share = sum(r.resolved for r in props) / len(props)
    print(f"\nlogs {'visible' if logs_visible else 'hidden'}: box rows {len(box)}, resolved {share:.4%}, "
          f"methods {dict(Counter(r.method for _, r in box))}, quarantined {dict(quarantined)}; checked {checked} "
          f"against the logs, wrong {len(wrong)}; prop lines {len(props)}, resolved {prop_share:.2%}")
    assert share >= 0.999
    assert wrong == [] and checked > 20_000
    assert prop_share == 1.0
