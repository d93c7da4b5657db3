# mepshark: `make demo` runs the main job, `make test` runs the tests.
# Both set up everything on a fresh Debian machine: a virtual environment
# with the project installed (editable), Debian's tshark, and the plain
# lua5.2/lua5.4 interpreters the tests run the generated dissector under.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT    := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get
# The MEP guide's example key (sixteen 0x01 bytes) opens the sample captures.
GUIDE_KEY := 01010101010101010101010101010101

.PHONY: demo examples-decode test test-trixie lint bench deps sysdeps lua examples screenshots clean

deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  $(APT) update -qq && $(APT) install -y -qq python3-venv >/dev/null && \
	  $(PYTHON) -m venv $(VENV); }
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

SYSPKGS := tshark lua5.2 lua5.4
sysdeps:
	@missing=""; for p in tshark lua5.2 lua5.4; do command -v $$p >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $(SYSPKGS)"; \
	  $(APT) update -qq && $(APT) install -y -qq $(SYSPKGS) >/dev/null; fi

# The main job: the simulated meter served on a pseudo-terminal, a client
# session, both directions tapped by mep-capture into build/demo/demo.pcapng,
# then decoded by tshark with the generated Lua dissector and by scapy; prints
# a short summary, the full decodes go to build/demo/.
demo: deps sysdeps
	$(BIN)/python -m mepshark.sim.demo

# The guide's example messages, decoded by scapy.
examples-decode: deps
	MEP_MAK=$(GUIDE_KEY) $(BIN)/mep-dissector decode pcaps/spec-examples.pcapng

# The suite in two runs.  First everything but the `realtime` tests (live lines
# against the clock, tests/conftest.py) on one pytest-xdist worker per CPU: every
# test keeps to its own temporary folders, pseudo-terminals, port-0 sockets and
# HOME.  Then the realtime tests in one process, with no neighbour to slow them.
# The run that installs into Wireshark's global plugin folder
# (MEPSHARK_THROWAWAY_SYSTEM, set by make test-trixie) changes what every tshark
# loads, so there the first run stays on one process too, as with PYTEST_JOBS=.
PYTEST_JOBS ?= $(if $(MEPSHARK_THROWAWAY_SYSTEM),,-n auto --dist worksteal)
test: deps sysdeps
	$(BIN)/ruff check .
	@status=0; \
	$(BIN)/python -m pytest $(PYTEST_JOBS) -m "not realtime" || status=$$?; \
	$(BIN)/python -m pytest -m realtime || status=$$?; \
	exit $$status

# The suite as root on Debian 13 (Wireshark 4.4, Lua 5.4), where Wireshark runs no
# personal or -X Lua script for root, in a throw-away chroot made with debootstrap
# (kept in TRIXIE_ROOT for the next run).  Needs root; not part of `make test`.
# PYTEST_ARGS="tests/test_lua.py" runs only those tests.
TRIXIE_ROOT ?= build/trixie-root
test-trixie:
	tests/trixie.sh $(TRIXIE_ROOT) $(PYTEST_ARGS)

lint: deps
	$(BIN)/ruff check .

bench: deps sysdeps
	$(BIN)/python bench/bench_decode.py
	$(BIN)/python bench/bench_tshark.py

lua: deps
	$(BIN)/mep-dissector generate

examples: deps
	$(BIN)/python pcaps/make_spec_examples.py

# The pictures in docs/img/: the real Wireshark on a virtual screen opens
# pcaps/demo.pcapng with the generated dissector.  Rerun when the dissector's
# look changes, and look at the PNGs before committing them.
SHOTPKGS := wireshark-qt xvfb xdotool imagemagick
screenshots: deps sysdeps
	@missing=""; for c in wireshark Xvfb xdotool import; do command -v $$c >/dev/null 2>&1 || missing=1; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $(SHOTPKGS)"; \
	  $(APT) update -qq && $(APT) install -y -qq $(SHOTPKGS) >/dev/null; fi
	$(BIN)/python docs/make_screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .ruff_cache *.egg-info bench/*.pcapng
