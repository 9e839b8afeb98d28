"""The fusion-conditions benchmark (benchmarks/fusion_conditions.py): clips under the conditions of
real recordings, per-segment evidence recorded once per condition through the real pipeline, and
every fusion strategy scored from that cache (fitted on one half, reported on the other)."""
