"""The allow-list unpickler: plain data and arrays load; code and hostile sizes are refused before allocating."""
from __future__ import annotations

import pickle
import tracemalloc
from collections import OrderedDict

import numpy as np
import pytest

from jneusample.platform import safe_pickle
from jneusample.platform.checkpoint import load_checkpoint
from jneusample.errors import InputError

MB = 1 << 20


def test_plain_data_and_arrays_round_trip_at_every_protocol():
    state = {"step": 7, "name": "lego", "pair": (1.5, None), "flags": {True, False}, "blob": b"\x00\x01",
             "buffer": bytearray(b"abc"), "ordered": OrderedDict(a=1), "array": np.arange(6, dtype=np.float32)
             .reshape(2, 3), "scalar": np.float64(2.5), "empty": np.zeros((0, 4), np.int64)}
    for protocol in range(3, pickle.HIGHEST_PROTOCOL + 1):  # 3: the first with bytes; ours write the highest
        loaded = safe_pickle.loads(pickle.dumps(state, protocol=protocol))
        assert loaded.keys() == state.keys()
        np.testing.assert_array_equal(loaded["array"], state["array"])
        assert loaded["array"].dtype == np.float32 and loaded["buffer"] == bytearray(b"abc")
        assert loaded["scalar"] == 2.5 and loaded["empty"].shape == (0, 4)


def test_code_is_refused():
    class Evil:
        def __reduce__(self):
            import os
            return os.system, ("true",)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system|refusing to load os.system"):
        safe_pickle.loads(pickle.dumps(Evil()))


def _peak_bytes(data: bytes) -> tuple[type, int]:
    """The exception ``loads(data)`` raises and the peak Python allocation on the way."""
    tracemalloc.start()
    try:
        safe_pickle.loads(data)
    except Exception as exc:  # noqa: BLE001  (the type is the assertion)
        kind = type(exc)
    else:
        kind = type(None)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return kind, peak


@pytest.mark.parametrize("opcode", [b"\x8e", b"\x8d", b"\x96"])  # BINBYTES8, BINUNICODE8, BYTEARRAY8
def test_a_length_beyond_the_data_is_refused_before_allocating_it(opcode):
    # 13 bytes declaring 256 MB: the C unpickler alone allocates the 256 MB first, then finds the data short
    data = b"\x80\x05" + opcode + (256 * MB).to_bytes(8, "little") + b"abc."
    kind, peak = _peak_bytes(data)
    assert kind is pickle.UnpicklingError
    assert peak < 16 * MB, f"{peak / MB:.0f} MB allocated for a {len(data)}-byte file"


@pytest.mark.parametrize("name", ["bytearray", "bytes"])
def test_size_constructors_are_refused(name):
    data = (b"\x80\x04cbuiltins\n" + name.encode() + b"\n\x8a\x04" + (256 * MB).to_bytes(4, "little") + b"\x85R.")
    kind, peak = _peak_bytes(data)
    assert kind is pickle.UnpicklingError and peak < 16 * MB


def test_a_checkpoint_with_a_huge_length_is_one_line(tmp_path):
    path = tmp_path / "step_000004.pkl"
    path.write_bytes(b"\x80\x05\x8e" + (1 << 40).to_bytes(8, "little") + b"abc.")
    with pytest.raises(InputError, match=r"step_000004\.pkl: not a readable JNeuSample checkpoint .*1099511627776 "
                                         r"bytes"):
        load_checkpoint(path)
