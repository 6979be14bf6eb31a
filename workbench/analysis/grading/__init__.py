"""Graders: math final answers and IFEval-style verifiable instructions."""
