"""The kernel-side session manager: models, runs streaming in the background, recording."""

from workbench.session.recorder import Recorder
from workbench.session.run import RUN_STATUSES, Run, RunEnd, Subscriber
from workbench.session.session import Session

__all__ = ["RUN_STATUSES", "Recorder", "Run", "RunEnd", "Session", "Subscriber"]
