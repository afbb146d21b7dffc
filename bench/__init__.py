"""`python -m bench`: LoveMart's benchmarks against this machine's floors (see bench/run.py)."""
