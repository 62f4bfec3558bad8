"""The encoders' numerics: equal-length batches, row-wise int8 layers, and e5 vectors that do not depend on the batch."""
from __future__ import annotations

import numpy as np
import pytest

from ddcheck.encoders import _length_batches


def test_batches_hold_texts_of_one_length_within_the_budget():
    lengths = [5, 7, 5, 120, 7, 5, 300, 120, 5]
    batches = _length_batches(lengths, max_batch=2, budget=2 * 120 * 120)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for batch in batches:
        assert len({lengths[i] for i in batch}) == 1
        assert len(batch) <= 2 and len(batch) * lengths[batch[0]] ** 2 <= max(2 * 120 * 120, lengths[batch[0]] ** 2)
    assert [lengths[b[0]] for b in batches] == sorted((lengths[b[0]] for b in batches), reverse=True)
    assert [6] in batches                      # longer than the budget allows in pairs: alone


def test_row_int8_linear_is_close_to_float_exact_on_both_kernels_and_row_independent():
    torch = pytest.importorskip("torch")
    from ddcheck.encoders.int8 import KERNELS, RowInt8Linear, fastest_kernel, quantise_linears

    torch.manual_seed(0)
    for inner, outer in ((384, 1536), (1536, 384)):                # e5's two shapes; 1536 > 1024 is summed in slices
        linear = torch.nn.Linear(inner, outer)
        x = torch.randn(3, 7, inner) * torch.linspace(0.1, 4.0, 7)[None, :, None]
        by_kernel = {kernel: RowInt8Linear(linear, kernel) for kernel in KERNELS}
        want, got = linear(x).detach(), by_kernel["float32"](x)
        cosine = torch.nn.functional.cosine_similarity(want.reshape(-1, outer), got.reshape(-1, outer), dim=1)
        assert cosine.min() > 0.999
        assert torch.equal(got, by_kernel["int_mm"](x))               # same integer sums, same vectors, any CPU
        assert torch.equal(by_kernel["float32"](x[1:2, 3:4]), got[1:2, 3:4])   # one token alone = the same token in a batch
    assert fastest_kernel() in KERNELS
    with pytest.raises(ValueError):
        RowInt8Linear(torch.nn.Linear(4, 4), "float16")

    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Sequential(torch.nn.Linear(8, 2)))
    assert quantise_linears(model) == 2
    assert isinstance(model[0], RowInt8Linear) and isinstance(model[2][0], RowInt8Linear)


def test_the_float32_kernel_is_exact_at_the_largest_sums():
    """Every product at +-127 * 127: the sums reach 24.8 million, past float32's exact integers (2**24)."""
    torch = pytest.importorskip("torch")
    from ddcheck.encoders.int8 import EXACT_FLOAT32_TERMS, _float32_product

    for inner in (EXACT_FLOAT32_TERMS, 1536, 3 * EXACT_FLOAT32_TERMS + 5):
        rows = torch.full((4, inner), 127, dtype=torch.int8)
        rows[1] = -127
        rows[2, ::2] = -127                                      # alternating signs: cancels to 0 or 16129
        weights = torch.full((inner, 3), 127, dtype=torch.int8)
        weights[: inner // 3, 2] = 1
        want = (rows.to(torch.int64) @ weights.to(torch.int64)).to(torch.float32)
        assert torch.equal(_float32_product(rows.float(), weights.float()), want)


def test_row_int8_embedding_rebuilds_rows_within_half_a_step_and_halves_the_table():
    torch = pytest.importorskip("torch")
    from ddcheck.encoders.int8 import RowInt8Embedding, quantise_word_embeddings

    torch.manual_seed(1)
    table = torch.nn.Embedding(40000, 16, padding_idx=1, dtype=torch.float16)
    table.weight.data *= torch.linspace(0.01, 3.0, 40000, dtype=torch.float16)[:, None]   # rows of very different size
    quantised = RowInt8Embedding(table)
    ids = torch.tensor([[0, 5, 39999], [1, 20000, 5]])
    want, got = table(ids).float(), quantised(ids)
    step = table.weight.float().abs().amax(dim=1)[ids] / 127.0
    assert got.dtype == torch.float32 and got.shape == want.shape
    assert ((got - want).abs() <= step[..., None] / 2 + 1e-6).all()
    assert torch.equal(got[0, 1], got[1, 2])                          # a row's value does not depend on its neighbours
    assert quantised.rows.element_size() * quantised.rows.nelement() == table.weight.nelement()   # one byte a weight

    bert = torch.nn.Module()
    bert.embeddings = torch.nn.Module()
    bert.embeddings.word_embeddings = table
    quantise_word_embeddings(bert)
    assert isinstance(bert.embeddings.word_embeddings, RowInt8Embedding)


@pytest.fixture(scope="module")
def e5():
    from ddcheck.encoders import E5Encoder

    return E5Encoder()


def test_an_e5_vector_is_the_same_alone_and_in_any_batch(e5):
    texts = ["请提供公司章程。", "Provide the list of all military customers and the contracts signed with them.",
             "请说明公司是否存储境内用户的个人信息，以及数据是否向境外提供。", "Board minutes 2023.", "请提供公司章程。"]
    together = e5.encode(texts)
    for i, text in enumerate(texts):
        assert np.array_equal(e5.encode([text])[0], together[i])
    assert np.array_equal(e5.encode(texts[::-1]), together[::-1])


def test_shipped_e5_vectors_were_made_by_the_current_layers(e5):
    """Shipped exemplar vectors must come from the model the scan runs (weights, "query: " prefix, layers), not
    only carry its id. Exact equality holds only on the CPU type that made them: elsewhere the float32 parts
    (attention, layer norm) round a little differently and e5's int8 steps carry that on (cosine ~0.999, about
    as far as the int8 layers are from float32). A missing or wrong prefix stays below 0.998 on these texts."""
    from ddcheck.cache import SHIPPED, ShippedVectors
    from ddcheck.taxonomy import load

    texts = [p for c in load().categories.values() for p in c.positives][::97][:12]
    shipped = ShippedVectors(SHIPPED / "e5.npz", e5.id).get_many(texts)
    fresh = e5.encode(texts)
    cosines = [float(np.dot(fresh[i], shipped[t])) for i, t in enumerate(texts)]
    assert min(cosines) > 0.998, cosines
