import sys

from .config import VocabularyError

try:
    from .cli import main
except VocabularyError as e:  # the corpus vocabulary is read when rag's text rules are imported
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)

sys.exit(main())
