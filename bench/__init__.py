"""Benchmarks of the installer: `python -m bench` (or bench/run) runs them all and prints figures."""
