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
    from ddcheck.encoders.int8 import KERNELS, RowInt8Linear, default_kernel, quantise_linears

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
    assert default_kernel() in KERNELS
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


def test_row_int8_embedding_rounds_each_looked_up_row_on_its_own_within_half_a_step():
    torch = pytest.importorskip("torch")
    from ddcheck.encoders.int8 import RowInt8Embedding

    torch.manual_seed(1)
    table = torch.nn.Embedding(40000, 16, padding_idx=1, dtype=torch.float16)
    table.weight.data *= torch.linspace(0.01, 3.0, 40000, dtype=torch.float16)[:, None]   # rows of very different size
    looked_up: list[int] = []
    weight = table.weight.detach()
    quantised = RowInt8Embedding(lambda ids: (looked_up.extend(ids.tolist()), weight[ids])[1])
    ids = torch.tensor([[0, 5, 39999], [1, 20000, 5]])
    want, got = table(ids).float(), quantised(ids)
    step = table.weight.float().abs().amax(dim=1)[ids] / 127.0
    assert got.dtype == torch.float32 and got.shape == want.shape
    assert ((got - want).abs() <= step[..., None] / 2 + 1e-6).all()
    assert (got[0, 1] / step[0, 1]).round().abs().max() == 127, "each row on its own scale: its largest value is +-127 steps"
    assert torch.equal(got[0, 1], got[1, 2])
    assert torch.equal(quantised(torch.tensor([[20000]]))[0, 0], got[1, 1]), "a row's value does not depend on its neighbours"
    assert sorted(looked_up) == [0, 1, 5, 20000, 20000, 39999], "only the rows asked for are read, each once per lookup"


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


def test_e5_runs_bitwise_as_sentence_transformers_runs_its_model_directory(e5):
    """ddcheck runs e5 with its own BERT forward pass (bert.py) to skip sentence-transformers' imports; on the
    same directory, loaded as ddcheck always loaded it (float16 weights, float32 compute, the int8 layers),
    sentence-transformers must give the very same vectors: same tokens, same arithmetic, same order."""
    torch = pytest.importorskip("torch")
    from sentence_transformers import SentenceTransformer

    from ddcheck.encoders.e5_build import model_dir
    from ddcheck.encoders.int8 import RowInt8Embedding, quantise_linears

    texts = ["请提供公司章程。", "Provide the list of all military customers and the contracts signed with them.",
             "请说明公司是否存储境内用户的个人信息，以及数据是否向境外提供。", "Board minutes 2023.", "A", "～ｆｕｌｌ　ｗｉｄｔｈ～",
             "贵公司是否为关键信息基础设施运营者？" * 60]                      # past 512 tokens: cut where ST cuts
    reference = SentenceTransformer(str(model_dir()), device="cpu", model_kwargs={"dtype": torch.float16})
    bert = reference[0].auto_model
    for module in bert.modules():
        if module is not bert.embeddings.word_embeddings:
            for parameter in module.parameters(recurse=False):
                parameter.data = parameter.data.float()
    quantise_linears(bert)
    table = bert.embeddings.word_embeddings.weight.detach()          # the float16 table, rounded per row as looked up
    bert.embeddings.word_embeddings = RowInt8Embedding(lambda ids: table[ids])
    queries = [f"query: {t}" for t in texts]
    tokenizer, _ = e5._load()
    ours = [encoding.ids for encoding in tokenizer.encode_batch(queries)]
    assert ours == reference.tokenizer(queries, truncation=True, max_length=512)["input_ids"]
    assert len(ours[-1]) == 512
    want = np.stack([reference.encode([q], convert_to_numpy=True, normalize_embeddings=True)[0] for q in queries])
    want /= np.maximum(np.linalg.norm(want, axis=1, keepdims=True), 1e-12)
    assert np.array_equal(e5.encode(texts), want)


def _in_process_use(texts):
    from ddcheck.encoders import UseEncoder

    return UseEncoder().encode(texts)


