"""Back-translation (Sennrich, Haddow & Birch 2016): monolingual target-side text becomes
synthetic training pairs, written as a synthetic part of a prepared folder.

    backtranslate(BacktranslateJob(input=data/hi-en/mono.en, to="hi",
                                   output=data/hi-en/synthetic/bt-greedy, model=models/en-hi))

writes `<output>.hi` (the synthetic sources), `<output>.en` (the input lines, the real
targets) and `<output>.json` (how they were made), and training adds them through
`data.synthetic` (e.g. configs/hi-en-bt.yaml), each line of domain `backtranslation`, so a
model trained with domain tags reads `<dom:backtranslation>` before a synthetic source (tagged
back-translation, Caswell, Chelba & Grangier 2019).

The same job forward: `input=data/hi-en/train.hi, to="en", model=<a hi->en ensemble>` writes
the model's translations of real sources, read by training through `data.forward` (the
synthetic side the target, untagged): self-training, or sequence-level knowledge distillation
(Kim & Rush 2016) when the model is an ensemble and the student a single model.

Methods: `greedy`, `sample` (each piece drawn from the model's distribution; Edunov et al.
2018), `beam` (the bundle's beam); and two baselines that need no model: `copy` (the target
copied as the source) and `dummy` (an empty source: the tag alone when the model is tagged).
`min_len_ratio` replaces the bundle's length floor: the into-Indic floor was chosen for
chrF++, which rewards length, while a synthetic source should say what its target says.

Resumable: the input is cut into chunks of `chunk_lines`; each chunk is translated and then
written atomically into `<output>.parts/`; a restarted run checks that it is the same job
(input, model, method, seed) and skips the chunks already there. Sampling is seeded per chunk,
so an interrupted run writes the same corpus as an uninterrupted one. The final files appear
only when every chunk is done (`<output>.json` last, which training checks).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

from indic_common.atomic import open_atomic, write_text
from indic_common.errors import ConfigError, DataError
from indic_common.languages import CODES as LANGS
from indic_common.normalize import normalizer
from indic_common.synthetic import METHODS
from indic_common.textfile import iter_lines

log = logging.getLogger(__name__)

_NEEDS_MODEL = ("greedy", "sample", "beam")


@dataclass(frozen=True)
class BacktranslateJob:
    """What to back-translate, how, and where to; `to` is the synthetic side's language."""

    input: Path
    to: str
    output: Path
    model: Path | None = None
    method: str = "greedy"
    seed: int = 1
    chunk_lines: int = 2000
    max_lines: int | None = None  # the first N input lines only
    batch_size: int = 64
    device: str = "cpu"
    min_len_ratio: float | None = None  # the bundle's length floor when None
    ensemble: tuple[
        Path, ...
    ] = ()  # more bundles decoded with `model` as one (seq2seq.model.ensemble)

    @property
    def from_lang(self) -> str:
        """The input's language: its file suffix (mono.en -> en)."""
        return self.input.suffix.lstrip(".")


def _check(job: BacktranslateJob) -> None:
    if job.method not in METHODS:
        raise ConfigError(f"unknown method {job.method!r}; choose one of {', '.join(METHODS)}")
    if job.from_lang not in LANGS:
        raise ConfigError(
            f"{job.input}: name the input file after its language (e.g. mono.en); "
            f"got suffix {job.from_lang!r}, known: {', '.join(LANGS)}"
        )
    if job.to not in LANGS or job.to == job.from_lang or "en" not in (job.to, job.from_lang):
        raise ConfigError(
            f"--to {job.to!r}: the synthetic side must be en or one of hi, ta, bn, and differ "
            f"from the input's language ({job.from_lang})"
        )
    if job.method in _NEEDS_MODEL and job.model is None:
        raise ConfigError(f"--method {job.method} translates with a model: pass --model")
    if job.ensemble and job.method not in _NEEDS_MODEL:
        raise ConfigError(f"--ensemble: --method {job.method} translates with no model")
    if job.chunk_lines < 1 or (job.max_lines is not None and job.max_lines < 1):
        raise ConfigError("--chunk-lines and --max-lines must be 1 or more")
    if not job.input.is_file():
        raise DataError(f"{job.input}: file not found")


