"""Turn one split of a catalogued corpus into a `datasets.Dataset`; the only module that downloads.

Every source becomes the same Arrow-backed table, written to the `datasets` cache and
memory-mapped, so a multi-million-pair corpus never has to fit in RAM:

    indic: str        the Indic side
    en:    list[str]  one or more English references (Post et al. 2012 has four)
    group: str        the document a segment belongs to (its own index when unknown)
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import datasets
from sacremoses import MosesDetokenizer

from data_prep.catalog import Corpus, pair_langs
from indic_common.errors import DataError
from indic_common.textfile import iter_lines

log = logging.getLogger(__name__)

FEATURES = datasets.Features(
    {
        "indic": datasets.Value("string"),
        "en": datasets.Sequence(datasets.Value("string")),
        "group": datasets.Value("string"),
    }
)


# Penn Treebank bracket tokens, which the Moses detokenizer leaves as they are.
_PTB_BRACKETS = {"-LRB-": "(", "-RRB-": ")", "-LSB-": "[", "-RSB-": "]", "-LCB-": "{", "-RCB-": "}"}
_SPACED_CLOSING_QUOTE = re.compile(r" ([”’])")  # the detokenizer attaches only opening ones


def detokenize(detokenizer: MosesDetokenizer, text: str) -> str:
    """Undo the Moses tokenisation of an English line: "king 's ears ." -> "king's ears."."""
    tokens: list[str] = []
    for token in text.split():
        if token.lower() == "n't" and tokens:  # Penn Treebank's "do n't", which Moses keeps
            tokens[-1] += token
        else:
            tokens.append(_PTB_BRACKETS.get(token, token))
    return _SPACED_CLOSING_QUOTE.sub(r"\1", detokenizer.detokenize(tokens))


def count_lines_checked(path: Path) -> int:
    """Count the lines of a text file, raising DataError at the first line that is not UTF-8."""
    return sum(1 for _ in iter_lines(path))


def check_parallel(paths: list[Path]) -> int:
    """Check that parallel files exist, are UTF-8, are not empty and have one line count."""
    counts = {}
    for path in paths:
        if not path.is_file():
            raise DataError(f"{path}: file not found")
        counts[path] = count_lines_checked(path)
        if counts[path] == 0:
            raise DataError(f"{path}: empty file; a corpus file holds one segment a line")
    if len(set(counts.values())) > 1:
        detail = ", ".join(f"{p} has {n}" for p, n in counts.items())
        raise DataError(
            f"parallel files have different line counts ({detail}); every line "
            "must pair with the line of the same number in the other files"
        )
    return next(iter(counts.values()))


def _text_rows(
    indic_path: Path,
    en_paths: tuple[Path, ...],
    group_path: Path | None,
    group_pattern: str,
    merge_segments: bool,
    detokenize_en: bool,
) -> Iterator[dict]:
    pattern = re.compile(group_pattern)
    detokenizer = MosesDetokenizer(lang="en") if detokenize_en else None
    en_iters = [iter_lines(p) for p in en_paths]
    groups = iter_lines(group_path) if group_path else None
    row: dict | None = None
    key: tuple[str, str] | None = None
    for i, indic in enumerate(iter_lines(indic_path)):
        refs = [next(it) for it in en_iters]
        if detokenizer is not None:
            refs = [detokenize(detokenizer, ref) for ref in refs]
        segment = next(groups) if groups is not None else None
        if merge_segments and segment is not None and key == (segment, indic):
            assert row is not None
            row["en"].extend(refs)  # one more translation of the same segment
            continue
        if row is not None:
            yield row
        match = pattern.search(segment) if segment is not None else None
        row = {"indic": indic, "en": refs, "group": match.group(1) if match else str(i)}
        key = (segment, indic) if segment is not None else None
    if row is not None:
        yield row


def load_text_files(
    indic_path: Path,
    en_paths: list[Path],
    group_path: Path | None = None,
    group_pattern: str = r"^(.*)$",
    cache_dir: Path | None = None,
    merge_segments: bool = False,
    detokenize_en: bool = False,
) -> datasets.Dataset:
    """Read line-aligned plain-text files into the common table (checked first: UTF-8, counts).

    With `merge_segments`, consecutive lines with the same group line and the same source
    become one row holding all their English lines; with `detokenize_en`, Moses-tokenised
    English ("king 's ears .") is detokenised ("king's ears.").
    """
    paths = [indic_path, *en_paths] + ([group_path] if group_path else [])
    check_parallel(paths)
    # The file sizes and modification times go into the generator's arguments, so the
    # `datasets` cache fingerprint changes whenever a file does; so does a digest of this
    # module, whose reading rules (merging, detokenising) `datasets` does not hash.
    # Tuples, not lists: `datasets` would read lists as shards to parallelise over.
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths) + (
        hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest(),
    )
    return datasets.Dataset.from_generator(
        _stamped_rows,
        features=FEATURES,
        cache_dir=str(cache_dir) if cache_dir else None,
        gen_kwargs={
            "indic_path": indic_path,
            "en_paths": tuple(en_paths),
            "group_path": group_path,
            "group_pattern": group_pattern,
            "merge_segments": merge_segments,
            "detokenize_en": detokenize_en,
            "stamp": stamp,
        },
    )


def _stamped_rows(stamp: tuple, **kwargs) -> Iterator[dict]:
    del stamp  # only part of the cache fingerprint
    yield from _text_rows(**kwargs)


def mirror_files(corpus: Corpus, split: str, mirror: Path) -> tuple[Path, list[Path], Path | None]:
    """Locate a split's files in the mirror: the Indic file, the English references, groups."""
    indic, _ = pair_langs(corpus.pair)
    folder = mirror / corpus.pair / str(corpus.mirror_folder)
    split, _ = corpus.file_split(split)  # a section lies in its whole split's files
    multi = sorted(folder.glob(f"{split}.en.[0-9]"))
    en_paths = multi or [folder / f"{split}.en"]
    group = folder / f"{split}.{corpus.group_suffix}" if corpus.group_suffix else None
    return folder / f"{split}.{indic}", en_paths, group if group and group.is_file() else None


