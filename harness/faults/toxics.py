"""What a network fault is, in Toxiproxy's vocabulary, and the pure arithmetic of shaping a stream with it
(which connections it affects, how long a chunk is held, how a chunk is sliced under a bandwidth cap). The
sockets are `harness.faults.proxy`'s."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal, get_args

ToxicKind = Literal["down", "timeout", "reset_peer", "latency", "bandwidth"]
Stream = Literal["both", "upstream", "downstream"]
TOXIC_KINDS: frozenset[str] = frozenset(get_args(ToxicKind))
_BANDWIDTH_SLICE_S = 0.1  # large chunks are sent in slices of this much time, as Toxiproxy does


@dataclass(frozen=True)
class Toxic:
    """One fault, in Toxiproxy's vocabulary."""

    kind: ToxicKind
    toxicity: float = 1.0  # probability that a connection is affected, drawn once per connection (ignored by `down`)
    timeout_ms: int = 0  # timeout: close after this long (0 = hold until removed); reset_peer: RST after this long
    latency_ms: int = 0  # latency: added to each chunk, both directions
    jitter_ms: int = 0  # latency: +/- uniform
    rate_kbps: int = 0  # bandwidth: KB/s per direction, 1 KB = 1024 bytes (Toxiproxy's `rate`)
    stream: Stream = "both"  # upstream: client -> dependency; downstream: its answers (see the module docstring)

    def __post_init__(self) -> None:
        if self.kind not in TOXIC_KINDS:
            raise ValueError(f"unknown toxic kind {self.kind!r}; expected one of {sorted(TOXIC_KINDS)}")
        if not 0.0 <= self.toxicity <= 1.0:
            raise ValueError(f"toxicity must be between 0 and 1, got {self.toxicity}")
        for field in ("timeout_ms", "latency_ms", "jitter_ms", "rate_kbps"):
            if getattr(self, field) < 0:
                raise ValueError(f"{field} must not be negative, got {getattr(self, field)}")
        if self.kind == "bandwidth" and self.rate_kbps <= 0:
            raise ValueError("a bandwidth toxic needs rate_kbps > 0")
        if self.stream not in get_args(Stream):
            raise ValueError(f"stream must be one of {list(get_args(Stream))}, got {self.stream!r}")
        if self.kind == "down" and self.stream != "both":
            raise ValueError("a down toxic closes the listener: it has no stream")

    def loses_answers(self) -> bool:
        """Requests pass, answers are lost: timeout or reset_peer on the downstream only."""
        return self.stream == "downstream" and self.kind in ("timeout", "reset_peer")

    def shapes(self, *, upstream: bool) -> bool:
        """Whether this toxic acts on the direction client -> upstream (`upstream`) or back."""
        return self.stream == "both" or (self.stream == "upstream") == upstream



def affects(rng: random.Random, toxicity: float) -> bool:
    """Whether a toxic applies to one connection: true with probability `toxicity`."""
    return rng.random() < toxicity


def chunk_delay(toxic: Toxic, rng: random.Random) -> float:
    """Seconds a latency toxic holds one chunk: latency_ms plus uniform jitter in [-jitter_ms, +jitter_ms], never negative."""
    if toxic.kind != "latency":
        return 0.0
    jitter = rng.uniform(-toxic.jitter_ms, toxic.jitter_ms) if toxic.jitter_ms else 0.0
    return max(0.0, toxic.latency_ms + jitter) / 1000.0


def bandwidth_delay(nbytes: int, rate_kbps: int) -> float:
    """Seconds that sending `nbytes` takes at `rate_kbps` KB/s (1 KB = 1024 bytes)."""
    if rate_kbps <= 0:
        raise ValueError("rate_kbps must be positive")
    return nbytes / (rate_kbps * 1024)


def bandwidth_slices(data: bytes, rate_kbps: int) -> list[bytes]:
    """`data` cut into pieces of at most one slice's worth of bytes, so a large chunk trickles out."""
    size = max(1, int(rate_kbps * 1024 * _BANDWIDTH_SLICE_S))
    return [data[i : i + size] for i in range(0, len(data), size)] or [data]
