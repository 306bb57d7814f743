"""The replay study: hippocampal replay as a movie or as imagination, and prioritized memory access.

Imported by its full name, `neuro.replay` (the top-level `replay` package is the agents' replay buffer).
"""
