"""The training loop: fit() trains a registered network and reports progress as small event dicts.

It reads like the classic MNIST loop: set up, then per epoch train one pass and evaluate, then end.
Events and their fields are listed in docs/design.md ("The run protocol").
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..data import Dataset
from ..models import build_model
from ..recipes import Recipe, degrade_probabilities
from ..request import DEVICES
from .augment import degrade, random_affine
from .evaluate import evaluate
from .finetune import Tuning
from .optim import WeightAverage, make_optimizer, make_scheduler
from .state import grad_layers, load_train_state, train_state
from .steering import NO_STEERING, Steerer, Steering

Event = dict
Listener = Callable[[Event], None]

BATCH_EVENT_EVERY = 10  # batches per "batch" event: enough for a smooth live chart, few host syncs


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
    channels_last: bool = True  # measured faster on CPU for both networks (docs/design.md)
    record_grads: bool = True  # per-layer gradient norms in every "batch" event (gradient flow)
    finetune: Optional[dict] = None  # start from a checkpoint, train on a handwriting set (engine/finetune.py)

    def to_dict(self) -> dict:
        return asdict(self)  # the recipe too, as a dict


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but no CUDA GPU is available here")
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, not {name!r}")
    return torch.device(name)


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
    t = _Training(config, data, on_event, steer, resume)
    t.start()
    status, reason, last = "done", "", None
    try:
        for epoch in range(t.first_epoch, t.last_epoch + 1):
            seconds = t.train_one_epoch(epoch, should_stop)
            if seconds is None:
                status, reason = "stopped", f"stopped by request in epoch {epoch}"
                break
            last = t.evaluate_epoch(epoch, seconds)
            if on_checkpoint is not None:
                on_checkpoint(t.eval_model, last)
            if on_train_state is not None:
                on_train_state(train_state(epoch, t.model, t.opt, t.ema, t.gen, last["elapsed"]))
    except _Diverged as d:
        status = "diverged"
        reason = (f"loss became {d.value} in epoch {d.epoch}, batch {d.batch}: training diverged. "
                  f"Try a smaller learning rate (this run used {t.steering.applied.lr or t.start_lr:g}).")
    return t.end(status, reason, last)


class _Training:
    """One fit() call's state: set up once, then one epoch at a time, then the end event."""

    def __init__(self, config: TrainConfig, data: Dataset, on_event: Listener,
                 steer: Callable[[], Steering], resume: Optional[dict]):
        r = self.recipe = config.recipe
        self.config, self.data, self.emit = config, data, on_event
        self.device = torch.device(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        if self.device.type == "cpu":
            # Tiny gradients late in training become denormal floats, which x86 handles ~100x slower
            # (seen: an epoch going from 6 s to 88 s). Flushing them to zero changes nothing visible.
            torch.set_flush_denormal(True)
        torch.manual_seed(config.seed)
        self.gen = torch.Generator(device=self.device).manual_seed(config.seed)
        self.degrade = degrade_probabilities(r.degrade) if r.degrade else None  # parsed once, not per batch
        self.channels_last = config.channels_last and self.device.type == "cpu"
        self.model = build_model(config.model, **config.model_kwargs).to(self.device)
        if self.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.tuning = None  # fine-tuning: the checkpoint's weights, frozen layers, the set's batches
        if config.finetune:
            self.tuning = Tuning(config.finetune, data, self.model, config.model, self.device, config.limit)
        self.opt = make_optimizer(self.model, r)
        self.ema = WeightAverage(self.model, r.ema) if r.ema else None
        self.train_x, self.train_y = data.train_x, data.train_y
        if config.limit:
            self.train_x, self.train_y = self.train_x[:config.limit], self.train_y[:config.limit]
        self.n = len(self.train_x)
        self.steps = math.ceil(self.n / r.batch_size)
        if self.tuning:
            self.steps = self.tuning.steps(r.batch_size)
            self.n = self.steps * r.batch_size
        self.first_epoch, self.last_epoch, self.start_lr, elapsed_before = 1, r.epochs, r.lr, 0.0
        sched = None
        if resume is None:
            sched = make_scheduler(self.opt, r, self.steps)
        else:
            load_train_state(resume, self.model, self.opt, self.ema, self.gen, config.seed)
            self.first_epoch, self.last_epoch = resume["epoch"] + 1, resume["epoch"] + r.epochs
            self.start_lr, elapsed_before = resume["lr"], float(resume.get("elapsed", 0.0))
            for group in self.opt.param_groups:
                group["lr"] = self.start_lr
        self.steering = Steerer(self.opt, sched, on_event, steer)
        # frozen layers have no gradient to record
        self.tracked = [(n, p) for n, p in grad_layers(self.model) if p.requires_grad] if config.record_grads else []
        self.t_start = time.perf_counter() - elapsed_before  # an extended run's clock goes on where it stopped

    @property
    def eval_model(self) -> nn.Module:
        return self.ema.model if self.ema is not None else self.model

    def start(self) -> None:
        self.emit({"event": "start", "model": self.config.model, "recipe": self.config.recipe_name,
                   "samples": self.n, "test_samples": len(self.data.test_x), "epochs": self.last_epoch,
                   "first_epoch": self.first_epoch, "lr": self.steering.lr(),
                   "steps_per_epoch": self.steps, "device": str(self.device),
                   "threads": torch.get_num_threads(), "grad_layers": [name for name, _ in self.tracked],
                   "pid": os.getpid(), "time": time.time(),
                   **(self.tuning.start_fields(self.eval_model, self.channels_last) if self.tuning else {})})

    def train_one_epoch(self, epoch: int, should_stop: Callable[[], bool]) -> Optional[float]:
        """One pass over the training images; its training seconds (pauses left out), None if stopped."""
        r, dev = self.recipe, self.device
        t0 = time.perf_counter()
        perm = self.tuning.order(self.gen) if self.tuning else torch.randperm(self.n, generator=self.gen, device=dev)
        self.epoch_loss, self.epoch_correct = torch.zeros((), device=dev), torch.zeros((), device=dev, dtype=torch.long)
        window = _Window(dev)
        for step in range(self.steps):
            if should_stop():
                return None
            paused, stop = self.steering.check({"epoch": epoch, "batch": step, "batches": self.steps}, should_stop)
            t0 += paused  # paused time is not training time
            self.t_start += paused
            if stop:
                return None
            if self.tuning:
                xb, yb = self.tuning.batch(perm, step)
            else:
                idx = perm[step * r.batch_size:(step + 1) * r.batch_size]
                xb, yb = self.train_x[idx], self.train_y[idx]
            report = (step + 1) % BATCH_EVENT_EVERY == 0 or step + 1 == self.steps
            loss, correct, grad_norms = self._step(xb, yb, report)
            self.epoch_loss += loss
            self.epoch_correct += correct
            window.add(loss, correct, len(yb))
            if report:
                self._report(epoch, step + 1, window, grad_norms, time.perf_counter() - t0)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    def _step(self, xb: torch.Tensor, yb: torch.Tensor, report: bool):
        """One optimizer step; (summed loss, correct count, gradient norms or None), kept on the device
        (no host sync per batch: it matters on CUDA)."""
        if self.recipe.augment:
            xb = random_affine(xb, self.gen)
        if self.degrade:
            xb = degrade(xb, self.gen, **self.degrade)
        if self.channels_last:
            xb = xb.contiguous(memory_format=torch.channels_last)
        out = self.model(xb)
        loss = F.cross_entropy(out, yb, label_smoothing=self.recipe.label_smoothing)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        grad_norms = None
        if report and self.tracked:  # one fused norm kernel, only on reporting batches
            grad_norms = torch.stack(torch._foreach_norm([p.grad for _, p in self.tracked]))
        self.opt.step()
        self.steering.step_schedule()
        if self.ema is not None:
            self.ema.update(self.model)
        return loss.detach() * len(yb), (out.detach().argmax(1) == yb).sum(), grad_norms

    def _report(self, epoch: int, batch: int, window: "_Window", grad_norms, seconds: float) -> None:
        loss = window.loss.item() / window.n
        if not math.isfinite(loss):
            raise _Diverged(epoch, batch, loss)
        event = {"event": "batch", "epoch": epoch, "batch": batch, "batches": self.steps,
                 "loss": loss, "acc": window.correct.item() / window.n,
                 "lr": self.opt.param_groups[0]["lr"], "samples": window.seen, "seconds": seconds}
        if grad_norms is not None:
            event["grad_norm"] = [_finite_or_none(g) for g in grad_norms.tolist()]
        self.emit(event)
        window.reset()

    def evaluate_epoch(self, epoch: int, seconds: float) -> dict:
        """Test the epoch's model (the weight average when the recipe keeps one); emit the epoch event."""
        train_loss = self.epoch_loss.item() / self.n
        if not math.isfinite(train_loss):
            raise _Diverged(epoch, self.steps, train_loss)
        test_loss, test_acc = evaluate(self.eval_model, self.data.test_x, self.data.test_y, self.channels_last)
        if not math.isfinite(test_loss):  # weights broke on the epoch's last batches: save nothing
            raise _Diverged(epoch, self.steps, test_loss)
        event = {"event": "epoch", "epoch": epoch, "epochs": self.last_epoch,
                 "train_loss": train_loss, "train_acc": self.epoch_correct.item() / self.n,
                 "test_loss": test_loss, "test_acc": test_acc, "seconds": seconds,
                 "samples_per_s": self.n / seconds, "lr": self.opt.param_groups[0]["lr"],
                 "elapsed": time.perf_counter() - self.t_start,
                 **(self.tuning.held_out(self.eval_model, self.channels_last) if self.tuning else {})}
        self.emit(event)
        return event

    def end(self, status: str, reason: str, last: Optional[dict]) -> dict:
        end = {"event": "end", "status": status, "reason": reason,
               "epochs_completed": last["epoch"] if last else 0,
               "test_acc": last["test_acc"] if last else None,
               **({"held_out_acc": last["held_out_acc"] if last else None} if self.tuning else {}),
               "elapsed": time.perf_counter() - self.t_start}
        self.emit(end)
        return {**end, "model": self.eval_model}


class _Window:
    """Loss and accuracy summed over the batches since the last "batch" event, on the device."""

    def __init__(self, device: torch.device):
        self.loss = torch.zeros((), device=device)
        self.correct = torch.zeros((), device=device, dtype=torch.long)
        self.n, self.seen = 0, 0

    def add(self, loss: torch.Tensor, correct: torch.Tensor, count: int) -> None:
        self.loss += loss
        self.correct += correct
        self.n += count
        self.seen += count

    def reset(self) -> None:
        self.loss.zero_()
        self.correct.zero_()
        self.n = 0


def _finite_or_none(x: float) -> Optional[float]:
    return x if math.isfinite(x) else None  # JSON has no NaN/inf


class _Diverged(Exception):
    def __init__(self, epoch: int, batch: int, value: float):
        super().__init__(f"non-finite loss {value}")
        self.epoch, self.batch, self.value = epoch, batch, value
