"""LocalBus threaded dispatch: publish -> handler latency and throughput.

Two runs over the same bus setup (one topic, one subscription, N dispatch threads):
- paced: messages published at a steady rate, so latency is the bus's own hand-off time,
  not time spent queued behind a burst (target: p50 < 1 ms);
- burst: all messages published at once; throughput = messages / time until all handled.

    python scripts/bench_bus.py [--messages 10000] [--workers 4] [--rate 5000]
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

from shared.adapters.local.bus import LocalBus, RealClock
from shared.ports.bus import ReceivedMessage
from shared.topology.model import SubscriptionSpec


class LatencyRecorder:
    """Handler: the message carries its publish instant (perf_counter_ns) as data."""

    def __init__(self, expected: int) -> None:
        self.latencies_ns: list[int] = []
        self._expected = expected
        self._lock = threading.Lock()
        self.done = threading.Event()

    def __call__(self, message: ReceivedMessage) -> None:
        latency = time.perf_counter_ns() - int(message.data)
        with self._lock:
            self.latencies_ns.append(latency)
            if len(self.latencies_ns) == self._expected:
                self.done.set()


def make_bus(workers: int, recorder: LatencyRecorder) -> LocalBus:
    bus = LocalBus(clock=RealClock())
    bus.create_topic("bench")
    bus.create_subscription(SubscriptionSpec(name="bench-sub", topic="bench", dead_letter_topic=None))
    bus.attach("bench-sub", recorder)
    bus.start(workers=workers)
    return bus


def run(messages: int, workers: int, rate: float | None) -> tuple[LatencyRecorder, float]:
    recorder = LatencyRecorder(messages)
    bus = make_bus(workers, recorder)
    try:
        interval = 1 / rate if rate else 0.0
        started = time.perf_counter()
        for n in range(messages):
            if interval and (ahead := started + n * interval - time.perf_counter()) > 0:
                # sleep, not busy-wait: a spinning publisher holds the GIL for the whole
                # 5 ms switch interval and the handler threads would measure that instead.
                time.sleep(ahead)
            bus.publish("bench", str(time.perf_counter_ns()).encode())
        if not recorder.done.wait(timeout=120):
            raise SystemExit(f"only {len(recorder.latencies_ns)} of {messages} messages were handled")
        return recorder, time.perf_counter() - started
    finally:
        bus.stop()


def report(label: str, recorder: LatencyRecorder, elapsed_s: float) -> None:
    ms = sorted(n / 1e6 for n in recorder.latencies_ns)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{label:<22} n={len(ms)}  p50={statistics.median(ms):.3f} ms  p99={p99:.3f} ms  "
          f"max={ms[-1]:.3f} ms  throughput={len(ms) / elapsed_s:,.0f} msg/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rate", type=float, default=5_000, help="paced publish rate, messages/s")
    args = parser.parse_args()

    recorder, elapsed = run(args.messages, args.workers, args.rate)
    report(f"paced @ {args.rate:,.0f}/s", recorder, elapsed)
    recorder, elapsed = run(args.messages, args.workers, None)
    report("burst", recorder, elapsed)


if __name__ == "__main__":
    main()
