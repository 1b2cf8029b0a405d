.PHONY: build-dev build-prod lint lint-rust lint-python stubtest doc format test test-rust \
	test-python fuzz-ci fuzz bench bench-quick all

# Seconds per target for `make fuzz` (cargo-fuzz, nightly); cases per target for `make fuzz-ci`.
PYTHON ?= python3
FUZZ_SECONDS ?= 60
FUZZ_CASES ?= 2000
FUZZ_TARGETS = arpa_reader binary_reader counts_reader normalizer tokenizer segmenter \
	sentencepiece

# A fast, unoptimised-LTO build for the edit-test loop (Cargo.toml's dev profile).
build-dev:
	maturin develop --profile dev --extras test

# The release profile (fat LTO, one codegen unit): what a wheel ships; for benchmarks.
build-prod:
	maturin develop --release --extras test

lint: lint-rust lint-python stubtest

lint-rust: doc
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings

# The API docs build without a warning (broken intra-doc links included).
doc:
	RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -p kneser

lint-python:
	ruff check python tests benchmarks
	ruff format --check python tests benchmarks
	$(PYTHON) -m mypy python/kneser

# The .pyi stubs against the installed native module (needs `make build-dev` first).
stubtest:
	$(PYTHON) -m mypy.stubtest kneser._kneser --ignore-disjoint-bases --allowlist .stubtest-allowlist

format:
	cargo fmt --all
	ruff format python tests benchmarks
	ruff check --fix python tests benchmarks

test-rust:
	cargo test -p kneser

# The README's Python examples (tests/test_readme.py) run with the rest of pytest.
test-python:
	$(PYTHON) -m pytest

test: test-rust test-python

# The fuzz bodies on stable: committed corpora and regressions replayed, then FUZZ_CASES
# proptest mutations per target (rust/kneser/tests/fuzz_replay.rs). Bounded for CI.
fuzz-ci:
	KNESER_FUZZ_CASES=$(FUZZ_CASES) cargo test -p kneser --test fuzz_replay

# libFuzzer through cargo-fuzz (nightly): FUZZ_SECONDS per target, corpora grown in place.
fuzz:
	cd fuzz && for t in $(FUZZ_TARGETS); do \
		cargo +nightly fuzz run $$t corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

# Every benchmark of issue 17 side by side with its anchor, as ONE table (build-prod first);
# `make bench-quick`: smaller inputs, fewer repeats (< 10 minutes).
bench:
	$(PYTHON) benchmarks/run_all.py

bench-quick:
	$(PYTHON) benchmarks/run_all.py --quick

all: build-dev lint test
