"""Sweep the hybrid retriever's fusion weights on a dataset (retrieval only, one process).

Usage: python -m eval.tune_retrieval --dataset eval/datasets/dev.jsonl
Prints recall@5 / MRR@10 for each setting, so a choice in rag/retrieve.py can be justified by numbers.
"""
from __future__ import annotations

import argparse
import itertools

from eval.dataset import gold_quotes, is_answerable, load_dataset
from eval.metrics import hit_flags, mrr_at_k, recall_at_k


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", default="eval/datasets/dev.jsonl")
    ap.add_argument("--dense", default="0,0.3,1")
    ap.add_argument("--lex", default="1")
    ap.add_argument("--folded", default="0.5,1")
    ap.add_argument("--prior", default="0.5,1,2")
    ap.add_argument("--rrf-k", default="10,60")
    ap.add_argument("--fusion", default="rrf")
    ap.add_argument("--section-prior", type=float, default=1.0)
    ap.add_argument("--alpha", default="0.8")
    args = ap.parse_args()
    from rag.config import Settings
    from rag.retrieve import Retriever

    items = [it for it in load_dataset(args.dataset) if is_answerable(it)]
    retriever = Retriever.load(Settings.from_env())
    grid = itertools.product(*(map(float, getattr(args, a).split(",")) for a in ("dense", "lex", "folded", "prior", "rrf_k", "alpha")))
    print("dense lex folded prior rrf_k alpha | R@1 R@3 R@5 R@10 MRR@10 | accentless R@5")
    retriever.fusion = args.fusion
    retriever.section_prior = args.section_prior
    for wd, wl, wf, prior, rrf_k, alpha in grid:
        retriever.alpha = alpha
        retriever.weights = {"dense": wd, "lex": wl, "lex_folded": wf}
        retriever.doc_prior = prior
        retriever.settings = retriever.settings.__class__(**{**retriever.settings.__dict__, "rrf_k": int(rrf_k)})
        flags, flags_nd = [], []
        for it in items:
            hits = retriever.search(it["question"], k=10)
            f = hit_flags([{"doc": h.doc, "text": h.text} for h in hits], it["doc"], gold_quotes(it))
            flags.append(f)
            if it.get("no_diacritics"):
                flags_nd.append(f)
        print(f"{wd:4} {wl:4} {wf:4} {prior:4} {int(rrf_k):3} {alpha:4} | " + " ".join(
            f"{recall_at_k(flags, k):.3f}" for k in (1, 3, 5, 10)) + f" {mrr_at_k(flags, 10):.3f} | "
              f"{recall_at_k(flags_nd, 5):.3f}", flush=True)


if __name__ == "__main__":
    main()
