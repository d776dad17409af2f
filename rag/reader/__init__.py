"""The extractive reader: a span-prediction model on the bundled encoder, trained by this project.

- :mod:`rag.reader.squad` reads SQuAD-format question–answer files;
- :mod:`rag.reader.features` turns (question, context) pairs into token windows and logits into spans;
- :mod:`rag.reader.train` fine-tunes it (``rag train-reader``);
- :mod:`rag.reader.model_dir` reads and writes a reader directory and its card;
- :mod:`rag.reader.runtime` runs it with ONNX Runtime to read passages at question time.
"""
from __future__ import annotations
