#!/bin/sh
# The real-mail corpus through the understanding entry point (see corpus.py).
BUILD=${BUILD:-build/check}
# The corpus lives in the repository (tests/corpus/data, each collection with
# its licence and SOURCE.txt); a missing one is a failure, never a skip.
CORPUS=${CORPUS:-tests/corpus/data}
if [ ! -f "$CORPUS/MANIFEST.tsv" ]; then
	echo "not ok 1 - corpus: no MANIFEST.tsv at $CORPUS"
	echo "1..1"
	exit 1
fi
exec python3 tests/corpus/corpus.py "$CORPUS" "$BUILD/tests/corpus_dump"
