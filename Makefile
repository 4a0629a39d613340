# The two set-up commands of the README. Both create/reuse .venv and install what they need.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test install clean-demo

$(VENV)/.bootstrapped: pyproject.toml scripts/bootstrap.sh
	bash scripts/bootstrap.sh $(VENV)

install: $(VENV)/.bootstrapped

demo: $(VENV)/.bootstrapped
	$(BIN)/actrep demo $(DEMO_ARGS)

test: $(VENV)/.bootstrapped
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean-demo:
	rm -rf runs/demo
