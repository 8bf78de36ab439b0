# indic-seq2seq. Every target sets itself up first: `make quickstart` on a fresh machine works.
#   make quickstart                      prepare hi-en, train a small model (models/quickstart),
#                                        score it, translate
#   make data PAIR=hi-en                 (ta-en, bn-en, all) prepare data/<pair>/; PAIR=multi:
#                                        the three pairs in data/multi/, one joint tokenizer
#   make train PAIR=hi-en                (en-hi, ta-en, ..., hi-en-noattn, multi) train models/<PAIR>/
#   make finetune PAIR=hi-en             continue models/<PAIR>/ on in-domain pairs: models/<PAIR>-finetune/
#   make eval PAIR=hi-en                 BLEU / chrF++ on every test set of the pair
#   make translate PAIR=hi-en TEXT="..." translate a sentence (models/hi-en, else the stored
#                                        pretrained/hi-en: no training needed)
#   make serve [PAIR=hi-en] [PORT=8000]  HTTP API and web page on http://127.0.0.1:$(PORT)/;
#                                        without PAIR, every stored model (pretrained/)
#   make models                          every model there is: models/, then pretrained/
#   make backtranslate PAIR=hi-en        in-domain English -> synthetic Hindi (models/en-hi):
#     [BT_METHOD=greedy|sample|beam|copy|dummy BT_LINES=N]   data/hi-en/synthetic/bt-<method>
#     [BT_FLOOR=0]                       the reverse model's length floor replaced: bt-<method>-floor0
#     [BT_LINES=115000]                  other than 60,000 lines: bt-<method>[-floor0]-lines115000
#     [BT_ITER=2]                        a later iteration, with a retrained models/en-hi: bt-...-iter2
#   make backtranslate PAIR=multi        the same for each pair of data/multi/ (models/en-{hi,bn,ta})
#   make test                            lint (ruff check, ruff format --check), then the test suite
#   make results PAIR=hi-en              results/<PAIR>.md: every test set, decoding variants, samples
#   make study PAIR=hi-en                attention vs none by source length (trains both if needed)
#   make bench                           against JoeyNMT 2.3.0: throughput, training budgets, decoding speed-ups
#   make bench-quick                     throughput only (a few minutes)
#   make bench-scale                     data preparation and training start at 40k/400k/4M pairs

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PAIR   ?= hi-en
TEXT   ?= यह एक छोटा सा परीक्षण है ।
BEAM   ?= 5
PORT   ?= 8000
BT_METHOD ?= greedy
BT_LINES  ?= 60000
BT_FLOOR  ?=
BT_ITER   ?=
# The offline mirror of the corpora, used when it exists (else the pipeline downloads).
MIRROR ?= $(wildcard ../shared/corpora)
# Training budget of each toolkit in `make bench`, in seconds.
BENCH_SECONDS ?= 600
# JoeyNMT trains this long again to decode at about our budget model's test BLEU.
EQUAL_SECONDS ?= 1800
MIRROR_ARG := $(if $(MIRROR),--mirror $(MIRROR))
# INDIC_LANGS and ALL_PAIRS, generated from indic_common/languages.py.
include languages.mk

# PAIR names a config (configs/$(PAIR).yaml, e.g. en-hi or hi-en-noattn); its data folder is
# the Indic language then "en", shared by both directions.
LANGS     := $(subst -, ,$(PAIR))
DATA_PAIR := $(if $(filter multi%,$(PAIR)),multi,$(if $(filter en,$(word 1,$(LANGS))),$(word 2,$(LANGS))-en,$(word 1,$(LANGS))-en))
DATA_PAIRS := $(if $(filter all,$(PAIR)),$(ALL_PAIRS),$(DATA_PAIR))
INDIC      := $(word 1,$(subst -, ,$(DATA_PAIR)))

.PHONY: setup data train finetune eval translate serve models backtranslate quickstart test \
	results study bench bench-quick bench-scale clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $@

data: setup
	$(BIN)/python -m data_prep -v $(DATA_PAIRS) $(MIRROR_ARG) --out data --cache-dir data/.cache

data/%/meta.json: | setup
	$(BIN)/python -m data_prep -v $* $(MIRROR_ARG) --out data --cache-dir data/.cache

train: setup data/$(DATA_PAIR)/meta.json
	$(BIN)/seq2seq -v train --config configs/$(PAIR).yaml --resume

# In-domain fine-tuning of a trained model (configs/$(PAIR)-finetune.yaml: hi-en, en-hi, hi-en-bt-2to1, multi).
finetune: setup models/$(PAIR)/metadata.json
	$(BIN)/seq2seq -v train --config configs/$(PAIR)-finetune.yaml --resume

