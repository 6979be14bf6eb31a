"""Analysis: pure functions over trajectories and polars frames.

Segments, thinking patterns, reflection keywords, grading, overthinking and constraint attention.
"""
