#!/usr/bin/env python3
"""Writes the source signal the committed codec fixtures are encoded from.

x(t) = 0                                                   for t < T0
x(t) = A * w(t - T0) * exp(-(t - T0) / TAU) * sin(2 pi F (t - T0))  for t >= T0
w(u) = sin(pi u / (2 RAMP))^2 for u < RAMP, else 1   (a 2 ms fade-in keeps the onset band-limited)
with A = 0.5, F = 440 Hz, TAU = 0.08 s, RAMP = 0.002 s, T0 = 0.05 s, length LEN = 0.3 s.
Mono files hold x; stereo files hold L = x, R = x / 2 (so the mono average is 0.75 x).
core/tests/decode.rs recomputes the same formula; keep the two in step.

usage: gen_source.py OUT.wav RATE CHANNELS BITS   (BITS 16 or 24, integer PCM)
"""
import math
import struct
import sys
import wave

A, F, TAU, RAMP, T0, LEN = 0.5, 440.0, 0.08, 0.002, 0.05, 0.3


def x(t):
    if t < T0:
        return 0.0
    u = t - T0
    w = math.sin(math.pi * u / (2 * RAMP)) ** 2 if u < RAMP else 1.0
    return A * w * math.exp(-u / TAU) * math.sin(2 * math.pi * F * u)


def main():
    out, rate, channels, bits = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    scale = float(1 << (bits - 1))
    frames = bytearray()
    for n in range(round(LEN * rate)):
        v = x(n / rate)
        for c in range(channels):
            s = max(-scale, min(scale - 1, round(v * (1.0 if c == 0 else 0.5) * scale)))
            frames += struct.pack("<i", int(s))[: bits // 8]
    with wave.open(out, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(bits // 8)
        w.setframerate(rate)
        w.writeframes(bytes(frames))


if __name__ == "__main__":
    main()
