# indic-seq2seq. Every target sets itself up first: `make quickstart` on a fresh machine works.
#   make quickstart                      prepare hi-en, train a small model, score it, translate
#   make data PAIR=hi-en                 (ta-en, bn-en, all) prepare data/<pair>/
#   make train PAIR=hi-en                (en-hi, ta-en, ..., hi-en-noattn) train models/<PAIR>/
#   make eval PAIR=hi-en                 BLEU / chrF++ on every test set of the pair
#   make translate PAIR=hi-en TEXT="..." translate a sentence
#   make test                            the test suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PAIR   ?= hi-en
TEXT   ?= यह एक छोटा सा परीक्षण है ।
BEAM   ?= 5
# The offline mirror of the corpora, used when it exists (else the pipeline downloads).
MIRROR ?= $(wildcard ../shared/corpora)
MIRROR_ARG := $(if $(MIRROR),--mirror $(MIRROR))

# PAIR names a config (configs/$(PAIR).yaml, e.g. en-hi or hi-en-noattn); its data folder is
# the Indic language then "en", shared by both directions.
LANGS     := $(subst -, ,$(PAIR))
DATA_PAIR := $(if $(filter en,$(word 1,$(LANGS))),$(word 2,$(LANGS))-en,$(word 1,$(LANGS))-en)
DATA_PAIRS := $(if $(filter all,$(PAIR)),hi-en ta-en bn-en,$(DATA_PAIR))

.PHONY: setup data train eval translate quickstart test bench bench-quick clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $@

data: setup
	$(BIN)/python -m data_prep $(DATA_PAIRS) $(MIRROR_ARG) --out data --cache-dir data/.cache

data/%/meta.json: | setup
	$(BIN)/python -m data_prep $* $(MIRROR_ARG) --out data --cache-dir data/.cache

train: setup data/$(DATA_PAIR)/meta.json
	$(BIN)/seq2seq -v train --config configs/$(PAIR).yaml --resume

eval: setup
	$(BIN)/seq2seq evaluate --model models/$(PAIR) --beam $(BEAM)

translate: setup
	$(BIN)/seq2seq translate --model models/$(PAIR) --beam $(BEAM) "$(TEXT)"

quickstart: setup data/hi-en/meta.json
	$(BIN)/seq2seq -v train --config configs/quickstart.yaml --resume
	$(BIN)/seq2seq evaluate --model models/hi-en --beam 5
	$(BIN)/seq2seq translate --model models/hi-en --beam 5 \
	  "एक आदमी सड़क पर चल रहा है ।" "मेज़ पर एक सफ़ेद प्लेट है" "यह एक सुंदर शहर है ।" \
	  "भारत की राजधानी नई दिल्ली है ।" "मुझे चाय पसंद है ।"

test: setup
	$(BIN)/python -m pytest -q

clean:
	rm -rf runs eval
