"""One row per search speed-up: the search of an earlier commit against today's, change by change.

    python benchmarks/search_ablation.py --model models/hi-en --baseline 4c09090 \
        [--test-set test-vg --beam 5 --repeats 2]

Decodes the test set (SentencePiece in and out, no model loading) with the same model under:
the baseline's search and its decoder step; + the per-piece tables of today's decoder step;
today's search (finished sentences leave the batch; each beam's top 2K pieces ranked on logits,
normalised by a logsumexp) with the baseline's step and dense n-gram mask; + the sparse
n-gram ban; and everything. The baseline's
search module is read from git (`git show REV:seq2seq/decode/search.py`, or
`seq2seq/search.py` at commits before the wings). Each row gives
sentences/s (best of `--repeats`), BLEU and the share of outputs identical to the baseline's.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import torch
import torch.nn.functional as F

import seq2seq.decode.search as today
from indic_common.special import EOS_ID
from seq2seq.data.prepared import PreparedPair
from seq2seq.decode.translate import Translator
from seq2seq.evaluate.metrics import corpus_scores
from seq2seq.model.network import Seq2Seq

ROOT = Path(__file__).resolve().parents[1]


def _baseline_search(rev: str):
    """The search module of commit `rev`, imported under another name."""
    for where in ("seq2seq/decode/search.py", "seq2seq/search.py"):  # today's place, the old
        shown = subprocess.run(
            ["git", "show", f"{rev}:{where}"], cwd=ROOT, capture_output=True, text=True
        )
        if shown.returncode == 0:
            break
    shown.check_returncode()
    text = shown.stdout
    path = Path(tempfile.mkdtemp()) / "baseline_search.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("baseline_search", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _logits_without_tables(self, prev_ids, state, memory):
    """The decoder step before the per-piece tables: two products per step."""
    emb = self.decoder.embed(prev_ids) * self.decoder.embed_scale
    s, context, state, attn = self.decoder.step(self.decoder.emb_gates(emb), state, memory)
    return self.decoder.readout(s, context, emb).float(), state, attn


def _step_without_tables(self, prev_ids, state, memory):
    logits, state, attn = _logits_without_tables(self, prev_ids, state, memory)
    return F.log_softmax(logits, dim=-1), state, attn


def _dense_ban(self, log_probs, history):
    """The baseline's n-gram blocking: a full-vocabulary mask, then a masked fill."""
    banned = today.repeated_ngrams(history, self.no_repeat_ngram, log_probs.size(1))
    banned[:, EOS_ID] = False
    log_probs.masked_fill_(banned, float("-inf"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", type=Path, default=Path("models/hi-en"))
    p.add_argument("--baseline", default="4c09090", help="the commit whose search is the base")
    p.add_argument("--data-root", type=Path, default=Path("data"))
    p.add_argument("--test-set", default="test-vg")
    p.add_argument("--beam", type=int, default=5)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    old = _baseline_search(args.baseline)
    prepared = PreparedPair(args.data_root / "hi-en")
    src = prepared.read(args.test_set, "hi")
    refs = prepared.references(args.test_set, "en")
    tr = Translator.load(args.model, beam_size=args.beam, batch_size=64)
    old_step = mock.patch.multiple(
        Seq2Seq, decode_step=_step_without_tables, decode_logits=_logits_without_tables
    )
    rows = [
        (
            "baseline search and decoder step",
            [mock.patch("seq2seq.decode.translate.search", old.search), old_step],
        ),
        (
            "baseline + per-piece tables in the decoder step",
            [mock.patch("seq2seq.decode.translate.search", old.search)],
        ),
        (
            "today's search (leaving the batch, top-k per beam on logits), dense n-gram mask",
            [old_step, mock.patch.object(today._Limits, "block_repeats", _dense_ban)],
        ),
        ("today's search, without the per-piece tables", [old_step]),
        ("today's search and decoder step", []),
    ]
    results, base_hyps = [], None
    for label, patches in rows:
        with ExitStack() as stack:
            for patch in patches:
                stack.enter_context(patch)
            tr.translate(src[:64])  # warm-up (and today's tables)
            best = float("inf")
            for _ in range(args.repeats):
                start = time.perf_counter()
                hyps = tr.translate(src)
                best = min(best, time.perf_counter() - start)
        base_hyps = base_hyps or hyps
        bleu = corpus_scores(hyps, refs)[0].score
        same = sum(a == b for a, b in zip(hyps, base_hyps)) / len(hyps)
        results.append(
            {
                "search": label,
                "sentences_per_s": round(len(src) / best, 1),
                "BLEU": bleu,
                "identical": same,
            }
        )
        print(f"| {label} | {len(src) / best:.1f} | {bleu:.2f} | {same:.1%} |", flush=True)
    if args.out:
        args.out.write_text(
            json.dumps(
                {"args": {k: str(v) for k, v in vars(args).items()}, "rows": results}, indent=2
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
