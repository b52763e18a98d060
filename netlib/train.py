"""The training engine: fit() trains a registered network and reports progress as small event dicts."""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .models import build_model
from .recipes import Recipe

Event = dict
Listener = Callable[[Event], None]

BATCH_EVENT_EVERY = 10  # batches per "batch" event: enough for a smooth live chart, few host syncs
EVAL_BATCH = 2000


@dataclass
class TrainConfig:
    model: str
    recipe_name: str
    recipe: Recipe
    model_kwargs: dict = field(default_factory=dict)
    seed: int = 0
    device: str = "cpu"
    threads: Optional[int] = None  # None: leave torch's default
    limit: Optional[int] = None  # train on the first N training images (the test set stays whole)
    channels_last: bool = True  # measured faster on CPU for both networks (DESIGN §6)
    record_grads: bool = True  # per-layer gradient norms in every "batch" event (gradient flow)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["recipe"] = self.recipe.to_dict()
        return d


@dataclass
class Dataset:
    """Normalised float images N x 1 x 28 x 28 and int64 labels, already on the training device."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but no CUDA GPU is available here")
    if name not in ("cpu", "cuda"):
        raise ValueError(f"device must be auto, cpu or cuda, not {name!r}")
    return torch.device(name)


def random_affine(x: torch.Tensor, gen: torch.Generator, degrees=12.0, shift_px=2.0, scale=0.1):
    """Light per-sample rotation, shift and scale on a whole batch at once (one grid_sample)."""
    n = x.shape[0]
    r = torch.rand(n, 4, generator=gen, device=x.device) * 2 - 1  # uniform in [-1, 1)
    angle = r[:, 0] * math.radians(degrees)
    s = 1 + r[:, 1] * scale
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    tx, ty = r[:, 2] * shift_px * 2 / 28, r[:, 3] * shift_px * 2 / 28
    theta = torch.stack([torch.stack([cos, -sin, tx], 1), torch.stack([sin, cos, ty], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    # Background is the normalised value of a black pixel, not 0 (which would be grey).
    bg = x.amin()
    return F.grid_sample(x - bg, grid, align_corners=False, padding_mode="zeros") + bg


def make_optimizer(model: nn.Module, r: Recipe) -> torch.optim.Optimizer:
    if r.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=r.lr, momentum=r.momentum,
                               weight_decay=r.weight_decay)
    if r.optimizer == "adam":
        return torch.optim.Adam(model.parameters(), lr=r.lr, weight_decay=r.weight_decay)
    return torch.optim.AdamW(model.parameters(), lr=r.lr, weight_decay=r.weight_decay)


def make_scheduler(opt, r: Recipe, steps_per_epoch: int):
    total = r.epochs * steps_per_epoch
    if r.schedule != "onecycle" or total < 4:  # too few steps for a warm-up and a decay
        return None
    # OneCycleLR divides by (warm-up steps - 1): keep at least two warm-up steps.
    pct = min(max(r.warmup, 2.5 / total), 0.5)
    return torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=r.lr, total_steps=total, pct_start=pct, div_factor=10, final_div_factor=100)


@dataclass(frozen=True)
class Steering:
    """What a person asked of a running run: hold it, or train on at another learning rate."""

    paused: bool = False
    lr: Optional[float] = None  # None: the recipe's schedule; a number: this constant rate from now


NO_STEERING = Steering()
PAUSE_POLL_S = 0.1


def grad_layers(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """The weight tensors whose gradient norms describe gradient flow: every conv and linear layer,
    input side first (biases left out: they say little about flow)."""
    return [(name.removesuffix(".weight"), p) for name, p in model.named_parameters() if p.dim() > 1]


class _Steerer:
    """Applies Steering to a live optimizer at batch boundaries and records what changed.

    A rate set by hand holds from the next batch on; the schedule keeps counting underneath it (and
    keeps cycling momentum), so "back to the schedule" picks it up where it would be by now.
    """

    def __init__(self, opt, sched, on_event: Listener, steer: Callable[[], Steering]):
        self.opt, self.sched, self.emit, self.poll = opt, sched, on_event, steer
        self.applied = NO_STEERING
        self.base = [g["lr"] for g in opt.param_groups]  # the rates without a schedule

    def lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    def step_schedule(self) -> None:
        if self.sched is not None:
            self.sched.step()
        if self.applied.lr is not None:
            self._set(self.applied.lr)

    def check(self, where: dict, should_stop: Callable[[], bool]) -> float:
        """Apply new steering; block while paused. Returns the seconds spent paused."""
        wanted = self.poll()
        if wanted == self.applied:
            return 0.0
        self._apply_lr(wanted, where)
        if not wanted.paused:
            self.applied = wanted
            return 0.0
        t = time.perf_counter()
        self.emit({"event": "pause", **where, "time": time.time()})
        while wanted.paused and not should_stop():
            time.sleep(PAUSE_POLL_S)
            wanted = self.poll()
            self._apply_lr(wanted, where)
        paused = time.perf_counter() - t
        self.applied = Steering(False, wanted.lr)
        self.emit({"event": "resume", **where, "paused_seconds": paused, "time": time.time()})
        return paused

    def _set(self, lr) -> None:
        for group, value in zip(self.opt.param_groups, lr if isinstance(lr, list) else [lr] * len(self.base)):
            group["lr"] = value

    def _apply_lr(self, wanted: Steering, where: dict) -> None:
        if wanted.lr == self.applied.lr:
            return
        old = self.lr()
        if wanted.lr is None:  # back to the schedule, at the point it has reached
            self._set(self.sched.get_last_lr() if self.sched is not None else self.base)
        else:
            self._set(wanted.lr)
        self.applied = Steering(self.applied.paused, wanted.lr)
        self.emit({"event": "lr_change", **where, "from": old, "to": self.lr(), "schedule": wanted.lr is None,
                   "time": time.time()})


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, channels_last: bool):
    """(mean loss per sample, accuracy) on the whole set."""
    model.eval()
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), device=x.device, dtype=torch.long)
    for i in range(0, len(x), EVAL_BATCH):
        xb = x[i:i + EVAL_BATCH]
        if channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        out = model(xb)
        loss_sum += F.cross_entropy(out, y[i:i + EVAL_BATCH], reduction="sum")
        correct += (out.argmax(1) == y[i:i + EVAL_BATCH]).sum()
    model.train()
    return loss_sum.item() / len(x), correct.item() / len(x)


def fit(config: TrainConfig, data: Dataset, on_event: Listener = lambda e: None,
        should_stop: Callable[[], bool] = lambda: False,
        on_checkpoint: Optional[Callable[[nn.Module, dict], None]] = None,
        steer: Callable[[], Steering] = lambda: NO_STEERING,
        on_train_state: Optional[Callable[[dict], None]] = None,
        resume: Optional[dict] = None) -> dict:
    """Train config.model on data; emit start/batch/epoch/end events; return the end event.

    should_stop and steer are polled at every batch boundary; on_checkpoint(model, epoch_event) is
    called after each completed epoch so the caller can save it (the engine knows nothing of files),
    and on_train_state(state) with what resuming needs (weights, optimizer, generator).
    resume: such a state; training then goes on from its epoch for config.recipe.epochs more epochs
    at a constant learning rate (state["lr"]), numbering epochs after the ones already done.
    """
    r = config.recipe
    device = torch.device(config.device)
    if config.threads:
        torch.set_num_threads(config.threads)
    if device.type == "cpu":
        # Tiny gradients late in training become denormal floats, which x86 handles ~100x slower
        # (seen: an epoch going from 6 s to 88 s). Flushing them to zero changes nothing visible.
        torch.set_flush_denormal(True)
    torch.manual_seed(config.seed)
    gen = torch.Generator(device=device).manual_seed(config.seed)
    use_cl = config.channels_last and device.type == "cpu"

    model = build_model(config.model, **config.model_kwargs).to(device)
    if use_cl:
        model = model.to(memory_format=torch.channels_last)
    opt = make_optimizer(model, r)
    ema = WeightAverage(model, r.ema) if r.ema else None
    train_x, train_y = data.train_x, data.train_y
    if config.limit:
        train_x, train_y = train_x[:config.limit], train_y[:config.limit]
    n = len(train_x)
    steps = math.ceil(n / r.batch_size)
    first_epoch, last, start_lr, elapsed_before = 1, r.epochs, r.lr, 0.0
    if resume is None:
        sched = make_scheduler(opt, r, steps)
    else:
        _load_train_state(resume, model, opt, ema, gen, config.seed)
        first_epoch, last = resume["epoch"] + 1, resume["epoch"] + r.epochs
        start_lr, elapsed_before = resume["lr"], float(resume.get("elapsed", 0.0))
        sched = None
        for group in opt.param_groups:
            group["lr"] = start_lr
    steering = _Steerer(opt, sched, on_event, steer)
    tracked = grad_layers(model) if config.record_grads else []

    t_start = time.perf_counter() - elapsed_before  # an extended run's clock goes on where it stopped
    on_event({"event": "start", "model": config.model, "recipe": config.recipe_name,
              "samples": n, "test_samples": len(data.test_x), "epochs": last,
              "first_epoch": first_epoch, "lr": steering.lr(),
              "steps_per_epoch": steps, "device": str(device), "threads": torch.get_num_threads(),
              "grad_layers": [name for name, _ in tracked],
              "pid": os.getpid(), "time": time.time()})

    status, reason, last_epoch = "done", "", None
    try:
        for epoch in range(first_epoch, last + 1):
            t0 = time.perf_counter()
            perm = torch.randperm(n, generator=gen, device=device)
            loss_sum = torch.zeros((), device=device)
            correct = torch.zeros((), device=device, dtype=torch.long)
            win_loss, win_n, win_correct, seen = loss_sum.clone(), 0, correct.clone(), 0
            stopped = False
            for step in range(steps):
                if should_stop():
                    stopped = True
                    break
                paused = steering.check({"epoch": epoch, "batch": step, "batches": steps}, should_stop)
                if paused:
                    t0 += paused  # paused time is not training time
                    t_start += paused
                    if should_stop():
                        stopped = True
                        break
                idx = perm[step * r.batch_size:(step + 1) * r.batch_size]
                xb, yb = train_x[idx], train_y[idx]
                if r.augment:
                    xb = random_affine(xb, gen)
                if use_cl:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                out = model(xb)
                loss = F.cross_entropy(out, yb, label_smoothing=r.label_smoothing)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                report = (step + 1) % BATCH_EVENT_EVERY == 0 or step + 1 == steps
                if report and tracked:  # one fused norm kernel, only on reporting batches
                    grad_norms = torch.stack(torch._foreach_norm([p.grad for _, p in tracked]))
                opt.step()
                steering.step_schedule()
                if ema is not None:
                    ema.update(model)
                # Kept on the device: no host sync per batch (matters on CUDA).
                batch_loss = loss.detach() * len(yb)
                batch_correct = (out.detach().argmax(1) == yb).sum()
                loss_sum += batch_loss
                correct += batch_correct
                win_loss += batch_loss
                win_correct += batch_correct
                win_n += len(yb)
                seen += len(yb)
                if report:
                    wl = win_loss.item() / win_n
                    if not math.isfinite(wl):
                        raise _Diverged(epoch, step + 1, wl)
                    event = {"event": "batch", "epoch": epoch, "batch": step + 1, "batches": steps,
                             "loss": wl, "acc": win_correct.item() / win_n,
                             "lr": opt.param_groups[0]["lr"], "samples": seen,
                             "seconds": time.perf_counter() - t0}
                    if tracked:
                        event["grad_norm"] = [_finite_or_none(g) for g in grad_norms.tolist()]
                    on_event(event)
                    win_loss.zero_()
                    win_correct.zero_()
                    win_n = 0
            if stopped:
                status, reason = "stopped", f"stopped by request in epoch {epoch}"
                break
            if device.type == "cuda":
                torch.cuda.synchronize()
            seconds = time.perf_counter() - t0
            train_loss = loss_sum.item() / n
            if not math.isfinite(train_loss):
                raise _Diverged(epoch, steps, train_loss)
            eval_model = ema.model if ema is not None else model
            test_loss, test_acc = evaluate(eval_model, data.test_x, data.test_y, use_cl)
            if not math.isfinite(test_loss):  # weights broke on the epoch's last batches: save nothing
                raise _Diverged(epoch, steps, test_loss)
            last_epoch = {"event": "epoch", "epoch": epoch, "epochs": last,
                          "train_loss": train_loss, "train_acc": correct.item() / n,
                          "test_loss": test_loss, "test_acc": test_acc, "seconds": seconds,
                          "samples_per_s": n / seconds, "lr": opt.param_groups[0]["lr"],
                          "elapsed": time.perf_counter() - t_start}
            on_event(last_epoch)
            if on_checkpoint is not None:
                on_checkpoint(eval_model, last_epoch)
            if on_train_state is not None:
                on_train_state(_train_state(epoch, model, opt, ema, gen, last_epoch["elapsed"]))
    except _Diverged as d:
        status = "diverged"
        reason = (f"loss became {d.value} in epoch {d.epoch}, batch {d.batch}: training diverged. "
                  f"Try a smaller learning rate (this run used {steering.applied.lr or start_lr:g}).")
    end = {"event": "end", "status": status, "reason": reason,
           "epochs_completed": last_epoch["epoch"] if last_epoch else 0,
           "test_acc": last_epoch["test_acc"] if last_epoch else None,
           "elapsed": time.perf_counter() - t_start}
    on_event(end)
    return {**end, "model": ema.model if ema is not None else model}


def _finite_or_none(x: float) -> Optional[float]:
    return x if math.isfinite(x) else None  # JSON has no NaN/inf


def _train_state(epoch: int, model: nn.Module, opt, ema, gen: torch.Generator, elapsed: float) -> dict:
    """Everything +1 epoch needs, as plain tensors and numbers (loadable with weights_only=True)."""
    return {"epoch": epoch, "lr": opt.param_groups[0]["lr"], "elapsed": elapsed,
            "model": {k: v.detach().clone() for k, v in model.state_dict().items()},
            "ema": None if ema is None else {k: v.clone() for k, v in ema.model.state_dict().items()},
            "ema_steps": 0 if ema is None else ema.steps,
            "optimizer": copy.deepcopy(opt.state_dict()), "generator": gen.get_state()}


def _load_train_state(state: dict, model: nn.Module, opt, ema, gen: torch.Generator, seed: int) -> None:
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["optimizer"])
    if ema is not None:
        ema.model.load_state_dict(state["ema"] if state.get("ema") else state["model"])
        ema.steps = state.get("ema_steps", 0)
    saved = state.get("generator")
    if saved is not None and saved.numel() == gen.get_state().numel():
        gen.set_state(saved.cpu())  # same kind of device: the shuffles go on exactly
    else:  # a CPU run extended on a GPU or back: a fresh stream, not epoch 1's again
        gen.manual_seed(seed * 1_000_003 + state["epoch"])


class WeightAverage:
    """An exponential moving average of a model's weights, the model that is evaluated and saved.

    Mid-schedule weights are noisy at a high learning rate; their average is not (Polyak averaging).
    """

    def __init__(self, model: nn.Module, decay: float):
        self.model = copy.deepcopy(model).eval().requires_grad_(False)
        self.decay, self.steps = decay, 0
        self._ema = list(self.model.parameters())

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.steps += 1
        # Warm-up: a short memory at first, so the average is not dragged by the random init.
        d = min(self.decay, (1 + self.steps) / (10 + self.steps))
        torch._foreach_lerp_(self._ema, list(model.parameters()), 1 - d)


class _Diverged(Exception):
    def __init__(self, epoch: int, batch: int, value: float):
        super().__init__(f"non-finite loss {value}")
        self.epoch, self.batch, self.value = epoch, batch, value
