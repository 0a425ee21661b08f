"""Sports data providers: the payloads they serve and the two sources behind them
(`synthetic`, a seeded season; `replay:PATH`, real data files), served over HTTP."""
