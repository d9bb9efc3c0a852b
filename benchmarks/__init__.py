"""Benchmarks: one script per figure, run by `make bench`; they measure and print, never assert."""
