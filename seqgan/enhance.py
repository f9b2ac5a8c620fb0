"""Speech enhancement with a trained generator: arrays, tensors and files of any length.

The generator sees fixed windows of ``window`` samples at its own sample rate. :class:`Enhancer`

1. resamples the input to the model's rate (each channel independently; 2-D input is channels-first),
2. applies pre-emphasis (when the model was trained with it),
3. cuts the signal into windows every ``hop`` samples, runs them through the generator
   ``batch_size`` windows at a time, and overlap-adds the outputs weighted by a periodic Hann window,
   dividing by the summed weights (so the crossfade is exact: an identity model returns its input);
   the signal is zero-padded by ``window - hop`` samples at the start and as needed at the end, so
   every sample is covered by as many windows as any other — except for a causal model
   (:func:`seqgan.streaming.is_streamable`), which runs frame by frame with its recurrent state
   carried (:class:`seqgan.streaming.CausalFrameStream`): windows would restart its state,
4. applies de-emphasis and resamples back to the input rate (or writes at the model rate).

Every stage keeps its state between blocks, so a file is read, enhanced and written block by block
(``block_seconds`` of input at a time) with memory bounded by the block size, and the result equals
enhancing the whole signal at once up to float rounding. Sets of files (folders, ``wav.scp`` lists,
worker processes, the summary of ``seqgan enhance``) go through :meth:`Enhancer.enhance_paths`
(:mod:`seqgan.enhance_files`).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from torch import nn

from seqgan.data.audio import (
    AudioFileError,
    AudioReader,
    AudioWriter,
    StreamingResampler,
    choose_subtype,
    deemphasis,
    is_integer_subtype,
    output_format,
    preemphasis,
)
from seqgan.enhance_files import (
    BatchReport,
    EnhancePlan,
    FileJob,
    FileOutcome,
    OutputConflictError,
    plan_enhancement,
    run_plan,
)
from seqgan.overlap_add import OverlapAdd
from seqgan.streaming import is_streamable, open_frame_stream
from seqgan.strength import AttenuationLimiter, DryWetMix, check_strength, stft_geometry

logger = logging.getLogger(__name__)

__all__ = [
    "BatchReport",
    "EnhanceError",
    "EnhancePlan",
    "EnhanceResult",
    "Enhancer",
    "FileJob",
    "FileOutcome",
    "OutputConflictError",
    "OverlapAdd",
    "plan_enhancement",
    "resolve_device",
]

Wave = TypeVar("Wave", np.ndarray, torch.Tensor)

# samples (all channels) per processing block; the resampler's convolution briefly needs ~15x this
_MAX_BLOCK_SAMPLES = 1 << 20


class EnhanceError(AudioFileError):
    """A file could not be enhanced. ``str(error)`` is ``"<path>: <cause>"``."""


@dataclass(frozen=True)
class EnhanceResult:
    """What :meth:`Enhancer.enhance_file` did."""

    src: str
    dst: str
    duration: float  # seconds of input audio
    sample_rate: int  # of the written file
    channels: int
    subtype: str
    clipped: int  # samples clamped to [-1, 1]


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class _Pipeline:
    """Resample -> pre-emphasis -> windowed generator -> de-emphasis -> resample, block by block."""

    def __init__(self, enhancer: Enhancer, in_rate: int, out_rate: int) -> None:
        self.coef = enhancer.preemphasis
        self.down = StreamingResampler(in_rate, enhancer.sample_rate)
        # a causal model runs frame by frame with its state carried (seqgan.streaming), never in windows
        if is_streamable(enhancer.generator):
            self.ola: Any = open_frame_stream(enhancer.generator, enhancer.device)
        else:
            self.ola = OverlapAdd(enhancer._run_generator, enhancer.window, enhancer.hop, enhancer.batch_size)
        self.up = StreamingResampler(enhancer.sample_rate, out_rate)
        self._last_in: torch.Tensor | None = None
        self._last_out: torch.Tensor | None = None
        # --mix: the input, aligned at the output rate, blended in after the pipeline
        self.mixer = DryWetMix(enhancer.mix, in_rate, out_rate) if enhancer.mix != 1.0 else None

    def push(self, block: torch.Tensor) -> torch.Tensor:
        """``(C, n)`` float32 input -> ``(C, m)`` output ready so far."""
        y = self._rest(self.down.push(block), final=False)
        return y if self.mixer is None else self.mixer.push(block, y)

    def flush(self) -> torch.Tensor:
        y = self._rest(self.down.flush(), final=True)
        return y if self.mixer is None else self.mixer.flush(y)

    def _rest(self, x: torch.Tensor, final: bool) -> torch.Tensor:
        if x.shape[-1]:
            y = preemphasis(x, self.coef, self._last_in)
            self._last_in = x[:, -1:]
        else:
            y = x
        y = self.ola.push(y)
        if final:
            y = torch.cat([y, self.ola.flush()], dim=-1)
        if y.shape[-1]:
            y = deemphasis(y, self.coef, self._last_out)
            self._last_out = y[:, -1:]
        y = self.up.push(y)
        if final:
            y = torch.cat([y, self.up.flush()], dim=-1)
        return y


class Enhancer:
    """Enhances waveforms and audio files of any length, rate and channel count with a generator.

    Args:
        generator: maps ``(B, 1, window)`` noisy waveforms to enhanced ones; called as
            ``generator(noisy)`` in eval mode (so a latent ``z`` is zero unless the model samples it).
            An attribute ``length_multiple`` (if present) must divide ``window``.
        sample_rate: the rate the generator was trained at, in Hz.
        preemphasis: the pre-emphasis coefficient used in training (0: none).
        window: samples per generator call (SEGAN: 16384).
        hop: window step; default ``window // 2`` (50 % overlap).
        batch_size: windows per forward pass.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ...
        sample_latent: if given, sets the generator's ``sample_latent_at_eval`` (sample ``z ~ N(0, I)``
            at inference instead of ``z = 0``).
        block_seconds: seconds of input processed per block (read per block by :meth:`enhance_file`);
            the result does not depend on it beyond float rounding.
        bf16: run the generator under bf16 autocast (fast on GPUs; outputs differ from fp32 by about
            bf16's precision).
        compile: ``torch.compile`` the generator (every forward pass then sees a full batch: the last
            one is zero-padded).
        mix: dry/wet share of the enhanced signal: the output is ``mix · enhanced + (1 − mix) · input``
            (0: the input exactly, 1: the enhanced signal); :mod:`seqgan.strength`.
        atten_lim_db: the most (in dB) the output may fall below (or rise above) the input in any STFT
            cell of the windows the generator sees; ``None`` (default): no limit; :mod:`seqgan.strength`.

    ``generator`` may also be a :class:`seqgan.onnx_backend.OnnxGenerator` (``backend`` is then
    ``"onnxruntime"``: numpy windows in and out, on the CPU, no torch call in the model).
    """

    def __init__(
        self,
        generator: nn.Module,
        sample_rate: int,
        preemphasis: float = 0.95,
        window: int = 16384,
        hop: int | None = None,
        batch_size: int = 8,
        device: str | torch.device = "auto",
        sample_latent: bool | None = None,
        block_seconds: float = 10.0,
        bf16: bool = False,
        compile: bool = False,
        mix: float = 1.0,
        atten_lim_db: float | None = None,
    ) -> None:
        check_strength(mix, atten_lim_db)
        multiple = int(getattr(generator, "length_multiple", 1) or 1)
        if window < 1 or window % multiple:
            raise ValueError(
                f"window must be a positive multiple of the model's length_multiple {multiple}, "
                f"got {window}; try {max(multiple, round(window / multiple) * multiple)}"
            )
        hop = window // 2 if hop is None else int(hop)
        if not 1 <= hop < window:
            raise ValueError(f"hop must be in [1, window) = [1, {window}), got {hop}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        self.backend = "torch" if isinstance(generator, nn.Module) else "onnxruntime"
        if self.backend == "onnxruntime":
            if bf16 or compile:
                raise ValueError("bf16 and compile are PyTorch options; onnxruntime takes neither")
            if str(device) not in ("auto", "cpu"):
                raise ValueError(f"the onnxruntime backend runs on the CPU; got device '{device}'")
            device = "cpu"
        self.device = resolve_device(device)
        self.generator = generator.to(self.device).eval() if self.backend == "torch" else generator
        if sample_latent is not None:
            if hasattr(generator, "sample_latent_at_eval"):
                generator.sample_latent_at_eval = bool(sample_latent)
            elif sample_latent:
                logger.warning(
                    "%s has no latent to sample (no sample_latent_at_eval); ignoring",
                    type(generator).__name__,
                )
        self.sample_rate = int(sample_rate)
        self.preemphasis = float(preemphasis)
        self.window, self.hop, self.batch_size = int(window), hop, int(batch_size)
        self.block_seconds = float(block_seconds)
        self.bf16 = bool(bf16)
        self.compiled = bool(compile)
        self._forward = torch.compile(self.generator) if compile else self.generator
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed window shapes: let cuDNN pick its fastest kernels
        self.metadata: dict[str, Any] = dict(getattr(generator, "metadata", {}) or {})
        self.mix = float(mix)
        self.atten_lim_db = None if atten_lim_db is None or math.isinf(atten_lim_db) else float(atten_lim_db)
        self._limiter = None
        if self.atten_lim_db is not None:
            cells = stft_geometry(generator) if self.backend == "torch" else self.metadata.get("stft")
            self._limiter = AttenuationLimiter.for_model(self.atten_lim_db, cells)
            if is_streamable(self.generator):  # it never runs in windows (CausalFrameStream)
                raise ValueError(f"atten_lim_db needs a windowed model; {type(generator).__name__} streams")
        # set by from_pretrained: the model file and the options it was loaded with (worker processes
        # of enhance_plan(jobs > 1) load the same)
        self.source: str | None = None
        self.load_options: dict[str, Any] = {}
        self._layouts_seen: set[tuple[int, int, int]] = set()

    @classmethod
    def from_pretrained(
        cls,
        path: str | os.PathLike | None = None,
        device: str | torch.device = "auto",
        batch_size: int = 8,
        backend: str = "auto",
        **kwargs: Any,
    ) -> Enhancer:
        """Loads an exported ``.safetensors`` model; rate, pre-emphasis and window come from its metadata.

        ``path``: a model file, the name of a model shipped in the package (``seqgan info`` lists them), or
        None: the package's default speech enhancer (:mod:`seqgan.pretrained`).

        ``kwargs`` go to the constructor (``hop``, ``sample_latent``, ``block_seconds``, ``mix``,
        ``atten_lim_db``, or ``window`` to override the trained window).

        ``backend``: ``"torch"`` (a ``.safetensors`` model), ``"onnxruntime"`` (a ``.onnx`` graph of
        ``seqgan export --format onnx``, run by :class:`seqgan.onnx_backend.OnnxGenerator` with torch's
        thread count), or ``"auto"`` (by the file's suffix).

        Raises:
            seqgan.export.ModelFileError: the file cannot be loaded or lacks ``sample_rate`` /
                ``preemphasis`` metadata.
        """
        from seqgan import pretrained
        from seqgan.export import ModelFileError, load_model
        from seqgan.onnx_backend import OnnxGenerator, is_onnx_file

        path = pretrained.resolve(path, "enhancement")

        if backend == "auto":
            backend = "onnxruntime" if is_onnx_file(path) else "torch"
        if backend not in ("torch", "onnxruntime"):
            raise ValueError(f"unknown backend '{backend}'; choose from: auto, torch, onnxruntime")
        if backend == "onnxruntime":
            model: Any = OnnxGenerator(path, threads=torch.get_num_threads())
        else:
            model = load_model(path, device="cpu")
        md = model.metadata
        missing = [k for k in ("sample_rate", "preemphasis") if k not in md]
        if missing:
            raise ModelFileError(
                f"{path}: metadata {', '.join(missing)} missing; this model was not "
                "exported from a speech-enhancement task"
            )
        kwargs.setdefault("window", int(md.get("window", 16384)))
        enhancer = cls(
            model,
            sample_rate=int(md["sample_rate"]),
            preemphasis=float(md["preemphasis"]),
            batch_size=batch_size,
            device=device,
            **kwargs,
        )
        enhancer.source = str(path)
        options = {"device": str(device), "batch_size": batch_size, "backend": backend}
        enhancer.load_options = {**options, **kwargs}
        return enhancer

    def _block_frames(self, rate: int, channels: int) -> int:
        """Input frames per block: ``block_seconds``, at most ~1 M samples over all channels, and never
        less than one full batch of windows (a GPU at batch 256 would otherwise see ~20 windows a pass)."""
        full_batch = math.ceil(self.batch_size * self.hop * rate / self.sample_rate)
        cap = max(_MAX_BLOCK_SAMPLES // channels, full_batch)
        return max(1024, min(max(int(self.block_seconds * rate), full_batch), cap))

    # -- the generator -----------------------------------------------------------------------------

    @torch.inference_mode()
    def run_batch(self, x: torch.Tensor) -> torch.Tensor:
        """One forward pass as the enhancer runs the generator (compiled, bf16 autocast when asked).

        Args:
            x: ``(batch, 1, window)`` already on ``device``.

        Returns:
            ``(batch, 1, window)`` on ``device`` (no copy back, no checks: for timing the model alone).
        """
        if self.backend == "onnxruntime":
            return torch.from_numpy(self.generator(x.numpy()))
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
            return self._forward(x)

    @torch.inference_mode()
    def _run_generator(self, frames: torch.Tensor) -> torch.Tensor:
        """``(N, window)`` -> ``(N, window)`` in forward passes of ``batch_size`` windows."""
        outs = []
        for i in range(0, frames.shape[0], self.batch_size):
            x = frames[i : i + self.batch_size].to(self.device, torch.float32).unsqueeze(1)
            rows = x.shape[0]
            if self.compiled and rows < self.batch_size:  # one shape: no recompilation for the last batch
                x = torch.nn.functional.pad(x, (0, 0, 0, 0, 0, self.batch_size - rows))
            if self.backend == "onnxruntime":
                y = torch.from_numpy(self.generator(x.numpy()))
            else:
                with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                    y = self._forward(x)
            x, y = x[:rows], y[:rows]
            if y.shape != x.shape:
                raise RuntimeError(
                    f"{type(self.generator).__name__} returned {tuple(y.shape)} for "
                    f"input {tuple(x.shape)}; expected the same shape"
                )
            y = y.squeeze(1).to("cpu", torch.float32)
            if self._limiter is not None:  # --atten-lim-db, on the windows the model saw
                y = self._limiter(x.squeeze(1).to("cpu", torch.float32), y)
            outs.append(y)
        out = torch.cat(outs)
        if not torch.isfinite(out).all():
            raise RuntimeError("the model produced non-finite output (NaN or Inf); are the weights broken?")
        return out

    def open_stream(self, in_rate: int, out_rate: int | None = None) -> _Pipeline:
        """The block pipeline under :meth:`enhance` and :meth:`enhance_file`, for audio pushed in chunks.

        ``push(block: (channels, n) float32) -> (channels, m)`` returns the output that is final so far,
        ``flush()`` the rest (the concatenation may run a few samples past the input's length at
        ``out_rate``: cut it there). :class:`seqgan.streaming.StreamingEnhancer` wraps it for causal models.
        """
        return _Pipeline(self, int(in_rate), int(out_rate or in_rate))

    # -- arrays and tensors ------------------------------------------------------------------------

    def enhance(self, wave: Wave, sample_rate: int) -> Wave:
        """Enhances a waveform.

        Args:
            wave: numpy array or torch tensor, ``(T,)`` mono or ``(C, T)`` **channels-first** (transpose a
                soundfile-style ``(T, C)`` array). Float samples are full scale at 1.0; int16/int32 are
                read as PCM.
            sample_rate: the rate of ``wave`` in Hz (any; resampled to the model's rate and back).

        Returns:
            The enhanced waveform: same type, dtype, shape, device and sample rate as ``wave``. Each
            channel is enhanced independently. Integer output is clamped to the PCM range.

        Raises:
            ValueError: bad shape, empty, or NaN/Inf samples.
        """
        is_numpy = isinstance(wave, np.ndarray)
        t = torch.from_numpy(np.ascontiguousarray(wave)) if is_numpy else wave
        if t.ndim not in (1, 2):
            raise ValueError(f"wave must be (samples,) or (channels, samples), got shape {tuple(t.shape)}")
        x = t.reshape(1, -1) if t.ndim == 1 else t
        if x.shape[-1] == 0:
            raise ValueError("wave is empty")
        if t.ndim == 2 and x.shape[0] > max(x.shape[1], 64):  # (T, C) passed by mistake
            raise ValueError(
                f"wave of shape {tuple(t.shape)} looks channels-last; pass (channels, samples), e.g. wave.T"
            )
        scale = None
        if t.dtype in (torch.int16, torch.int32):
            scale = float(2 ** (torch.iinfo(t.dtype).bits - 1))
            x = x.to(torch.float32) / scale
        elif not t.is_floating_point():
            raise ValueError(f"unsupported dtype {t.dtype}; pass float samples in [-1, 1] or int16/int32 PCM")
        x = x.detach().to("cpu", torch.float32)
        if not torch.isfinite(x).all():
            raise ValueError("wave contains NaN or Inf samples")
        if x.shape[0] > 1 or sample_rate != self.sample_rate:
            logger.debug(
                "%d Hz, %d channel(s): enhancing each channel at %d Hz",
                sample_rate,
                x.shape[0],
                self.sample_rate,
            )
        pipe = _Pipeline(self, int(sample_rate), int(sample_rate))
        block = self._block_frames(int(sample_rate), x.shape[0])  # bounds the working memory
        parts = [pipe.push(x[:, i : i + block]) for i in range(0, x.shape[-1], block)]
        y = torch.cat([*parts, pipe.flush()], dim=-1)[:, : x.shape[-1]]
        if scale is not None:
            y = torch.round(y.clamp(-1.0, 1.0 - 1.0 / scale) * scale)
        y = y.reshape(t.shape).to(t.dtype)
        if is_numpy:
            return y.numpy()
        return y.to(t.device)

    # -- files -------------------------------------------------------------------------------------

    def enhance_file(
        self,
        src: str | os.PathLike,
        dst: str | os.PathLike,
        subtype: str | None = None,
        overwrite: bool = False,
        output_rate: str | int = "input",
        progress: Callable[[int], None] | None = None,
    ) -> EnhanceResult:
        """Enhances one audio file block by block (bounded memory for any length).

        Args:
            src: any file libsndfile reads (wav, flac, ogg, mp3, ...), any rate, any channel count.
            dst: output path; its extension picks the format. Written to a temporary file in the same
                folder and renamed, so a failure leaves nothing behind.
            subtype: output subtype (``PCM_16``, ``FLOAT``...); default: the input's when the output
                format can hold it, else the format's default.
            overwrite: replace an existing ``dst``.
            output_rate: ``"input"`` (default), ``"model"`` or a rate in Hz.
            progress: called with the number of input frames consumed after each block.

        Returns:
            An :class:`EnhanceResult`; samples clamped to [-1, 1] (integer subtypes) are counted and
            logged as a warning.

        Raises:
            EnhanceError: unreadable, empty, truncated or corrupt input, NaN/Inf samples, ``dst`` equal to
                ``src`` or existing, unwritable output, or a model failure. Names the file and the cause.
        """
        src, dst = Path(src), Path(dst)
        if dst.resolve() == src.resolve() or (dst.exists() and src.exists() and os.path.samefile(src, dst)):
            raise EnhanceError(dst, "the output would overwrite the input file; choose another output path")
        if dst.exists() and not overwrite:
            raise EnhanceError(dst, "output exists; pass overwrite=True (--overwrite) to replace it")
        try:
            return self._enhance_file(src, dst, subtype, output_rate, progress)
        except EnhanceError:
            raise
        except AudioFileError as e:
            raise EnhanceError(e.path, e.cause) from None
        except ValueError as e:  # an invalid subtype for the output format
            raise EnhanceError(dst, str(e)) from None
        except RuntimeError as e:  # the model failed (out of memory, broken weights)
            raise EnhanceError(src, f"enhancement failed: {e}") from None

    # -- sets of files ---------------------------------------------------------------------------

    def enhance_paths(
        self,
        inputs: Iterable[str | os.PathLike],
        out_dir: str | os.PathLike,
        *,
        scp: str | os.PathLike | None = None,
        overwrite: bool = False,
        jobs: int = 1,
        threads: int | None = None,
        subtype: str | None = None,
        output_rate: str | int = "input",
        progress: Callable[[FileOutcome], None] | None = None,
    ) -> BatchReport:
        """Enhances files and folders into ``out_dir``, as ``seqgan enhance`` does.

        :func:`~seqgan.enhance_files.plan_enhancement` pairs the inputs with their outputs (folders are
        mirrored, ``scp`` lines go to ``<utt>.wav``, existing outputs are skipped unless ``overwrite``),
        then :meth:`enhance_plan` runs the plan. A file that cannot be enhanced is recorded in the
        report's ``errors`` (``"<path>: <cause>"``) and leaves no output; the others are still done.

        Args:
            inputs: audio files and folders (searched recursively).
            out_dir: output folder.
            scp: a Kaldi ``utt path`` table to enhance too.
            overwrite: replace existing outputs.
            jobs, threads, subtype, output_rate, progress: see :meth:`enhance_plan`.

        Returns:
            A :class:`~seqgan.enhance_files.BatchReport` (per-file outcomes, failures, seconds of
            audio, real-time factor; ``summary()`` is the line ``seqgan enhance`` prints).

        Raises:
            OutputConflictError: an output would overwrite (or mix with) the inputs; nothing was written.
        """
        plan = plan_enhancement(inputs, out_dir, scp=scp, overwrite=overwrite)
        return self.enhance_plan(
            plan, jobs=jobs, threads=threads, subtype=subtype, output_rate=output_rate, progress=progress
        )

    def enhance_plan(
        self,
        plan: EnhancePlan,
        *,
        jobs: int = 1,
        threads: int | None = None,
        subtype: str | None = None,
        output_rate: str | int = "input",
        progress: Callable[[FileOutcome], None] | None = None,
        file_progress: Callable[[FileJob], Callable[[int], None] | None] | None = None,
    ) -> BatchReport:
        """Runs a :func:`~seqgan.enhance_files.plan_enhancement` plan; the arguments are
        :func:`seqgan.enhance_files.run_plan`'s (``jobs > 1``: CPU worker processes, each loading the
        file this enhancer was loaded from)."""
        return run_plan(
            self,
            plan,
            jobs=jobs,
            threads=threads,
            subtype=subtype,
            output_rate=output_rate,
            progress=progress,
            file_progress=file_progress,
        )

    def _enhance_file(
        self,
        src: Path,
        dst: Path,
        subtype: str | None,
        output_rate: str | int,
        progress: Callable[[int], None] | None,
    ) -> EnhanceResult:
        with AudioReader(src) as reader:
            info = reader.info
            if output_rate == "input":
                out_rate = info.sample_rate
            elif output_rate == "model":
                out_rate = self.sample_rate
            else:
                out_rate = int(output_rate)
            fmt = output_format(dst)
            sub = choose_subtype(fmt, subtype, fallback=info.subtype)
            layout = (info.sample_rate, info.channels, out_rate)
            if info.sample_rate != self.sample_rate or info.channels > 1 or out_rate != info.sample_rate:
                # said once per kind of input at INFO (a folder of 48 kHz files would repeat it)
                logger.log(
                    logging.DEBUG if layout in self._layouts_seen else logging.INFO,
                    "%s is %d Hz, %d channel(s); enhancing each channel at %d Hz and writing %d Hz",
                    src,
                    info.sample_rate,
                    info.channels,
                    self.sample_rate,
                    out_rate,
                )
                self._layouts_seen.add(layout)
            out_frames = (
                info.frames
                if out_rate == info.sample_rate
                else math.ceil(info.frames * out_rate / info.sample_rate)
            )
            clip = is_integer_subtype(sub)
            clipped = 0
            pipe = _Pipeline(self, info.sample_rate, out_rate)
            with AudioWriter(dst, out_rate, info.channels, subtype=sub, format=fmt) as writer:

                def write(y: torch.Tensor) -> None:
                    nonlocal clipped
                    y = y[:, : out_frames - writer.frames]
                    if clip:
                        clipped += int((y.abs() > 1.0).sum())
                        y = y.clamp(-1.0, 1.0)
                    writer.write(y.numpy())

                block = self._block_frames(info.sample_rate, info.channels)
                for x in reader.blocks(block):
                    write(pipe.push(torch.from_numpy(x)))
                    if progress is not None:
                        progress(x.shape[1])
                write(pipe.flush())
                if writer.frames < out_frames:  # cannot happen with ceil-length resampling; be safe
                    write(torch.zeros(info.channels, out_frames - writer.frames))
                writer.commit()
        if clipped:
            logger.warning("%s: %d samples were outside [-1, 1] and were clipped", dst, clipped)
        return EnhanceResult(str(src), str(dst), info.duration, out_rate, info.channels, sub, clipped)