# A model by name: models/$(PAIR) when trained here, else the store's pretrained/$(PAIR).
eval: setup
	$(BIN)/seq2seq -v evaluate --model $(PAIR) --beam $(BEAM)

translate: setup
	$(BIN)/seq2seq -v translate --model $(PAIR) --beam $(BEAM) "$(TEXT)"

# PAIR on the command line: that model; else every model of the store.
serve: setup
	$(BIN)/seq2seq serve $(if $(filter command line,$(origin PAIR)),--model $(PAIR)) --port $(PORT)

models: setup
	$(BIN)/seq2seq models

# The monolingual English of a pair, filtered against its dev and test sets, then translated
# into the Indic language by the reverse model (trained first when missing). PAIR=multi: each
# pair of data/multi/ gets its own share of the English, and its own reverse model.
data/multi/mono.json: | data/multi/meta.json
	$(BIN)/python -m data_prep -v multi --mono $(MIRROR_ARG) --out data

data/%/mono.en: | data/%/meta.json
	$(BIN)/python -m data_prep -v $* --mono $(MIRROR_ARG) --out data

BT_MULTI  := $(filter multi,$(DATA_PAIR))
BT_LANGS  := $(if $(BT_MULTI),$(INDIC_LANGS),$(INDIC))
BT_MODELS := $(if $(filter copy dummy,$(BT_METHOD)),,$(BT_LANGS:%=models/en-%/metadata.json))
bt_folder = $(if $(BT_MULTI),data/multi/$(1)-en,data/$(DATA_PAIR))
# The part's name: bt-<method>[-floor<F>][-lines<N>][-iter<I>] (lines only when not the
# default 60,000; iter from the second iteration on).
BT_PART   := bt-$(BT_METHOD)$(if $(BT_FLOOR),-floor$(BT_FLOOR))$(if $(filter-out 60000,$(BT_LINES)),-lines$(BT_LINES))$(if $(BT_ITER),-iter$(BT_ITER))

backtranslate: setup $(if $(BT_MULTI),data/multi/mono.json,data/$(DATA_PAIR)/mono.en) $(BT_MODELS)
	$(foreach lang,$(BT_LANGS),$(BIN)/seq2seq backtranslate \
	  --input $(call bt_folder,$(lang))/mono.en --to $(lang) \
	  --output $(call bt_folder,$(lang))/synthetic/$(BT_PART) \
	  --method $(BT_METHOD) --max-lines $(BT_LINES) $(if $(BT_FLOOR),--min-len-ratio $(BT_FLOOR)) \
	  $(if $(BT_MODELS),--model models/en-$(lang)) &&) true

# QS_NAME and QS_ARGS (config overrides) let CI run the same path with a tiny budget.
QS_NAME ?= quickstart
QS_ARGS ?=
quickstart: setup data/hi-en/meta.json
	$(BIN)/seq2seq -v train --config configs/quickstart.yaml --resume name=$(QS_NAME) $(QS_ARGS)
	$(BIN)/seq2seq evaluate --model models/$(QS_NAME) --beam 5
	$(BIN)/seq2seq translate --model models/$(QS_NAME) --beam 5 --scores \
	  "एक आदमी सड़क पर चल रहा है ।" "मेज़ पर एक सफ़ेद प्लेट है" "यह एक सुंदर शहर है ।" \
	  "भारत की राजधानी नई दिल्ली है ।" "मुझे चाय पसंद है ।"

# The tests cut their data from the mirror: ../shared/corpora, or MIRROR=DIR.
test: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(if $(MIRROR),INDIC_SEQ2SEQ_MIRROR=$(abspath $(MIRROR))) $(BIN)/python -m pytest -q

# Train the model of PAIR when it is missing (a finished run is not redone).
models/%/metadata.json:
	$(MAKE) train PAIR=$*

results: setup models/$(PAIR)/metadata.json
	$(BIN)/seq2seq -v report --model models/$(PAIR) -o results/$(PAIR).md

study: setup models/$(PAIR)/metadata.json models/$(PAIR)-noattn/metadata.json
	$(BIN)/seq2seq -v study --model attention=models/$(PAIR) --model none=models/$(PAIR)-noattn \
	  -o results/study-$(PAIR)

JOEY := benchmarks/.venv-joeynmt/.installed

$(JOEY): benchmarks/setup_joeynmt.sh
	bash benchmarks/setup_joeynmt.sh
	touch $@

bench: setup data/hi-en/meta.json $(JOEY)
	$(BIN)/python benchmarks/bench.py --seconds $(BENCH_SECONDS) --equal-seconds $(EQUAL_SECONDS)

bench-quick: setup data/hi-en/meta.json $(JOEY)
	$(BIN)/python benchmarks/bench.py --quick

bench-scale: setup
	$(BIN)/python benchmarks/scale.py --sizes 40000 400000 4000000

clean:
	rm -rf runs eval
