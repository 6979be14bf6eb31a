"""``python -m workbench.documents``: print the extension's generated TypeScript payload types."""

import sys

from workbench.documents._payloads import typescript

sys.stdout.write(typescript())
