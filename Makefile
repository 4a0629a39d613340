# The two set-up commands of the README. Both create/reuse .venv and install what they need.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install browser clean-demo

$(VENV)/.bootstrapped: pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)

install: $(VENV)/.bootstrapped

demo: $(VENV)/.bootstrapped
	$(BIN)/actrep demo $(DEMO_ARGS)

# Debian's Chromium and ChromeDriver for the browser test of `actrep app` (quick when present).
browser:
	bash scripts/install_browser.sh

test: $(VENV)/.bootstrapped browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean-demo:
	rm -rf runs/demo
