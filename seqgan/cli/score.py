"""`seqgan score`: speech metrics of an estimate set against a reference set."""

from __future__ import annotations

import argparse
import sys
from collections import Counter

HELP = "score enhanced speech: against clean references (PESQ, STOI, SI-SDR, composite) or alone (DNSMOS)"

DESCRIPTION = """\
Score every utterance present in both REF and EST and print the mean of each metric. Without --ref
(recordings that have no clean reference), every file of EST is rated by DNSMOS P.835 alone.

REF and EST are each a directory of audio files (utterance id = path relative to the directory without
extension, so clean/p232_001.wav pairs with enhanced/p232_001.flac) or a Kaldi table such as wav.scp or
spk1.scp ("<utt-id> <path>" per line; command pipes ending in '|' are refused). Ids present in only one
set are reported and skipped.

Metrics (--metrics, comma-separated; default all):
  pesq_wb  wide-band PESQ (P.862.2 MOS-LQO, 16 kHz)     pesq_nb  narrow-band PESQ (P.862)
  stoi, estoi                                           si_sdr   SI-SDR in dB, signals made zero-mean
  ssnr     segmental SNR in dB (30 ms frames, [-10, 35] dB per frame)
  llr, wss frame measures of the composite ratings       csig, cbak, covl  Hu & Loizou composites
  dnsmos_sig, dnsmos_bak, dnsmos_ovrl  DNSMOS P.835 of the estimate alone (no reference needed;
           the optional extra seqgan[dnsmos]; left out of the default where it is not installed)
  aliases: pesq = pesq_wb, composite = csig,cbak,covl, dnsmos = dnsmos_sig,dnsmos_bak,dnsmos_ovrl
  full band, by name only (alias fullband), never resampled: si_sdr_fb  SI-SDR at the files' rate;
           si_sdr_hf  SI-SDR of the band above 8 kHz alone (files above 16 kHz)

Signals at 16 kHz or above are scored at 16 kHz (resampled down), those from 8 to 16 kHz at 8 kHz
(wide-band PESQ and the composites then cannot be computed). A pair with different rates is brought to
the lower one; different lengths are truncated to the shorter.

Exit status: 0 scored; 1 nothing could be scored or some files could not be read (the rest is still
scored and written); 2 unusable arguments or sets.

Examples:
  seqgan score --ref data/test/spk1.scp --est exp/enhanced/test -o exp/scores --nj 4
  seqgan score --est my_recordings_enhanced/          # DNSMOS SIG / BAK / OVRL, no reference
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ref",
        default=None,
        metavar="REF",
        help="clean references: directory or wav.scp (omit: DNSMOS only)",
    )
    parser.add_argument("--est", required=True, metavar="EST", help="estimates: directory or wav.scp")
    parser.add_argument(
        "--metrics", default=None, metavar="LIST", help="comma-separated metric names (default: all)"
    )
    parser.add_argument(
        "-o", "--outdir", default=None, metavar="OUTDIR", help="write scores.json and scores.csv here"
    )
    parser.add_argument(
        "--nj", type=int, default=1, metavar="N", help="parallel worker processes (default 1)"
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def format_table(summary: dict, labels: dict[str, str]) -> str:
    """A plain-text table: metric, mean, count, unscorable."""
    rows = [("metric", "mean", "count", "unscorable")]
    rows += [
        (labels.get(m, m), _fmt(s["mean"]), str(s["count"]), str(s["unscorable"])) for m, s in summary.items()
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        lines.append("  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:], widths[1:])]))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _dnsmos_missing() -> str:
    from seqgan.metrics.dnsmos import DNSMOSUnavailable, require_dnsmos

    try:
        require_dnsmos()
    except DNSMOSUnavailable as err:
        return str(err)
    return ""


def _show_list(title: str, ids: list[str], limit: int = 5) -> None:
    shown = ", ".join(ids[:limit]) + (", ..." if len(ids) > limit else "")
    print(f"{title}: {len(ids)} ({shown})", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from seqgan.metrics.audio import METRIC_LABELS, METRIC_NOTES, NON_INTRUSIVE, resolve_metrics
    from seqgan.metrics.dnsmos import dnsmos_available
    from seqgan.scoring import ScoringInputError, score_sets

    try:
        if args.metrics:
            metrics = resolve_metrics(args.metrics.split(","))
        else:
            metrics = list(NON_INTRUSIVE) if args.ref is None else resolve_metrics(None)
        if args.ref is None and any(m not in NON_INTRUSIVE for m in metrics):
            needs = ", ".join(m for m in metrics if m not in NON_INTRUSIVE)
            raise ValueError(f"{needs} need(s) clean references: give --ref, or --metrics dnsmos")
    except ValueError as err:
        print(f"seqgan score: {err}", file=sys.stderr)
        return 2
    if args.ref is None and not dnsmos_available():
        print(
            f"seqgan score: without --ref only DNSMOS can be computed; {_dnsmos_missing()}", file=sys.stderr
        )
        return 2
    if args.nj < 1:
        print(f"seqgan score: --nj must be at least 1, got {args.nj}", file=sys.stderr)
        return 2

    bar = None
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(desc="scoring", unit="utt", leave=False)
    try:
        report = score_sets(
            args.ref, args.est, metrics, nj=args.nj, on_result=(lambda _: bar.update(1)) if bar else None
        )
    except ScoringInputError as err:
        print(f"seqgan score: {err}", file=sys.stderr)
        return 2
    finally:
        if bar is not None:
            bar.close()

    if report.ref_only:
        _show_list(f"ids only in {args.ref} (not scored)", report.ref_only)
    if report.est_only:
        _show_list(f"ids only in {args.est} (not scored)", report.est_only)
    input_errors = report.input_errors
    for utt, reason in list(input_errors.items())[:10]:
        print(f"cannot read {utt}: {reason}", file=sys.stderr)
    if len(input_errors) > 10:
        print(f"... and {len(input_errors) - 10} more unreadable utterances", file=sys.stderr)
    reasons = Counter((m, r) for u in report.utterances if not u.input_error for m, r in u.errors.items())
    for (metric, reason), count in sorted(reasons.items(), key=lambda kv: -kv[1])[:10]:
        print(
            f"unscorable {METRIC_LABELS.get(metric, metric)}: {count} utterance(s): {reason}", file=sys.stderr
        )

    against = f"against {args.ref}" if args.ref is not None else "(no reference)"
    print(f"{len(report.utterances)} utterances: {args.est} {against}")
    print(format_table(report.summary(), METRIC_LABELS))
    if "si_sdr" in metrics:
        print(f"note: {METRIC_NOTES['si_sdr']}")
    if args.outdir:
        json_path, csv_path = report.write(args.outdir)
        print(f"wrote {json_path} and {csv_path}")

    if not report.scored_anything:
        print("seqgan score: nothing could be scored (see the reasons above)", file=sys.stderr)
        return 1
    if input_errors:
        print(f"seqgan score: {len(input_errors)} utterance(s) could not be read", file=sys.stderr)
        return 1
    return 0
