"""``fk bench``: placeholder module replaced by the benchmark implementation."""
