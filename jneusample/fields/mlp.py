"""The ReLU MLP trunk that both fields use: ``depth`` layers of ``width`` with one skip connection."""
from __future__ import annotations

from ..platform.backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402

from .fused import linear_relu  # noqa: E402


class SkipMLP(nn.Module):
    """``depth`` Linear+ReLU layers; the input is concatenated to the activation entering layer ``skip``.

    The official NeuSample layout: layer ``skip`` (= depth // 2) takes width + in_dims inputs. The
    concatenation is never materialised: ``[h, x] @ W = h @ W_h + x @ W_x``, so layer ``skip`` is applied as two
    matmuls on slices of its weight (same parameters and values as the concatenating form, less copying).
    Each layer is :func:`~jneusample.fields.fused.linear_relu`: one oneDNN matmul with bias and ReLU fused on the
    CPU, and a hand-written backward in training (``fused.py``).
    """

    def __init__(self, in_dims: int, width: int, depth: int, skip: int | None = None, bf16_training: bool = False):
        super().__init__()
        self.bf16_training = bf16_training
        self.in_dims, self.width, self.depth = in_dims, width, depth
        self.skip = depth // 2 if skip is None else skip
        layers = []
        for index in range(depth):
            fan_in = in_dims if index == 0 else width
            if index == self.skip and index > 0:
                fan_in += in_dims
            layers.append(nn.Linear(fan_in, width))
        self.layers = nn.ModuleList(layers)

    def execute(self, x: jt.Var, input_columns: jt.Var | None = None) -> jt.Var:
        """x: (P, in_dims) → (P, width).

        ``input_columns`` (in_dims,) int32, optional: x holds the inputs in another column order, column i of x
        being input ``input_columns[i]`` of the weights (see ``encoding.block_order``). The weights' input
        columns are gathered to match (a (width, in_dims) copy), so the result is that of the reordered input.
        """
        h = x
        for index, layer in enumerate(self.layers):
            if index == self.skip and index > 0:
                weight = layer.weight  # (width, width + in_dims), activation part first
                input_weight = weight[:, self.width:]
                if input_columns is not None:
                    input_weight = input_weight[:, input_columns]
                terms = [(x, input_weight), (h, weight[:, : self.width])]
            elif index == 0 and input_columns is not None:
                terms = [(h, layer.weight[:, input_columns])]
            else:
                terms = [(h, layer.weight)]
            h = linear_relu(terms, layer.bias, bf16=self.bf16_training)
        return h
