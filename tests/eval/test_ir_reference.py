"""recall@k, mrr@10 and ndcg@10 agree with trec_eval, through ir-measures, on random rankings."""
from __future__ import annotations

import numpy as np
import pytest

ir_measures = pytest.importorskip("ir_measures")

from eval.metrics import ndcg_at_k, recall_at_k, reciprocal_rank  # noqa: E402


def _random_case(seed: int, n_queries: int = 60, n_docs: int = 40):
    rng = np.random.default_rng(seed)
    qrels, run, ours = {}, {}, {}
    for q in range(n_queries):
        qid = f"q{q}"
        ranked = [f"d{i}" for i in rng.permutation(n_docs)[: rng.integers(1, 30)]]
        relevant = {f"d{i}" for i in rng.choice(n_docs, size=rng.integers(1, 4), replace=False)}
        qrels[qid] = {d: 1 for d in relevant}
        run[qid] = {d: float(len(ranked) - r) for r, d in enumerate(ranked)}  # distinct scores, best first
        ours[qid] = (ranked, relevant)
    return qrels, run, ours


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_ir_measures(seed):
    from ir_measures import RR, R, nDCG

    qrels, run, ours = _random_case(seed)
    measures = {R @ 1: lambda r, g: recall_at_k(r, g, 1), R @ 5: lambda r, g: recall_at_k(r, g, 5),
                R @ 20: lambda r, g: recall_at_k(r, g, 20), RR @ 10: lambda r, g: reciprocal_rank(r, g, 10),
                nDCG @ 10: lambda r, g: ndcg_at_k(r, g, 10)}
    reference = {(m.query_id, m.measure): m.value for m in ir_measures.iter_calc(list(measures), qrels, run)}
    checked = 0
    for qid, (ranked, relevant) in ours.items():
        for measure, ours_fn in measures.items():
            assert ours_fn(ranked, relevant) == pytest.approx(reference[(qid, measure)], abs=1e-9), (qid, measure)
            checked += 1
    assert checked == len(ours) * len(measures)
