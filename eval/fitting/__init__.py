"""Fitting what the product learns besides the reader's weights, as library code the commands call.

- :mod:`eval.fitting.halves`: held-out halves of articles (every fit is scored on articles it did
  not see);
- :mod:`eval.fitting.provenance`: the ``about`` block each fitted file carries;
- :mod:`eval.fitting.recording`: ask as ``Pipeline.ask`` does and keep what the answerer saw;
- :mod:`eval.fitting.fusion`, :mod:`eval.fitting.sentence_ranker`, :mod:`eval.fitting.no_answer`:
  collect, fit and score each model;
- :mod:`eval.fitting.reader_data`: the reader's training / validation split;
- :mod:`eval.fitting.card`: a report's figures into a reader's card;
- :mod:`eval.fitting.cli`: ``rag fit ...``.
"""
# Nothing is imported here: `rag --help` builds the `fit` parser from eval.fitting.cli, which must
# not load rag/ (faiss, onnxruntime) on the way.
