.PHONY: build-dev lint format test test-rust test-python bench all

build-dev:
	maturin develop --release --extras test

lint:
	cargo fmt --all -- --check
	cargo clippy --all-targets -- -D warnings
	ruff check python tests benchmarks
	ruff format --check python tests benchmarks

format:
	cargo fmt --all
	ruff format python tests benchmarks
	ruff check --fix python tests benchmarks

test-rust:
	cargo test -p kneser

test-python:
	python -m pytest

test: test-rust test-python

bench:
	python benchmarks/bench_estimate.py
	python benchmarks/bench_query.py
	python benchmarks/bench_segment.py
	python benchmarks/bench_normalize.py
	python benchmarks/bench_encode.py
	python benchmarks/bench_pipeline.py

all: lint build-dev test
