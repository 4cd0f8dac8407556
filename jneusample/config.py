"""Typed configuration of a run, its presets, and ``--set key=value`` overrides.

A run is fully described by one :class:`Config`; it is saved as ``RUN_DIR/config.json`` at the start of every
run, so that the file alone reproduces it. Presets are about *compute* (widths, samples, rays, steps); the
geometry (near/far, NDC, background) comes from the scene's format, so any preset applies to any scene.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
import typing
from typing import Any, Literal, get_args, get_origin

from .errors import InputError
from .models.registry import ModelKind

SampleFieldInit = Literal["uniform", "default"]
"""Choices of ``model.sample_field_init``."""
SampleFieldHead = Literal["paper", "quantile"]
"""Choices of ``model.sample_field_head``."""
SamplesChoicesShare = Literal["steps", "points", "inverse_square"]
"""Choices of ``model.samples_choices_share``."""
DensityActivation = Literal["relu", "softplus"]
"""Choices of ``model.density_activation``."""
Schedule = Literal["steps", "time"]
"""Choices of ``train.schedule``."""
ExtractDistill = Literal["none", "coverage"]
"""Choices of ``extract.distill``."""
ExtractHeadInit = Literal["fresh", "quantiles"]
"""Choices of ``extract.head_init``."""


@dataclass
class DataConfig:
    factor: int = 1
    """Downscale images by this integer factor (area averaging; focal scaled to match)."""
    testskip: int = 1
    """Keep every k-th view of the val/test splits when evaluating (train keeps all views)."""


@dataclass
class ModelConfig:
    kind: ModelKind = "neusample"
    """'neusample' (sample field + one radiance field), 'nerf' (coarse + fine radiance fields) or 'stratified' (the
    control: one radiance field at stratified samples, jittered in training, bin centres at render time, any N)."""
    n_samples: int = 192
    """NeuSample: number of sample distances per ray: the paper head's output width; with the quantile head, the
    N that evaluation and rendering use unless ``--samples`` asks for another."""
    sample_field_depth: int = 8
    """Hidden layers of the sample field MLP (skip connection before layer depth // 2)."""
    sample_field_width: int = 256
    """Width of the sample field MLP."""
    origin_freqs: int = 10
    """Sample field: positional-encoding frequencies of the ray origin (the paper: 10; with the proposal loss, 2
    let the per-ray placement hold on cameras the field never saw: docs/method.md §9.2)."""
    direction_freqs: int = 10
    """Sample field: positional-encoding frequencies of the unit ray direction (the paper: 10; see origin_freqs:
    4 with the proposal loss)."""
    sample_field_init: SampleFieldInit = "default"
    """Initial output layer (head) of the sample field: 'default' (the paper; the official code's PyTorch default
    for a Linear layer: weight and bias ~ U(−1/√fan_in, +1/√fan_in), fan_in = sample_field_width; the paper
    head's samples start bunched mid-ray) or 'uniform' (samples start evenly spread over [near, far]: the paper
    head's bias is logit((k + ½)/N) for output k and its weights are the default's scaled by 0.1, i.e.
    U(±0.1/√fan_in); the quantile head's weights and bias are zero; the cpu, quick and tiny presets)."""
    sample_field_head: SampleFieldHead = "paper"
    """Output layer of the sample field: 'paper' (N outputs, sigmoid, sort: a fixed N per ray) or 'quantile'
    (logits of a histogram over the ray whose N quantiles are the samples: one model renders at any N, e.g.
    ``eval --samples 16``; docs/method.md §8)."""
    sample_field_bins: int = 128
    """Quantile head: K, the bins of its histogram over [near, far] (its output width; independent of N)."""
    samples_choices: tuple[int, ...] = ()
    """Quantile head: sample counts, ascending (``--set model.samples_choices=8,16,32,64``; a JSON list in
    config.json); each training step draws one of them (the same on every MPI rank), so that the model renders
    well at each. Empty: it trains at n_samples."""
    samples_choices_share: SamplesChoicesShare = "steps"
    """Quantile head: how the training steps are shared among model.samples_choices: 'steps' (each N an equal
    share of the steps), 'points' (each N an equal share of the radiance-field queries: N is drawn with
    probability ∝ 1/N, so small N, the cheap steps, come more often) or 'inverse_square' (P(N) ∝ 1/N²: each N's
    share of the queries ∝ 1/N, most of a fixed budget at the smallest N, whose quality needs the most steps;
    the larger N share its radiance field)."""
    sample_field_histogram_loss: float = 0.0
    """Quantile head: λ of the histogram loss, the cross-entropy between the head's histogram and the rendering
    weights binned onto it (gradient only into the sample field; docs/method.md §8, "Three training levers"): the
    head learns where each ray's colour comes from, so every N puts its samples there. 0: the photometric loss
    alone (the paper's way)."""
    sample_field_histogram_uniform: float = 0.0
    """Quantile head, histogram loss: the share β of the target that is uniform along the ray, (1 − β)·(binned
    weights) + β·uniform, so that a share β of every N keeps covering the whole ray, as NeRF's fine pass keeps
    its coarse samples."""
    sample_field_proposal_loss: float = 0.0
    """λ of the proposal loss: in training, a probe pass of the radiance field (no gradient) at
    model.sample_field_probes stratified distances tells the sample field where each ray's colour comes from
    (jneusample/samplers/proposal.py, docs/method.md §9): the quantile head's histogram must bound the probe's
    weights (mip-NeRF 360's interlevel loss), the paper head's sorted samples are pulled to the weights'
    quantiles. Rendering does not pay for it. 0: the photometric loss alone (the paper's way)."""
    sample_field_probes: int = 32
    """M, the probe pass's stratified samples per ray (only with model.sample_field_proposal_loss > 0): each
    training step queries the radiance field at M more points per ray, forward only."""
    sample_field_probe_share: float = 1.0
    """Share of a training step's rays the probe pass sees, in (0, 1]: the first ⌈share·R⌉ of the step's R rays
    (drawn at random, so a random subset), and the proposal loss is averaged over them. The probe costs M
    forward radiance queries per probed ray, more than the N samples themselves at small N; 1: every ray."""
    sample_field_interval_jitter: bool = False
    """Paper head: in training, move each sorted sample uniformly within its share of the ray (between the
    midpoints to its neighbours; jneusample/samplers/stratified.py), so that the radiance field learns a density
    around the samples rather than at N fixed depths (what stratified sampling's jitter does). False: the paper
    (no jitter anywhere). The quantile head jitters its levels instead (model.sample_field_jitter)."""
    sample_field_jitter: bool = True
    """Quantile head: in training, move each ray's quantile levels from (k + 1/2)/N to (k + u)/N with one
    u ~ U(0, 1) per ray, so that training sees every depth between the evaluation samples."""
    inverse_depth: bool = False
    """Map the sorted sample field outputs linearly in disparity instead of depth (unused by the paper)."""
    density_activation: DensityActivation = "relu"
    """How raw densities become σ ≥ 0: 'relu' (NeRF and the paper) or 'softplus' (σ = softplus(raw − 1), as in
    mip-NeRF). ReLU has no gradient where raw + noise < 0, so a field that has learnt 'empty everywhere' (an
    all-white image on a white background) can only leave that state through the density noise: the long
    start plateau of small runs. softplus always passes a gradient; the shift keeps σ small at initialisation."""
    radiance_depth: int = 8
    """Hidden layers of the radiance MLP (skip connection before layer depth // 2)."""
    radiance_width: int = 256
    """Width of the radiance MLP; its colour branch is half as wide."""
    position_freqs: int = 10
    """Radiance field: positional-encoding frequencies of the 3D point."""
    view_freqs: int = 4
    """Radiance field: positional-encoding frequencies of the unit view direction."""
    interval_encoding: bool = False
    """Radiance field: average γ(x) over each sample's share of its ray (its high frequencies fade where samples
    are sparse; mip-NeRF's expected encoding along the ray, no cone), so that one field renders at any N without
    missing what lies between samples (docs/method.md §8). False: the paper's point encoding."""
    n_coarse: int = 64
    """NeRF: stratified samples of the coarse network."""
    n_importance: int = 128
    """NeRF: extra samples drawn from the coarse weights for the fine network (which sees coarse + these)."""


@dataclass
class RenderConfig:
    density_noise_std: float = 1.0
    """Std of the Gaussian noise added to raw densities while training (0 at evaluation)."""
    last_interval: float = 2e10
    """Length given to the interval after the last sample (NeRF's 'infinity'; 2e10 as in the authors' code)."""
    chunk_points: int = 1 << 18
    """Points per radiance-field chunk when rendering whole images: it bounds memory (the peak grows linearly
    with it; ``jneusample bench`` reports the peak host memory of a render), while much smaller chunks pay a
    per-chunk overhead. On CUDA the renderer sizes chunks from free device memory instead."""


@dataclass
class TrainConfig:
    steps: int = 400_000
    """Optimisation steps; the learning rate decays linearly over them."""
    rays_per_step: int = 4096
    """Rays per step (per MPI rank); at most ``MAX_RAYS_PER_STEP`` (2^20: the paper's 4096 × 256)."""
    lr: float = 5e-4
    """Initial Adam learning rate."""
    lr_final: float = 5e-6
    """Learning rate reached at the end of the schedule (linear 'Poly' decay, power 1)."""
    warmup_fraction: float = 0.0
    """Fraction of the schedule over which the learning rate ramps linearly from lr/10 up to lr before the
    decay starts (0: no warm-up, the paper). A warm-up lets a small run use a higher peak rate without the
    first large Adam steps killing the density."""
    sample_field_lr_scale: float = 1.0
    """NeuSample: the sample field's learning rate (peak and final) is train.lr (train.lr_final) times this; the
    radiance field keeps train.lr. 1 (the paper): one rate for the whole model, one optimizer group."""
    reset_collapsed_sample_field: bool = False
    """Every train.log_every steps, check the step's samples: when more than 90 % of the rays each have more
    than half of their samples at the ends (within 1e-3 of the ray's near or far end; per ray, so that background
    rays that rightly sample their far end do not count), the sample field has collapsed (its sigmoid outputs
    saturated; it would not recover), so put its head back at the uniform placement with fresh Adam moments (and
    a fresh step count), keep everything else, log ``sample_field_reset`` (that share of rays) in metrics.jsonl
    and go on. False (the paper): never."""
    bf16_matmuls: bool = False
    """Run the MLPs' training matmuls (forward and both backward products) with bfloat16 operands on CPUs with
    avx512_bf16 (oneDNN; float32 accumulation, float32 parameters and optimizer state); False, or where
    unavailable (CUDA, no oneDNN bfloat16): float32 (the paper). Evaluation and rendering are always float32."""
    schedule: Schedule = "steps"
    """What the learning-rate schedule (warm-up and decay) runs over: 'steps' (train.steps, the paper; a run
    is reproducible bit for bit) or 'time' (train.minutes of training wall clock: the run uses its whole time
    budget at whatever speed the machine gives, and stops there or at train.steps, whichever comes first)."""
    minutes: float = 0.0
    """Time budget of a 'time' schedule, in minutes of training (``--max-minutes`` sets it; the first step of a
    process at each N, where Jittor compiles kernels, does not count: ``train.TrainingClock``). Ignored by the
    'steps' schedule, where ``--max-minutes`` only stops the run early."""
    cpu_processes: int = 1
    """On a machine without a GPU, train as this many MPI ranks on this machine (``train`` and ``demo`` start
    ``mpirun -np K`` themselves; 0 = one per core; capped at the usable cores). One Jittor process keeps only
    ~1.3 of 2 cores busy (its element-wise kernels are single-threaded); one single-threaded rank per core keeps
    them all busy. rays_per_step is per rank, as under any mpirun. Ignored under an explicit mpirun or on a GPU."""
    batch_across_views: bool = False
    """Draw each step's rays uniformly from all pixels of all training views instead of from one view (the
    LLFF scenes always do; for Blender scenes the paper takes one view per step). Decorrelates the rays of a
    step, which matters most for the small batches of CPU runs."""
    precrop_fraction: float = 0.5
    """Draw rays from the central crop of this size (fraction of H and W) during the first steps."""
    precrop_steps: int = 1000
    """Number of steps with the central crop (0 disables it)."""
    checkpoint_every: int = 2000
    """Write a checkpoint every this many steps (and at the end)."""
    keep_checkpoints: int = 3
    """How many recent checkpoints to keep."""
    validate_every: int = 10_000
    """Render a few validation views every this many steps (0 disables it)."""
    val_views: int = 4
    """How many validation views to render (evenly spread over the split)."""
    val_rays: int = 0
    """Validate on at most this many pixels per view, on a fixed lattice (0: whole images, the paper). A full
    504x378 view costs ~20 s on 2 CPU cores: without a cap, validating fern every 200 steps would take a third of
    a 20-minute budget."""
    log_every: int = 100
    """Append training metrics to metrics.jsonl every this many steps."""
    seed: int = 0
    """Seed of initialisation, ray sampling and density noise."""


@dataclass
class ExtractConfig:
    """Sample field extraction (set by ``jneusample extract``; empty for a plain training run)."""

    parent: str = ""
    """Run directory of the trained N-sample model this run was extracted from ('' when not extracted)."""
    parent_step: int = 0
    """Step of the parent checkpoint."""
    steps: int = 20_000
    """Default fine-tuning steps of an extraction from a run of this preset (the reference port: 10 x 2000)."""
    sample_field_lr: float = 5e-4
    """Constant learning rate of the sample field (trunk and new head)."""
    radiance_lr: float = 5e-5
    """Constant learning rate of the radiance field."""
    head_init: ExtractHeadInit = "fresh"
    """Where the new head starts: 'fresh' (the port: samples spread evenly along every ray) or 'quantiles' (its
    bias puts the samples, on every ray alike, at the mid-quantiles of the parent's compositing weights pooled
    over 8192 training rays, the last one where the parent's last is; docs/method.md §5, jneusample/training/distill.py).
    The default 'fresh' is what a config without this field meant; see extract.distill for the presets."""
    distill: ExtractDistill = "none"
    """What teaches the new head besides the photometric loss: 'none' (the port: nothing) or 'coverage' (the
    parent, frozen, renders each training ray too, and each of its compositing weights pulls the nearest of the
    child's samples: the error of quantising the parent's weights by the child's samples, in units of far − near,
    times extract.distill_weight). The default 'none' is what a config without this field meant; the cpu preset
    (and quick, which starts from it) sets head_init='quantiles' and distill='coverage', measured to lose less
    than half of what the port's extraction loses (benchmarks/results/extraction_distill.json); paper and tiny
    keep the port's extraction ('fresh', 'none')."""
    distill_weight: float = 1.0
    """'coverage': λ of the coverage loss (in units of the ray's length, far − near)."""
    distill_color_weight: float = 0.0
    """'coverage': λ of the squared error between the child's and the parent's rendered colours (0: none)."""

    @property
    def is_extraction(self) -> bool:
        """Whether this run is a sample field extraction (it has a parent), not a training run."""
        return bool(self.parent)


@dataclass
class Config:
    preset: str = "paper"
    """Name of the preset this config started from."""
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @staticmethod
    def from_dict(values: dict[str, Any], source: str = "config") -> "Config":
        config = Config()
        for section_name, section_values in values.items():
            if section_name == "preset":
                if not isinstance(section_values, str):
                    raise InputError(f"{source}: preset must be a preset's name, got {section_values!r}")
                config.preset = section_values
                continue
            if not hasattr(config, section_name) or not isinstance(section_values, dict):
                raise InputError(f"{source}: unknown config section {section_name!r}")
            for key, value in section_values.items():
                set_value(config, f"{section_name}.{key}", value, source)
        return config


def nerf_sample_counts(n_samples: int) -> tuple[int, int]:
    """NeRF's ``(n_coarse, n_importance)`` for a preset whose NeuSample takes ``n_samples`` points per ray.

    The rule keeps the comparison of the paper at any size: NeRF's fine network sees as many points as
    NeuSample's radiance field (coarse + importance = N) and they split 1 : 2 like NeRF's 64 + 128, so
    N = 192 gives exactly NeRF's Blender configuration (64 + 128) and N = 64 gives 21 + 43. NeRF then queries
    n_coarse + N points per ray (coarse network + fine network), NeuSample N + one sample-field pass, so the
    MLP-cost ratio stays ≈ 0.75 at every N. Presets call this; ``--set model.n_coarse=…`` still overrides it.
    """
    n_coarse = max(3, int(round(n_samples / 3)))
    return n_coarse, max(0, n_samples - n_coarse)


def _paper() -> Config:
    """The published configuration (official Blender config): 400k steps of 4096 rays at full resolution.

    With ``--model nerf`` this is NeRF's Blender configuration (64 coarse + 128 importance samples, 8x256 MLPs,
    4096 rays per step, Adam 5e-4, white background, precrop) with four differences, kept so that the two
    models differ only in how they sample: the learning rate decays linearly to 5e-6 over 400k steps (NeRF:
    exponentially to 5e-5 over 500k, ``lr·0.1^(step/500k)``), density noise std 1 in training (NeRF's Blender
    config: 0; set ``render.density_noise_std=0`` for that), 1000 precrop steps (NeRF's code: 500), and the
    radiance MLPs are NeuSample's (skip input enters layer 4; NeRF's enters layer 5; same parameter count).
    The sample field's head starts as the official code's (``model.sample_field_init='default'``).

    Under ``mpirun -np W`` each rank draws its own 4096 rays, so a step sees W·4096; ``jneusample train`` then
    trains a new run for 400k / W steps (rounded up; LLFF: 100 epochs at W·4096 rays per step) unless ``--steps``
    (or ``--set train.steps``) is given: the same rays in total as one GPU, as the official code does on W GPUs
    (``presets.scene_defaults``, docs/distributed.md).
    """
    return Config(preset="paper")


def _cpu() -> Config:
    """Learns fast on 2 CPU cores: a recognisable 64x64 demo in 3 minutes, lego at 100x100 in 20 (docs/benchmarks.md).

    Half-width MLPs, 2 MPI ranks of 512 rays (one per core), and a time-based schedule: warm-up over the first
    10 % of the budget to a peak rate 4x the paper's, then linear decay to a hundredth of it at the end of
    ``train.minutes`` (20; ``--max-minutes`` changes it), however many steps the machine makes. The higher rate is
    the radiance field's: the sample field keeps the paper's 5e-4 (at 4x its sigmoid outputs saturated on lego with
    one seed in three: every sample at near or far, for good; at 5e-4 it still did on the demo scene with one seed
    in three, so a collapsed field's head is also reset to the uniform placement). Training matmuls take bfloat16
    operands where the CPU has avx512_bf16 (lego x8: 8.3 instead of 5.2 steps/s, the same PSNR per step).
    Measured levers (each on the demo scene, lego and fern; docs/benchmarks.md, "Learning fast" and "Equal steps
    on all three scenes"): the peak rate, the sample field's rate and reset, bfloat16, softplus density, no density
    noise, rays across all views, N = 32 samples.
    """
    config = Config(preset="cpu")
    config.model.sample_field_init = "uniform"  # samples evenly spread from step 0, as in its measurements
    config.model.n_samples = 32
    config.model.n_coarse, config.model.n_importance = nerf_sample_counts(config.model.n_samples)
    config.model.sample_field_width = 128
    config.model.radiance_width = 128
    config.model.density_activation = "softplus"
    config.render.density_noise_std = 0.0
    config.train.schedule = "time"
    config.train.minutes = 20.0
    config.train.steps = 1_000_000  # the time budget ends the run; this is only a cap
    config.train.cpu_processes = 2
    config.train.rays_per_step = 512  # per rank: 1024 per step with the 2 ranks
    config.train.batch_across_views = True
    config.train.lr = 2e-3
    config.train.lr_final = 2e-5
    config.train.sample_field_lr_scale = 0.25  # the sample field at the paper's 5e-4
    config.train.reset_collapsed_sample_field = True
    config.train.bf16_matmuls = True  # where the CPU has avx512_bf16; float32 elsewhere (docs/performance.md)
    config.train.warmup_fraction = 0.1
    config.train.precrop_steps = 100
    config.train.checkpoint_every = 250
    config.train.validate_every = 250  # = checkpoint_every: every checkpoint records its val PSNR
    config.train.val_views = 4
    config.train.val_rays = 4096
    config.train.log_every = 25
    config.render.chunk_points = 1 << 18
    config.extract.steps = 1000
    config.extract.head_init = "quantiles"  # distilled extraction: docs/method.md §5.1
    config.extract.distill = "coverage"
    return config


def _quick() -> Config:
    """Budgets of a few minutes on 2 CPU cores (the demo: 3): the ``cpu`` preset with both MLPs 64 wide.

    At a fixed wall-clock budget, quarter-size matmuls make ~3x the steps of the ``cpu`` preset's width 128,
    and over a few minutes that buys more than the capacity it gives up (measured on the demo scene, lego and
    fern at 3 minutes: docs/benchmarks.md, "A preset for minutes"). Over 20 minutes ``cpu`` is the better choice.
    """
    config = _cpu()
    config.preset = "quick"
    config.model.sample_field_width = 64
    config.model.radiance_width = 64
    config.train.minutes = 5.0
    return config


def _tiny() -> Config:
    """For tests and smoke runs: tiny MLPs, few samples and rays; trains in seconds."""
    config = Config(preset="tiny")
    config.model.sample_field_init = "uniform"  # as the cpu preset (the tests' runs were written with it)
    config.model.n_samples = 8
    config.model.sample_field_depth = 2
    config.model.sample_field_width = 32
    config.model.origin_freqs = 4
    config.model.direction_freqs = 2
    config.model.radiance_depth = 2
    config.model.radiance_width = 32
    config.model.position_freqs = 4
    config.model.view_freqs = 2
    config.model.n_coarse = 8
    config.model.n_importance = 8
    config.train.steps = 20
    config.train.rays_per_step = 64
    config.train.precrop_steps = 5
    config.train.checkpoint_every = 10
    config.train.validate_every = 0
    config.train.val_views = 1
    config.train.log_every = 5
    config.render.chunk_points = 1 << 14
    config.extract.steps = 10
    return config


PRESETS = {"paper": _paper, "cpu": _cpu, "quick": _quick, "tiny": _tiny}


def preset(name: str) -> Config:
    if name not in PRESETS:
        raise InputError(f"unknown preset {name!r} (choose from: {', '.join(PRESETS)})")
    return PRESETS[name]()


def _coerce(value: Any, current: Any, key: str, source: str) -> Any:
    """Convert ``value`` (a string from the command line, or JSON data) to the type of ``current``."""
    target = type(current)
    if target is tuple:  # a list of integers: '8,16,32' on the command line, [8, 16, 32] in JSON
        return int_tuple(value, key, source)
    if isinstance(value, str) and target is not str:
        text = value.strip()
        if target is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise InputError(f"{source}: {key} expects true/false, got {value!r}")
        try:
            if target is int:
                number = float(text)  # accepts 1e4 as well as 10000
                if not number.is_integer():
                    raise ValueError
                return int(number)
            return target(text)
        except ValueError:
            raise InputError(f"{source}: {key} expects a {target.__name__}, got {value!r}") from None
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, target) or (target is int and isinstance(value, bool)):
        raise InputError(f"{source}: {key} expects a {target.__name__}, got {value!r}")
    return value


