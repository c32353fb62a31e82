"""GRU / LSTM with resets: one packed native call (and, for the CPU's LSTM, one call per
segment of time between resets; for the CPU's GRU, our gru_scan kernels) equals running
every piece on its own."""

import pytest
import torch
from torch.nn.utils.rnn import PackedSequence

from brc_rl.nn import GRU, LSTM
from brc_rl.nn.baselines import packing
from brc_rl.nn.functional import gru_scan, gru_scan_reference, lstm_scan, lstm_scan_reference

CLASSES = {"gru": GRU, "lstm": LSTM}
PATHS = ["packed", "segments", "scan"]
SCANS = {"gru", "lstm"}  # the memories with a scan path (our kernels) on the CPU


def _make(name, *args, path="packed", monkeypatch, **kwargs):
    """The memory, made to take the packed, the per-segment or the scan path for resets inside."""
    if path == "scan" and name not in SCANS:
        pytest.skip(f"{name} has no scan path")
    cls = CLASSES[name]
    monkeypatch.setattr(cls, "_packs", lambda self, x: path == "packed")
    monkeypatch.setattr(cls, "_scans", lambda self, x: path == "scan")
    return cls(*args, **kwargs)


def _pieces_reference(rnn, x, hx, resets):
    """Each sequence cut at its resets, every piece one plain call (no resets): the first
    from hx (zeros if it resets at step 0), the others from zeros. Time-major (L, N, *)."""
    L, N = resets.shape
    columns, states = [], []
    for n in range(N):
        cuts = [0, *(t for t in range(1, L) if resets[t, n]), L]
        state = hx[:, n : n + 1] * (0.0 if resets[0, n] else 1.0)
        pieces = []
        for start, stop in zip(cuts[:-1], cuts[1:]):
            out, state = rnn(x[start:stop, n : n + 1], state if start == 0 else None)
            pieces.append(out)
        columns.append(torch.cat(pieces))
        states.append(state)
    return torch.cat(columns, dim=1), torch.cat(states, dim=1)


