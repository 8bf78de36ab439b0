"""int8 decoding: the decoder's matrices as int8 with one scale per output row, multiplied by
fbgemm's dynamic-quantisation kernel (the activations quantised per call, fp32 out).

`decode.precision: int8` (chosen per model on dev, `seq2seq speedup`) decodes with a copy made
by `quantized_copy`: the output layer, the first layer's context gates, every layer's recurrent
and upper gates, the attention query and the readout. The piece tables (search's lookup of the
previous piece), the encoder's LSTM and the attention's keys stay in fp32: they run once per
batch, or are lookups. Training never sees this module.

torch's quantised operators live under `torch.ops.quantized` (`torch.ao`, deprecated but
present in torch 2.13); this module is the only one that calls them. fbgemm picks its kernels
from the CPU itself (AVX2 or AVX-512, VNNI where there is one) and ignores oneDNN's ISA cap, so
its speed must be measured on a CPU of each class. Activations use 7 bits (`reduce_range`):
without VNNI, fbgemm's 8-bit products can saturate in 16 bits.
"""

from __future__ import annotations

import copy
import warnings

import torch
from torch import Tensor, nn

from indic_common.errors import ConfigError

_REDUCE_RANGE = True


def available() -> bool:
    """Whether this torch build has a quantised engine for the CPU (fbgemm or x86)."""
    return any(e in ("fbgemm", "x86") for e in torch.backends.quantized.supported_engines)


class Int8Linear(nn.Module):
    """A linear layer y = x W^T + b with W (O, I) in int8, a scale per row of W."""

    def __init__(self, weight: Tensor, bias: Tensor | None) -> None:
        super().__init__()
        w = weight.detach().float().cpu()
        scales = w.abs().amax(dim=1).clamp(min=1e-12) / 127
        zeros = torch.zeros(w.size(0), dtype=torch.long)
        with warnings.catch_warnings():  # torch.ao's deprecation notice: see the docstring
            warnings.simplefilter("ignore")
            self.weight = torch.quantize_per_channel(w, scales.double(), zeros, 0, torch.qint8)
        self.bias = None if bias is None else bias.detach().float().cpu().contiguous()
        self.packed = torch.ops.quantized.linear_prepack(self.weight, self.bias)

    @classmethod
    def from_linear(cls, linear: nn.Linear) -> Int8Linear:
        return cls(linear.weight, linear.bias)

    @property
    def out_features(self) -> int:
        return self.weight.size(0)

    def forward(self, x: Tensor) -> Tensor:
        """(..., I) fp32 -> (..., O) fp32."""
        return torch.ops.quantized.linear_dynamic(x.contiguous(), self.packed, _REDUCE_RANGE)

    def rows(self, index: Tensor) -> Int8Linear:
        """The layer of these output rows only (a vocabulary shortlist), with the same int8
        values and scales (no second rounding)."""
        sub = Int8Linear.__new__(Int8Linear)
        nn.Module.__init__(sub)
        w = self.weight
        sub.weight = torch._make_per_channel_quantized_tensor(
            w.int_repr()[index],
            w.q_per_channel_scales()[index],
            w.q_per_channel_zero_points()[index],
            0,
        )
        sub.bias = None if self.bias is None else self.bias[index]
        sub.packed = torch.ops.quantized.linear_prepack(sub.weight, sub.bias)
        return sub


def _swap(parent: nn.Module, name: str) -> None:
    layer = getattr(parent, name)
    if isinstance(layer, nn.Linear):
        setattr(parent, name, Int8Linear.from_linear(layer))


def quantized_copy(model: nn.Module) -> nn.Module:
    """A copy of a Seq2Seq for int8 search: the decoder's per-step matrices in int8 (see the
    module's docstring); the original is untouched. On CPU only."""
    if not available():
        raise ConfigError(
            "decode.precision int8: this torch build has no int8 engine (fbgemm); decode "
            "with --exact",
            key="precision",
        )
    out = copy.deepcopy(model).cpu().eval()
    dec = out.decoder
    if dec.attention is not None:
        _swap(dec.attention, "query_proj")
        _swap(dec, "ctx_gates")
        _swap(dec, "readout_ctx")
    for layers in (dec.hid_gates, dec.upper_gates):
        for i in range(len(layers)):
            _swap(layers, str(i))
    _swap(dec, "readout_state")
    _swap(dec, "output")
    return out