def test_use_run_ahead_in_a_child_gives_the_in_process_vectors_and_leaves_no_process():
    import multiprocessing

    from ddcheck.encoders import UseEncoder, stop_children

    chunks = [["请提供公司章程。", "Board minutes 2023."], ["Provide the list of all military customers."]]
    encoder = UseEncoder()
    encoder.start(chunks)
    assert multiprocessing.active_children(), "the child runs while the caller does other work"
    for chunk in chunks:
        got = encoder.encode(chunk)
        assert np.allclose(got, _in_process_use(chunk), atol=1e-5)     # one BLAS thread instead of several: ~1e-7
    later = ["未预先提交的问题"]
    assert np.allclose(encoder.encode(later), _in_process_use(later), atol=1e-5)
    assert encoder._model is None, "the child, which has the model, encoded the later text too"
    encoder.release()
    assert not multiprocessing.active_children(), "release stops the child"
    encoder.start([later])
    stop_children()
    assert not multiprocessing.active_children(), "and so does the console script's exit"


def test_a_use_child_that_dies_costs_nothing_but_time():
    import multiprocessing

    from ddcheck.encoders import UseEncoder

    chunk = ["请提供公司章程。", "Board minutes 2023."]
    encoder = UseEncoder()
    encoder.start([chunk, ["never asked for"]])
    for child in multiprocessing.active_children():
        child.kill()
    assert np.allclose(encoder.encode(chunk), _in_process_use(chunk), atol=1e-6)
    assert not multiprocessing.active_children()
    assert np.allclose(encoder.encode(["never asked for"]), _in_process_use(["never asked for"]), atol=1e-6)


class _RunsAhead:
    """A hash encoder that can be started ahead, recording what it was started on and asked for."""

    def __init__(self):
        from ddcheck.encoders import HashEncoder

        self.inner = HashEncoder(16)
        self.id, self.dim = "ahead:" + self.inner.id, 16
        self.started: list[list[list[str]]] = []
        self.asked: list[list[str]] = []

    def start(self, chunks):
        self.started.append([list(c) for c in chunks])

    def encode(self, texts):
        self.asked.append(list(texts))
        return self.inner.encode(texts)


def test_a_concatenated_encoder_starts_a_part_ahead_only_when_another_part_has_texts_to_encode(tmp_path):
    from ddcheck.cache import ENCODE_CHUNK, CachedEncoder, EmbeddingCache
    from ddcheck.encoders import ConcatEncoder, HashEncoder

    cache = EmbeddingCache(tmp_path / "c.sqlite3")
    ahead = _RunsAhead()
    texts = [f"question number {i}" + "x" * (i % 7) for i in range(ENCODE_CHUNK + 3)]
    both = ConcatEncoder([CachedEncoder(HashEncoder(8), cache), CachedEncoder(ahead, cache)])
    both.encode(texts)
    assert ahead.started == [ahead.asked], "started on exactly the chunks encode then asked for, in order"
    assert len(ahead.asked) == 2

    fresh = texts[:3] + ["one new question"]
    CachedEncoder(HashEncoder(8), cache).encode(fresh)             # the other part has them all now
    ahead.started.clear()
    ahead.asked.clear()
    both.encode(fresh)
    assert ahead.started == [] and ahead.asked == [["one new question"]], "nothing to overlap with: no child"
    cache.close()


def test_a_large_encode_runs_its_parts_one_after_the_other():
    from ddcheck.cache import CachedEncoder
    from ddcheck.encoders import AHEAD_LIMIT, ConcatEncoder, HashEncoder

    ahead = _RunsAhead()
    ConcatEncoder([CachedEncoder(HashEncoder(8), None), CachedEncoder(ahead, None)]).encode(
        [f"question {i}" for i in range(AHEAD_LIMIT + 1)])
    assert ahead.started == [] and sum(map(len, ahead.asked)) == AHEAD_LIMIT + 1