def set_value(config: Config, dotted_key: str, value: Any, source: str = "--set") -> None:
    """Set ``section.field`` of ``config`` to ``value`` converted to the field's type."""
    parts = dotted_key.split(".")
    if len(parts) != 2 or not hasattr(config, parts[0]) or not dataclasses.is_dataclass(getattr(config, parts[0])):
        raise InputError(f"{source}: unknown config key {dotted_key!r} (expected section.field, e.g. train.steps)")
    section = getattr(config, parts[0])
    if parts[1] not in {f.name for f in dataclasses.fields(section)}:
        known = ", ".join(f.name for f in dataclasses.fields(section))
        raise InputError(f"{source}: unknown config key {dotted_key!r} ({parts[0]} has: {known})")
    setattr(section, parts[1], _coerce(value, getattr(section, parts[1]), dotted_key, source))


def apply_overrides(config: Config, overrides: list[str]) -> Config:
    """Apply ``key=value`` strings (``--set``) in order."""
    for item in overrides:
        if "=" not in item:
            raise InputError(f"--set {item!r}: expected key=value, e.g. train.steps=1000")
        key, value = item.split("=", 1)
        set_value(config, key.strip(), value)
    validate(config)
    return config


def _literal_choices() -> dict[str, tuple[str, ...]]:
    """``section.field`` → the values its ``Literal`` annotation allows, for every such field of :class:`Config`."""
    choices = {}
    for section in dataclasses.fields(Config):
        section_type = typing.get_type_hints(Config)[section.name]
        if not dataclasses.is_dataclass(section_type):
            continue
        for name, hint in typing.get_type_hints(section_type).items():
            if get_origin(hint) is Literal:
                choices[f"{section.name}.{name}"] = get_args(hint)
    return choices