def _translate_chunk(job: BacktranslateJob) -> tuple[Callable[[list[str], int], list[str]], dict]:
    """The function that makes a chunk's synthetic sources, and what identifies it."""
    if job.method == "copy":
        return (lambda lines, _: lines), {}
    if job.method == "dummy":
        return (lambda lines, _: [""] * len(lines)), {}
    import torch

    from seq2seq.decode.translate import Translator

    overrides: dict = {"batch_size": job.batch_size}
    if job.method != "beam":
        overrides.update(beam_size=1, nbest=1, sampling=job.method == "sample")
    if job.min_len_ratio is not None:
        overrides["min_len_ratio"] = job.min_len_ratio
    assert job.model is not None
    translator = Translator.load(job.model, job.device, ensemble=job.ensemble, **overrides)
    if f"{job.from_lang}-{job.to}" not in translator.directions:
        known = ", ".join(d.replace("-", "->") for d in translator.directions)
        raise ConfigError(
            f"{job.model} translates {known}; back-translating "
            f"{job.input} into {job.to} needs a {job.from_lang}->{job.to} model",
            key="model",
        )
    translator = translator.for_direction(job.from_lang, job.to)  # a multilingual model's

    def run(lines: list[str], chunk: int) -> list[str]:
        torch.manual_seed(job.seed * 1_000_003 + chunk)  # the same draws on a rerun
        return [t.best for t in translator.translate_batch(lines)]

    metadata = translator.bundle.metadata
    identity = {
        "model_sha256": metadata.get("sha256", {}).get("model.safetensors"),
        "decode": asdict(translator.decode),
    }
    if job.ensemble:  # the other members, each by its weights (seq2seq.model.ensemble.join_bundles)
        identity["ensemble"] = metadata["ensemble"][1:]
    return run, identity


def _input_digest(path: Path) -> str:
    h = hashlib.blake2b(digest_size=16)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunks(lines: Iterator[str], size: int) -> Iterator[list[str]]:
    while chunk := list(islice(lines, size)):
        yield chunk


def backtranslate(job: BacktranslateJob, progress: Callable[[str], None] = log.info) -> dict:
    """Run (or finish) a job; returns the record written to `<output>.json`."""
    _check(job)
    done_path = job.output.with_name(job.output.name + ".json")
    run, identity = _translate_chunk(job)
    normalize = normalizer(job.from_lang)
    record = {
        "input": str(job.input),
        "input_blake2b": _input_digest(job.input),
        "method": job.method,
        "seed": job.seed,
        "chunk_lines": job.chunk_lines,
        "max_lines": job.max_lines,
        "model": str(job.model) if job.model else None,
        "from": job.from_lang,
        "to": job.to,
        **identity,
    }
    if done_path.is_file():
        before = json.loads(done_path.read_text(encoding="utf-8"))
        if {k: before.get(k) for k in record} == record:
            progress(f"{job.output.name}: already made ({before['lines']} lines)")
            return before
    parts = job.output.with_name(job.output.name + ".parts")
    try:
        parts.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"{parts}: cannot create the work folder ({e.strerror})") from None
    job_path = parts / "job.json"
    if job_path.is_file():
        before = json.loads(job_path.read_text(encoding="utf-8"))
        if before != record:
            changed = sorted(k for k in record if before.get(k) != record[k])
            raise DataError(
                f"{parts}: left by another back-translation job (differs in "
                f"{', '.join(changed)}); remove the folder to start again, or run that job"
            )
    else:
        write_text(job_path, json.dumps(record, indent=2) + "\n")
    start, lines_in, reused = time.monotonic(), 0, 0
    lines = islice(iter_lines(job.input), job.max_lines)
    names = []
    for n, chunk in enumerate(_chunks(lines, job.chunk_lines)):
        name = parts / f"{n:05d}"
        names.append(name)
        lines_in += len(chunk)
        if name.with_suffix(".done").is_file():
            reused += len(chunk)
            continue
        targets = [normalize(line) for line in chunk]
        sources = [s.replace("\n", " ") for s in run(targets, n)]
        with open_atomic(name.with_suffix(f".{job.to}")) as f:
            f.writelines(s + "\n" for s in sources)
        with open_atomic(name.with_suffix(f".{job.from_lang}")) as f:
            f.writelines(t + "\n" for t in targets)
        write_text(name.with_suffix(".done"), f"{len(chunk)}\n")
        done = lines_in - reused
        rate = done / max(time.monotonic() - start, 1e-9)
        progress(f"{job.output.name}: {lines_in} lines ({rate:.0f} lines/s)")
    if lines_in == 0:
        raise DataError(f"{job.input}: empty file; back-translation needs one segment a line")
    for lang in (job.to, job.from_lang):
        with open_atomic(job.output.with_name(f"{job.output.name}.{lang}")) as out:
            for name in names:
                with name.with_suffix(f".{lang}").open(encoding="utf-8") as f:
                    shutil.copyfileobj(f, out)
    record.update(
        lines=lines_in,
        reused_lines=reused,
        seconds=round(time.monotonic() - start, 1),
    )
    write_text(done_path, json.dumps(record, indent=2) + "\n")
    shutil.rmtree(parts, ignore_errors=True)
    return record
