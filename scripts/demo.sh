#!/usr/bin/env bash
# Install, index the user guide in docs/, and ask it a question.
set -euo pipefail
cd "$(dirname "$0")/.."
RAG_SKIP_BROWSER=1 bash scripts/install.sh
export RAG_INDEX_DIR=${RAG_INDEX_DIR:-.rag-index}
.venv/bin/rag ingest docs/guide
.venv/bin/rag ask "${1:-How do I remove a document from the index?}"