def _in_text_mirror(corpus: Corpus, split: str, mirror: Path | None) -> bool:
    """Whether the mirror holds this split as plain-text files."""
    if mirror is None or corpus.mirror_folder is None:
        return False
    indic_path, _, _ = mirror_files(corpus, split, mirror)
    return indic_path.is_file()


def hub_copy(corpus: Corpus, mirror: Path | None) -> Path | None:
    """The mirror's copy of the corpus's hub dataset, `<mirror>/hub/<hub.path>/`, if it has one.

    The copy is the dataset repository in the hub's own layout, as
    `huggingface-cli download --repo-type dataset <hub.path> --local-dir <that folder>` writes it.
    """
    if mirror is None or corpus.hub is None:
        return None
    folder = mirror / "hub" / corpus.hub.path
    return folder if folder.is_dir() else None


def in_mirror(corpus: Corpus, split: str, mirror: Path | None) -> bool:
    """Whether the mirror holds this split of the corpus: as text files, or in a hub copy."""
    return _in_text_mirror(corpus, split, mirror) or (
        split in corpus.splits and hub_copy(corpus, mirror) is not None
    )


def describe_source(corpus: Corpus, split: str, mirror: Path | None) -> str:
    """Where `fetch` reads a split from, for messages: the mirror's files or hub copy, the hub
    id or the URL."""
    if _in_text_mirror(corpus, split, mirror):
        assert mirror is not None
        indic_path, en_paths, _ = mirror_files(corpus, split, mirror)
        return ", ".join(str(p) for p in (indic_path, *en_paths))
    if corpus.hub is not None and split in corpus.splits:
        folder = hub_copy(corpus, mirror)
        if folder is not None:
            return f"{folder} (the mirror's copy of {corpus.hub.path})"
        return f"the hub's {corpus.hub.path}"
    if corpus.url is not None and split in corpus.url.members:
        return corpus.url.url
    return "nowhere"


def _local_config(folder: Path, config: str | None) -> tuple[Path, str | None]:
    """What `load_dataset` reads from a hub copy: a config's own subfolder, `<config>/` (as
    ai4bharat/samanantar's `hi/`) or `data/<config>/`, without the config, because a folder
    names its configs only in a README that a copy may lack; else the folder and the config."""
    if config is not None:
        for sub in (folder / config, folder / "data" / config):
            if sub.is_dir():
                return sub, None
    return folder, config


