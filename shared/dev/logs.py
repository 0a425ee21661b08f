"""`sportsflow dev logs [-f] [--function F]`: the structured logs of every dev process, merged.

Each process writes its JSON lines (Cloud Logging's format, shared/observability/logging.py) and
anything else its server prints to `$SPORTSFLOW_HOME/dev/logs/<name>.log`. Reading merges them by
time; following tails them all.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

FOLLOW_POLL_S = 0.5
_SKIPPED_KEYS = {"severity", "message", "time", "logging.googleapis.com/labels",
                 "logging.googleapis.com/sourceLocation", "logging.googleapis.com/trace"}


@dataclass(frozen=True)
class LogLine:
    process: str
    time: str  # ISO time of a JSON line; "" for other output
    text: str
    entry: dict | None

    def render(self) -> str:
        if self.entry is None:
            return f"{'':32} {self.process:30} {self.text}"
        fields = {k: v for k, v in self.entry.items() if k not in _SKIPPED_KEYS}
        extra = json.dumps(fields, default=str, separators=(",", ":")) if fields else ""
        return f"{self.time[:32]:32} {self.process:30} {self.entry.get('severity', ''):8} " \
               f"{self.entry.get('message', '')} {extra}".rstrip()


def log_files(directory: Path, function: str | None = None) -> list[Path]:
    if function is not None:
        path = directory / f"{function}.log"
        return [path] if path.exists() else []
    return sorted(directory.glob("*.log"))


def parse(process: str, raw: str) -> LogLine:
    raw = raw.rstrip("\n")
    try:
        entry = json.loads(raw)
    except ValueError:
        entry = None
    if not isinstance(entry, dict):
        return LogLine(process, "", raw, None)
    return LogLine(process, str(entry.get("time", "")), raw, entry)


def read_all(directory: Path, function: str | None = None, tail: int | None = None) -> list[LogLine]:
    """Every line of the selected logs, JSON lines ordered by time (others keep their place after
    the JSON line before them)."""
    lines: list[tuple[str, int, LogLine]] = []
    for path in log_files(directory, function):
        last_time = ""
        for number, raw in enumerate(path.read_text(errors="replace").splitlines()):
            line = parse(path.stem, raw)
            last_time = line.time or last_time
            lines.append((last_time, number, line))
    ordered = [line for _, _, line in sorted(lines, key=lambda item: (item[0], item[1]))]
    return ordered[-tail:] if tail else ordered


def follow(directory: Path, function: str | None = None, *, stop_after_s: float | None = None) -> Iterator[LogLine]:
    """New lines of the selected logs as they are written (files that appear later included)."""
    offsets = {path: path.stat().st_size for path in log_files(directory, function)}
    began = time.monotonic()
    while stop_after_s is None or time.monotonic() - began < stop_after_s:
        for path in log_files(directory, function):
            offset = offsets.get(path, 0)
            size = path.stat().st_size
            if size < offset:  # restarted: the log was truncated
                offset = 0
            if size > offset:
                with path.open("rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read(size - offset)
                complete, newline, _ = chunk.rpartition(b"\n")
                if newline:  # only whole lines; a partial last line waits for its end
                    offsets[path] = offset + len(complete) + 1
                    for raw in complete.split(b"\n"):
                        yield parse(path.stem, raw.decode(errors="replace"))
        time.sleep(FOLLOW_POLL_S)