def choice_problems(config: Config) -> list[str]:
    """A message for each choice field (a ``Literal``-typed one: :data:`CHOICES`) whose value is not a choice."""
    problems = []
    for key, choices in CHOICES.items():
        section, name = key.split(".")
        value = getattr(getattr(config, section), name)
        if value not in choices:
            problems.append(f"{key} must be {' or '.join(repr(c) for c in choices)}, got {value!r}")
    return problems


def validate(config: Config) -> None:
    """Reject values no run can use, with the offending key in the message."""
    for section in dataclasses.fields(config):  # inf / nan would pass the range checks below (nan > 0 is False
        values = getattr(config, section.name)  # but inf > 0 is True) and train into NaN
        if not dataclasses.is_dataclass(values):
            continue
        for item in dataclasses.fields(values):
            value = getattr(values, item.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise InputError(f"invalid config: {section.name}.{item.name} must be a finite number, got {value}")
    checks = [(False, problem) for problem in choice_problems(config)] + [
        (config.data.factor >= 1, "data.factor must be >= 1"),
        (config.model.n_samples >= 2, "model.n_samples must be >= 2"),
        (2 <= config.model.sample_field_bins <= MAX_SAMPLE_FIELD_BINS,
         f"model.sample_field_bins must be in [2, {MAX_SAMPLE_FIELD_BINS}]"),
        (not config.model.samples_choices or config.model.sample_field_head == "quantile",
         "model.samples_choices needs model.sample_field_head='quantile' (the paper head has a fixed N)"),
        (0 <= config.model.sample_field_histogram_uniform <= 1,
         "model.sample_field_histogram_uniform must be in [0, 1]"),
        (config.model.sample_field_histogram_loss >= 0, "model.sample_field_histogram_loss must be >= 0"),
        (config.model.sample_field_histogram_loss == 0 or config.model.sample_field_head == "quantile",
         "model.sample_field_histogram_loss needs model.sample_field_head='quantile' (the paper head has no "
         "histogram)"),
        (config.model.sample_field_proposal_loss >= 0, "model.sample_field_proposal_loss must be >= 0"),
        (config.model.sample_field_probes >= 2, "model.sample_field_probes must be >= 2"),
        (0 < config.model.sample_field_probe_share <= 1, "model.sample_field_probe_share must be in (0, 1]"),
        (config.model.sample_field_depth >= 1 and config.model.radiance_depth >= 1, "MLP depths must be >= 1"),
        (config.model.sample_field_width >= 2 and config.model.radiance_width >= 2, "MLP widths must be >= 2"),
        (config.model.n_coarse >= 2 and config.model.n_importance >= 0, "model.n_coarse >= 2, n_importance >= 0"),
        (config.train.steps >= 1, "train.steps must be >= 1"),
        (1 <= config.train.rays_per_step <= MAX_RAYS_PER_STEP,
         f"train.rays_per_step must be in [1, {MAX_RAYS_PER_STEP:,}], got {config.train.rays_per_step:,} (a step's "
         "activations grow with it: 2^20 rays of the paper's model need over 1 TiB)"),
        (0 < config.train.precrop_fraction <= 1, "train.precrop_fraction must be in (0, 1]"),
        (config.train.checkpoint_every >= 1, "train.checkpoint_every must be >= 1"),
        (config.train.keep_checkpoints >= 1, "train.keep_checkpoints must be >= 1"),
        (config.train.lr > 0 and config.train.lr_final >= 0, "learning rates must be positive"),
        (math.isfinite(config.train.sample_field_lr_scale) and config.train.sample_field_lr_scale > 0,
         "train.sample_field_lr_scale must be a positive number"),
        (config.render.chunk_points >= 1, "render.chunk_points must be >= 1"),
        (0.0 <= config.train.warmup_fraction < 1.0, "train.warmup_fraction must be in [0, 1)"),
        (config.train.minutes >= 0, "train.minutes must be >= 0"),
        (config.extract.distill_weight >= 0 and config.extract.distill_color_weight >= 0,
         "extract.distill_weight and extract.distill_color_weight must be >= 0"),
    ]
    for ok, message in checks:
        if not ok:
            raise InputError(f"invalid config: {message}")
    int_tuple(config.model.samples_choices, "model.samples_choices")  # set from Python: checked here too


CHOICES: dict[str, tuple[str, ...]] = _literal_choices()
"""The choice fields of a :class:`Config` (``section.field`` → its values), read from their ``Literal`` types, so
that the type is the one list of a field's choices (:func:`validate` checks them)."""


MAX_RAYS_PER_STEP = 1 << 20
"""Upper bound of ``train.rays_per_step``, checked before anything is allocated: a step holds every MLP layer's
activations for rays × samples points (the paper's 4096 rays × 192 samples × 8 × 256 floats are ≈ 6 GiB in
forward and backward), so 2^20 rays of the paper's model would need ≈ 1.5 TiB; a larger value is a typo (an
extra digit), which would otherwise end in an out-of-memory kill or a swap storm instead of a message."""
MAX_SAMPLE_FIELD_BINS = 4096
"""Upper bound of ``model.sample_field_bins``: the quantile search compares every sample with every bin edge."""


def int_tuple(value: Any, key: str, source: str = "invalid config") -> tuple[int, ...]:
    """A list of sample counts, ascending: '8,16,32' (comma-separated text: the command line, and the configs of
    runs saved before this field was a list), or a list/tuple of integers → (8, 16, 32); '' or [] → (). A value
    that is not an integer >= 2, or a repeated one, is a one-line InputError."""
    if isinstance(value, str):
        items = [item.strip() for item in value.split(",")] if value.strip() else []
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise InputError(f"{source}: {key} expects integers >= 2 separated by commas, got {value!r}")
    values = []
    for item in items:
        try:
            number = float(item) if not isinstance(item, bool) else 0.0
        except (TypeError, ValueError):
            number = 0.0
        if not number.is_integer() or number < 2:
            raise InputError(f"{source}: {key} must list integers >= 2 separated by commas (e.g. 8,16,32,64), "
                             f"got {value!r}")
        values.append(int(number))
    if len(set(values)) != len(values):
        raise InputError(f"{source}: {key} lists a value twice: {value!r}")
    return tuple(sorted(values))


# Keys that may differ between a run's saved config and the command that resumes it: they change how long or
# how verbosely the run goes on, not what it computes per step.
RESUMABLE_KEYS = {"train.steps", "train.minutes", "train.checkpoint_every", "train.keep_checkpoints",
                  "train.validate_every", "train.val_views", "train.log_every", "render.chunk_points", "data.testskip"}
"""``train.minutes`` (a 'time' schedule's budget, set by ``--max-minutes``) extends a run like ``train.steps``:
the schedule is then spread over the new budget."""


def differences(a: Config, b: Config) -> list[str]:
    """Dotted keys whose values differ between two configs."""
    out = []
    da, db = a.to_dict(), b.to_dict()
    for section in da:
        if not isinstance(da[section], dict):
            if da[section] != db.get(section):
                out.append(section)
            continue
        for key in da[section]:
            if da[section][key] != db[section].get(key):
                out.append(f"{section}.{key}")
    return out
