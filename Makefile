# Two commands set up a fresh machine:  `make lab` (open the lab)  and  `make test` (run the tests).
# Both create ./.venv on first use. TORCH_SPEC is the torch build to install: the default pins the
# wheels that lie on this project's build machines; on your own machine, e.g. `make lab TORCH_SPEC=torch`.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
PY := $(VENV)/bin/python
STAMP := $(VENV)/.pe-lab-installed

.PHONY: lab explorer book site instructor test test-browser lint bench experiment gpu-pack gpu-check clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_SPEC)
	$(PY) -m pip install -q -e '.[dev,lab,lightning]'
	touch $(STAMP)

# The server resolves a file argument against its working directory, so start it inside notebooks/.
# Root (containers, cloud VMs, CI) must say --allow-root or JupyterLab refuses to start.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)
lab: $(STAMP)  ## open JupyterLab on the first notebook
	cd notebooks && ../$(VENV)/bin/jupyter lab $(ALLOW_ROOT) $(LAB_ARGS) 01_convolution_math.ipynb

# Voila runs the explorer notebook and shows only its widgets (no code); it needs no --allow-root. The page opens
# on the committed results: nothing is downloaded. VOILA_ARGS e.g. --no-browser --port=8866.
explorer: $(STAMP)  ## one page, every explorer in tabs (masks, costs, calibration, OOD, shift, toy, sweeps, frontier)
	$(VENV)/bin/voila $(VOILA_ARGS) explorer/pe_lab_explorer.ipynb

# The notebooks as a static site in runs/book/, each executed as a class runs it on a CPU (not quick mode: the
# committed results where a notebook offers them), kept in runs/executed-class/ and reused until a notebook, pe_lab or
# a committed result changes; MathJax (npm's mathjax@3, fetched once) and plotly.js are served by the site itself, so
# it works offline. BOOK_ARGS e.g. --only 04,08 (a partial book) or --jobs 2.
book: $(STAMP)  ## a static HTML book of every notebook as a class sees it, in runs/book/ (open runs/book/index.html)
	$(PY) -m pip install -q -e '.[book]'
	$(PY) scripts/build_book.py --out runs/book $(BOOK_ARGS)

# Every explorer as one static page in runs/site/ whose controls work with no kernel and no network (open
# runs/site/index.html, or serve the folder); the link after '#' holds the tab and every control. Each state is drawn
# ahead of time by the explorers' own code; the toy world's 162 states train once (minutes on 2 CPU cores), cached in
# runs/site-cache/. SITE_ARGS e.g. --quick (two values per control) or --jobs 4.
site: $(STAMP)  ## every explorer as a static offline page, state in the link, in runs/site/ (open runs/site/index.html)
	$(PY) scripts/build_site.py --out runs/site $(SITE_ARGS)

# Filled copies of the notebooks with a Solutions section each (every exercise answered; the tests execute them).
instructor: $(STAMP)  ## the instructor pack: runs/instructor/NN_*.ipynb, every exercise solved
	$(PY) -m pe_lab solutions fill --out runs/instructor

test: $(STAMP)  ## unit tests, doctests, lint, and every notebook executed in quick mode
	$(PY) -m pip install -q -e '.[reference]'  # torch-uncertainty: the tutorial's layers, compared with pe-lab's
	$(VENV)/bin/ruff check pe_lab tests scripts notebooks
	PE_LAB_QUICK=1 MPLBACKEND=Agg $(PY) -m pytest -ra

test-browser: $(STAMP)  ## headless Chromium: JupyterLab's sliders move, figures change; every book page reads right
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)
	$(PY) -m pip install -q -e '.[browser]'
	PE_LAB_QUICK=1 $(PY) -m pytest -ra -m browser tests/test_browser.py tests/test_site_browser.py

lint: $(STAMP)
	$(VENV)/bin/ruff check pe_lab tests scripts notebooks

bench: $(STAMP)
	$(PY) -m pe_lab bench --model resnet18 --alpha 2 --num-estimators 4 --gamma 1 --batch 64 --device cpu --out runs/bench-resnet18-cpu.json

experiment: $(STAMP)
	$(PY) -m pe_lab experiment --preset quick

# A GPU machine gets only the checkout: pack the data into an ignored folder first (here, where ../shared is),
# then run the check there with OUT set to the folder that comes back.
SHARED_DATA ?= ../shared/data
gpu-pack: $(STAMP)  ## pack JPEG CIFAR-10 + 2.5k SVHN into .gpu-data/ (25 MiB) for a GPU machine
	$(PY) -m pe_lab datapack pack $(SHARED_DATA) .gpu-data/cifar10-svhn.pack

gpu-check:  ## on the GPU machine (no venv needed): device checks, bench b128/b512, H100 preset -> $$OUT
	python scripts/gpu_check.py --out "$${OUT:?set OUT to the results folder}"

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