def _from_hub(
    corpus: Corpus, split: str, cache_dir: Path | None, local: Path | None = None
) -> datasets.Dataset:
    """Load a hub dataset (from `local`, the mirror's copy, when given) into the common table."""
    hub = corpus.hub
    assert hub is not None
    indic_lang, _ = pair_langs(corpus.pair)
    hub_split = hub.split_names.get(split, split)
    path, config = _local_config(local, hub.config) if local else (hub.path, hub.config)
    # In a copy, a missing split or config is a ValueError, missing data files an OSError.
    errors = (ConnectionError, OSError) + ((ValueError,) if local else ())
    try:
        raw = datasets.load_dataset(
            str(path),
            config,
            split=hub_split,
            cache_dir=str(cache_dir) if cache_dir else None,
        )
    except errors as e:
        reason = str(e).splitlines()[0].rstrip(".")
        if local is not None:
            raise DataError(
                f"{path}: cannot load {corpus.name}/{split} (split {hub_split!r}) from this copy "
                f"of {hub.path!r}: {reason}; download it whole with `huggingface-cli download "
                f"--repo-type dataset {hub.path} --local-dir {local}`"
            ) from None
        raise DataError(  # hub unreachable, or no such dataset
            f"cannot load {hub.path!r} ({corpus.name}/{split}) from the Hugging Face "
            f"hub: {reason}; offline, pass --mirror DIR with a local copy"
        ) from None

    detokenize = corpus.detokenize_en  # a flag, not the detokenizer: `datasets` hashes `convert`

    def convert(batch: dict, idx: list[int]) -> dict:
        if hub.translation_column:
            rows = batch[hub.translation_column]
            indic = [r[indic_lang] for r in rows]
            en = [r["en"] for r in rows]
        else:
            indic, en = batch[hub.indic_column], batch[hub.en_column]
        if detokenize:
            detokenizer = MosesDetokenizer(lang="en")
            en = [detokenize(detokenizer, e) for e in en]
        return {"indic": indic, "en": [[e] for e in en], "group": [str(i) for i in idx]}

    return raw.map(
        convert,
        batched=True,
        with_indices=True,
        remove_columns=raw.column_names,
        features=FEATURES,
        desc=f"reading {corpus.name}/{split}",
    )


def _from_url(corpus: Corpus, split: str, cache_dir: Path | None) -> datasets.Dataset:
    source = corpus.url
    assert source is not None
    manager = datasets.DownloadManager(
        download_config=datasets.DownloadConfig(cache_dir=str(cache_dir) if cache_dir else None)
    )
    root = Path(manager.download_and_extract(source.url))
    indic_member, en_member = source.members[split]
    return load_text_files(
        root / indic_member,
        [root / en_member],
        cache_dir=cache_dir,
        detokenize_en=corpus.detokenize_en,
    )


def fetch(
    corpus: Corpus, split: str, mirror: Path | None, cache_dir: Path | None = None
) -> datasets.Dataset:
    """Load one split of a corpus: from the mirror if it holds it (text files, else a copy of
    the hub dataset), else the hub, else the URL. A section (Corpus.sections) is its whole
    split's documents that start with its prefix."""
    whole, prefix = corpus.file_split(split)
    if prefix is not None:
        ds = fetch(corpus, whole, mirror, cache_dir)
        return ds.filter(
            lambda group: group.startswith(prefix),
            input_columns="group",
            desc=f"{corpus.name}/{split}: documents {prefix}…",
        )
    if _in_text_mirror(corpus, split, mirror):
        assert mirror is not None
        indic_path, en_paths, group_path = mirror_files(corpus, split, mirror)
        log.info("%s/%s: reading the mirror %s", corpus.name, split, indic_path.parent)
        return load_text_files(
            indic_path,
            en_paths,
            group_path,
            corpus.group_pattern,
            cache_dir,
            merge_segments=corpus.merge_segments,
            detokenize_en=corpus.detokenize_en,
        )
    if corpus.hub is not None and split in corpus.splits:
        local = hub_copy(corpus, mirror)
        if local is not None:
            log.info("%s/%s: reading the mirror's hub copy %s", corpus.name, split, local)
        else:
            log.info("%s/%s: loading %s from the hub", corpus.name, split, corpus.hub.path)
        return _from_hub(corpus, split, cache_dir, local)
    if corpus.url is not None and split in corpus.url.members:
        log.info("%s/%s: downloading %s", corpus.name, split, corpus.url.url)
        return _from_url(corpus, split, cache_dir)
    where = f"the mirror {mirror}" if mirror else "no mirror (pass --mirror DIR)"
    raise DataError(
        f"corpus {corpus.name!r} ({corpus.pair}) has no split {split!r} in {where}, "
        f"and no download source for it; its splits are {', '.join(corpus.splits)}"
    )