def _grads(outputs, inputs, seed=1):
    g = torch.Generator().manual_seed(seed)
    loss = sum((y * torch.randn(y.shape, generator=g, dtype=y.dtype)).sum() for y in outputs)
    return torch.autograd.grad(loss, inputs)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize("num_layers", [1, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_equals_pieces_float64_with_gradients(name, num_layers, seed, path, monkeypatch):
    torch.manual_seed(seed)
    rnn = _make(name, 3, 5, num_layers, dtype=torch.float64, path=path, monkeypatch=monkeypatch)
    L, N = 23, 6
    x = torch.randn(L, N, 3, dtype=torch.float64, requires_grad=True)
    hx = torch.randn(num_layers, N, rnn.state_size, dtype=torch.float64, requires_grad=True)
    resets = torch.rand(L, N) < 0.15
    resets[0, 0] = True  # hx of sequence 0 unused
    resets[:, 1] = False  # one sequence without resets
    resets[1:, 2] = True  # one made of one-step pieces
    inputs = (x, hx, *rnn.parameters())
    given = resets.clone()
    got = rnn(x, hx, resets)
    assert torch.equal(resets, given), "resets is left as given"
    got_grads = _grads(got, inputs)
    want = _pieces_reference(rnn, x, hx, resets)
    for a, b in zip(got + got_grads, want + _grads(want, inputs)):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    assert torch.all(got_grads[1][:, 0] == 0), "hx of a sequence reset at step 0 gets no gradient"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_batch_first_and_unbatched_float64(name, path, monkeypatch):
    rnn = _make(name, 4, 3, 2, dtype=torch.float64, path=path, monkeypatch=monkeypatch)
    x = torch.randn(17, 5, 4, dtype=torch.float64, requires_grad=True)
    hx = torch.randn(2, 5, rnn.state_size, dtype=torch.float64, requires_grad=True)
    resets = torch.rand(17, 5) < 0.2
    resets[5, :] = True
    want = _pieces_reference(rnn, x, hx, resets)
    want_grads = _grads(want, (x, hx, *rnn.parameters()))

    rnn.batch_first = True
    out, h_n = rnn(x.transpose(0, 1), hx, resets.t())
    got = (out.transpose(0, 1), h_n)
    for a, b in zip(got + _grads(got, (x, hx, *rnn.parameters())), want + want_grads):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    rnn.batch_first = False

    out, h_n = rnn(x[:, 3], hx[:, 3], resets[:, 3])
    torch.testing.assert_close(out, want[0][:, 3], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(h_n, want[1][:, 3], rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("path", PATHS)
def test_lstm_state_is_h_then_c_with_resets(path, monkeypatch):
    rnn = _make("lstm", 3, 4, 2, dtype=torch.float64, path=path, monkeypatch=monkeypatch)
    ref = torch.nn.LSTM(3, 4, 2, dtype=torch.float64)
    ref.load_state_dict(rnn.state_dict())
    x, hx = torch.randn(12, 2, 3, dtype=torch.float64), torch.randn(2, 2, 8, dtype=torch.float64)
    resets = torch.zeros(12, 2, dtype=torch.bool)
    resets[7, 1] = True
    out, state = rnn(x, hx, resets)
    h, c = hx[..., :4].contiguous(), hx[..., 4:].contiguous()
    ref_out, (ref_h, ref_c) = ref(x[:, :1], (h[:, :1], c[:, :1]))
    torch.testing.assert_close(out[:, :1], ref_out)
    torch.testing.assert_close(state[:, :1], torch.cat([ref_h, ref_c], -1))
    _, (ref_h, ref_c) = ref(x[7:, 1:])  # the last piece of sequence 1 starts from zeros
    torch.testing.assert_close(state[:, 1:], torch.cat([ref_h, ref_c], -1))


def test_packing_layout():
    resets = torch.tensor([[False, True], [True, False], [False, False], [False, True]])
    pack = packing(resets)
    # Pieces: seq 0 steps [0], [1, 2, 3]; seq 1 steps [0, 1, 2], [3]. Sorted by length
    # (stable): seq0-b (3), seq1-a (3), seq0-a (1), seq1-b (1).
    assert pack.batch_sizes.tolist() == [4, 2, 2]
    assert pack.first.tolist() == [2, 1] and pack.last.tolist() == [0, 3]
    assert pack.gather.tolist() == [2, 1, 0, 7, 4, 3, 6, 5]  # time-major rows t * 2 + n
    assert torch.equal(pack.gather[pack.scatter], torch.arange(8))


def test_cpu_paths():
    x = torch.zeros(3, 1, 2)
    assert GRU(2, 3)._packs(x) and not LSTM(2, 3)._packs(x)
    assert GRU(2, 3)._scans(x) and GRU(2, 3, dtype=torch.float64)._scans(x.double())
    assert not GRU(2, 3, dtype=torch.bfloat16)._scans(x.bfloat16())
    assert LSTM(2, 3)._scans(x) and not LSTM(2, 3, dtype=torch.bfloat16)._scans(x.bfloat16())
    if torch.cuda.is_available():
        assert LSTM(2, 3)._packs(x.cuda())
        assert not GRU(2, 3).cuda()._scans(x.cuda()) and not LSTM(2, 3).cuda()._scans(x.cuda())


@pytest.mark.parametrize("case", ["gru", "gru-no-bias", "lstm"])
def test_scan_gradcheck(case):
    """gru_scan (pre_ih, W_hh, b_hh or None, h0) and lstm_scan (pre, W_hh, h0, c0) against
    their step-by-step references, and gradcheck, on a tiny float64 case with resets."""
    torch.manual_seed(0)
    T, N, H = 7, 3, 2
    resets = torch.rand(T, N) < 0.3
    resets[3, 0] = True
    gates = 4 if case == "lstm" else 3
    inputs = [torch.randn(*shape, dtype=torch.float64, requires_grad=True)
              for shape in ((T, N, gates * H), (gates * H, H), (gates * H,), (N, H), (N, H))]
    if case == "lstm":
        scan, reference, inputs = lstm_scan, lstm_scan_reference, inputs[:2] + inputs[3:]
    else:
        scan, reference, inputs = gru_scan, gru_scan_reference, inputs[:4]
        if case == "gru-no-bias":
            inputs[2] = None
    torch.testing.assert_close(scan(*inputs, resets), reference(*inputs, resets))
    assert torch.autograd.gradcheck(lambda *a: scan(*a, resets), inputs)
    if case == "lstm":
        assert torch.autograd.gradcheck(lambda *a: scan(*a, resets)[0], inputs)  # no gradient for c


@pytest.mark.parametrize("name", sorted(SCANS))
def test_scan_bias_false_and_dropout(name, monkeypatch):
    torch.manual_seed(0)
    rnn = _make(name, 3, 4, 2, bias=False, dtype=torch.float64, path="scan", monkeypatch=monkeypatch)
    x = torch.randn(11, 3, 3, dtype=torch.float64)
    hx = torch.randn(2, 3, rnn.state_size, dtype=torch.float64)
    resets = torch.rand(11, 3) < 0.3
    resets[5, 0] = True
    for a, b in zip(rnn(x, hx, resets), _pieces_reference(rnn, x, hx, resets)):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
    rnn.dropout = 0.5  # training: dropout on layer 0's output, as torch.nn.GRU
    outs = [rnn(x, hx, resets)[0] for _ in range(2)]
    assert not torch.equal(outs[0], outs[1])
    rnn.eval()
    torch.testing.assert_close(rnn(x, hx, resets)[0], _pieces_reference(rnn, x, hx, resets)[0])


@pytest.mark.parametrize("name", sorted(CLASSES))
@pytest.mark.parametrize(
    "case", ["none", "all_false", "step_0_only", "one_step", "inside"]
)
def test_single_plain_call_unless_resets_inside(name, case, monkeypatch):
    rnn = _make(name, 3, 4, monkeypatch=monkeypatch)
    native = type(rnn).__mro__[2]  # torch.nn.GRU / torch.nn.LSTM
    calls = []
    forward = native.forward

    def spy(self, input, hx=None):
        calls.append(isinstance(input, PackedSequence))
        return forward(self, input, hx)

    monkeypatch.setattr(native, "forward", spy)
    L = 1 if case == "one_step" else 9
    resets = {"none": None, "all_false": torch.zeros(L, 2, dtype=torch.bool)}.get(case)
    if resets is None and case != "none":
        resets = torch.zeros(L, 2, dtype=torch.bool)
        resets[0, 1] = True
        if case == "inside":
            resets[4, 0] = True
    x = torch.randn(L, 2, 3)
    out, h_n = rnn(x, torch.randn(1, 2, rnn.state_size), resets)
    assert calls == [case == "inside"]
    if case in ("step_0_only", "one_step"):  # sequence 1 reset at step 0: as from zeros
        ref_out, ref_h = rnn(x[:, 1:])
        torch.testing.assert_close(out[:, 1:], ref_out)
        torch.testing.assert_close(h_n[:, 1:], ref_h)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_cuda_packed_equals_cpu(name, monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # cuDNN's default TF32 rounds to ~1e-4
    torch.manual_seed(0)
    rnn = CLASSES[name](3, 5, 2)
    x, hx = torch.randn(17, 4, 3), torch.randn(2, 4, rnn.state_size)
    resets = torch.rand(17, 4) < 0.2
    out, h_n = rnn(x, hx, resets)
    rnn.cuda()
    assert rnn._packs(x.cuda())
    out_c, h_n_c = rnn(x.cuda(), hx.cuda(), resets.cuda())
    torch.testing.assert_close(out_c.cpu(), out, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(h_n_c.cpu(), h_n, atol=1e-5, rtol=1e-4)
