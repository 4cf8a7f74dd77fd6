"""Benchmarks of the service against yardsticks measured in the same run (`make bench`)."""
