#!/usr/bin/env python3
"""How much of each signal lies above 8 kHz: clean references beside noisy and enhanced sets.

For every utterance of the reference set and each named set (``wav.scp`` files, Kaldi style), the
energy above ``--low-hz`` as a share of the whole signal's energy, in dB, and its level against the
clean reference's own energy above ``--low-hz`` (0 dB: as much high band as the clean speech; far below
0: the band was dropped). Means over utterances, as a Markdown table on stdout.

    python local/band_energy.py --ref dump/test_48k/spk1.scp \\
        noisy=dump/test_48k/wav.scp enhanced=exp/train_48k_fullband/enhanced/test_48k/wav.scp
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import soundfile as sf

from seqgan.data.scp import read_scp


def high_band_energy(x: np.ndarray, rate: int, low_hz: float) -> tuple[float, float]:
    """``(energy above low_hz, total energy)`` of ``x``, from its DFT."""
    power = np.abs(np.fft.rfft(x)) ** 2
    return float(power[np.fft.rfftfreq(x.size, 1.0 / rate) > low_hz].sum()), float(power.sum())


def _db(x: float) -> float:
    return 10.0 * np.log10(max(x, 1e-30))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ref", required=True, help="wav.scp-style list of the clean references")
    parser.add_argument("--low-hz", type=float, default=8000.0, help="lower edge of the band (default: 8000)")
    parser.add_argument(
        "sets", nargs="+", metavar="NAME=SCP", help="named sets to compare with the references"
    )
    args = parser.parse_args(argv)
    refs = read_scp(args.ref)
    sets = {"clean": refs}
    for item in args.sets:
        name, sep, path = item.partition("=")
        if not sep:
            parser.error(f"give each set as NAME=SCP, got '{item}'")
        sets[name] = read_scp(path)
    rows = []
    ref_band: dict[str, float] = {}
    for name, table in sets.items():
        shares, levels, rates = [], [], set()
        for utt in refs:
            if utt not in table:
                print(f"band_energy.py: {utt} is in --ref but not in the {name} set", file=sys.stderr)
                return 1
            x, rate = sf.read(table[utt], dtype="float64", always_2d=True)
            high, total = high_band_energy(x[:, 0], rate, args.low_hz)
            rates.add(rate)
            if name == "clean":
                ref_band[utt] = high
            shares.append(_db(high / total))
            levels.append(_db(high / ref_band[utt]))
        rows.append((name, "/".join(str(r) for r in sorted(rates)), np.mean(shares), np.mean(levels)))
    print(
        f"| set | rate (Hz) | energy > {args.low_hz / 1000:g} kHz / total (dB) | energy > {args.low_hz / 1000:g} kHz vs clean (dB) |"
    )
    print("|---|---:|---:|---:|")
    for name, rate, share, level in rows:
        print(f"| {name} | {rate} | {share:.1f} | {level:+.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
