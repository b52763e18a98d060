"""A checkpoint as an ONNX model: any network at any size, a free batch size, the input contract inside."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from .atomic import atomic_write
from .bounded import not_a_file
from .names import network_title

INPUT_NAME = "image"
OUTPUT_NAME = "logits"
# ONNX opset 20 (the exporter's own default in torch 2.14), pinned so that a torch upgrade does not change
# which runtimes can read the file: onnxruntime 1.17 and newer.
OPSET = 20
LABELS = ",".join(str(d) for d in range(10))
# One export at a time in a process: torch.export traces under process-wide state (the dashboard's
# download buttons may be clicked by two people at once).
_EXPORTING = threading.Lock()


class ExportError(ValueError):
    """An export that cannot be made (a bad output path, an exporter failure): a message for a person."""


def check_target(path: Path) -> Path:
    """path, if an export may be written there: its folder exists, and it is nothing or a regular file
    (a folder or a FIFO is refused: the rename would replace a FIFO a reader waits on)."""
    path = Path(path)
    kind = not_a_file(path)
    if kind:
        raise ExportError(f"{path}: refused as the ONNX file, it is {kind}, not a regular file")
    if not path.parent.is_dir():  # atomic_write would make the folder: a typo would go unnoticed
        raise ExportError(f"{path}: no such folder {path.parent}")
    return path


def metadata(meta: dict) -> dict[str, str]:
    """What a program reading the model needs to know, as the model's metadata_props (strings only)."""
    from .data import MEAN, STD
    from .lab.catalogue import checkpoint_summary

    kwargs = meta.get("model_kwargs") or {}
    training = {k: meta[k] for k in ("recipe_name", "recipe", "metrics") if k in meta}
    return {
        "netlib.input": f"'{INPUT_NAME}': float32 N x 1 x 28 x 28, any batch size N; one MNIST-style digit "
                        "per item (white ink on black, centred, 28 x 28 pixels), normalised as "
                        "netlib.normalisation says",
        "netlib.normalisation": f"x = (pixel / 255 - {MEAN}) / {STD} for pixels 0-255 (MNIST's training "
                                "mean and standard deviation)",
        "netlib.normalisation.mean": str(MEAN),
        "netlib.normalisation.std": str(STD),
        "netlib.output": f"'{OUTPUT_NAME}': float32 N x 10, the logits of digits 0-9 (index d is digit d); "
                         "argmax is the digit read, softmax gives probabilities",
        "netlib.labels": LABELS,
        "netlib.network": str(meta.get("model")),
        "netlib.model_kwargs": json.dumps(kwargs, sort_keys=True),
        "netlib.summary": checkpoint_summary(meta),
        "netlib.training": json.dumps(training, sort_keys=True, default=str),
    }


def onnx_model(checkpoint: Path):
    """(onnx.ModelProto with the metadata, the checkpoint's metadata). CheckpointError for a bad file."""
    import torch

    from .checkpoint import load_checkpoint

    model, meta = load_checkpoint(checkpoint)
    # Two examples, not one: torch.export would specialise a batch of 1 as a constant.
    example = torch.zeros(2, 1, 28, 28)
    try:
        with _EXPORTING:
            program = torch.onnx.export(model, (example,), dynamo=True, input_names=[INPUT_NAME],
                                        output_names=[OUTPUT_NAME], opset_version=OPSET, verbose=False,
                                        dynamic_shapes=({0: torch.export.Dim("batch")},))
        proto = program.model_proto  # a new proto each time it is read: read once, then annotate
    except Exception as e:  # noqa: BLE001  the exporter raises many types; the person needs one line
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
        raise ExportError(f"{Path(checkpoint).name}: the ONNX exporter failed: {first}") from None
    for key, value in metadata(meta).items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = (f"{network_title(meta['model'], meta.get('model_kwargs'))} from netlib (the MNIST "
                        f"network lab): reads one handwritten digit; see the netlib.* metadata")
    return proto, meta


def onnx_bytes(checkpoint: Path) -> bytes:
    """The exported model as the bytes of an .onnx file."""
    return onnx_model(checkpoint)[0].SerializeToString()


def export_onnx(checkpoint: Path, out: Path) -> dict:
    """Write checkpoint's network to out as ONNX, atomically (a failure leaves out as it was); what was
    written: {"checkpoint", "onnx", "bytes", "network", "summary"}."""
    from .lab.catalogue import checkpoint_summary

    out = check_target(out)  # before the slow export: a typo is told at once
    if out.exists() and Path(checkpoint).exists() and out.samefile(checkpoint):
        raise ExportError(f"{out}: refused as the ONNX file, it is the checkpoint being exported")
    proto, meta = onnx_model(checkpoint)
    data = proto.SerializeToString()
    check_target(out)  # again: it may have become a FIFO or lost its folder meanwhile
    atomic_write(out, lambda f: f.write(data))
    return {"checkpoint": str(checkpoint), "onnx": str(out), "bytes": len(data),
            "network": network_title(meta["model"], meta.get("model_kwargs")), "summary": checkpoint_summary(meta)}
