# Shortcuts for the scripts, which are what the README and CI use.
.PHONY: demo test bench
demo:
	./scripts/demo
test:
	./scripts/test
bench:
	.venv/bin/python bench/parse_speed.py && .venv/bin/python bench/eval_corpus.py
