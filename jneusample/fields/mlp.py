"""The ReLU MLP trunk that both fields use: ``depth`` layers of ``width`` with one skip connection."""
from __future__ import annotations

from ..backend import jt  # noqa: F401  (configures Jittor before it is imported)
from jittor import nn  # noqa: E402



class SkipMLP(nn.Module):
    """``depth`` Linear+ReLU layers; the input is concatenated to the activation entering layer ``skip``.

    The official NeuSample layout: layer ``skip`` (= depth // 2) takes width + in_dims inputs. The
    concatenation is never materialised: ``[h, x] @ W = h @ W_h + x @ W_x``, so layer ``skip`` is applied as two
    matmuls on slices of its weight (same parameters and values as the concatenating form, less copying).
    """

    def __init__(self, in_dims: int, width: int, depth: int, skip: int | None = None):
        super().__init__()
        self.in_dims, self.width, self.depth = in_dims, width, depth
        self.skip = depth // 2 if skip is None else skip
        layers = []
        for index in range(depth):
            fan_in = in_dims if index == 0 else width
            if index == self.skip and index > 0:
                fan_in += in_dims
            layers.append(nn.Linear(fan_in, width))
        self.layers = nn.ModuleList(layers)

    def execute(self, x: jt.Var) -> jt.Var:
        """x: (P, in_dims) → (P, width)."""
        h = x
        for index, layer in enumerate(self.layers):
            if index == self.skip and index > 0:
                weight = layer.weight  # (width, width + in_dims), activation part first
                h = nn.matmul_transpose(h, weight[:, : self.width]) + nn.matmul_transpose(x, weight[:, self.width:])
                h = h + layer.bias
            else:
                h = layer(h)
            h = nn.relu(h)
        return h
