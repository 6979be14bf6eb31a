"""Analysis: pure functions over trajectories and polars frames (segments, patterns, keywords,
grading, overthinking, constraint attention)."""
