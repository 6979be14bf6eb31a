"""Notebook tier: every notebook in ``notebooks/`` executes top to bottom (nbclient).

Run with ``WORKBENCH_QUICK=1 python -m pytest -m notebooks tests/notebooks`` (``make
test-notebooks``). The default run deselects these tests (``-m 'not notebooks'`` in pyproject's
``addopts``), so the default tier stays fast. Executed copies are kept under
``$WORKBENCH_ARTIFACTS/notebooks`` (default ``artifacts/notebooks``) with a ``timings.json``.
"""
