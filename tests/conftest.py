"""Hypothesis profiles: "dev" (the default, quick), "ci" (more examples, no deadline).

The profile is "ci" when the CI environment variable is set, else "dev"; HYPOTHESIS_PROFILE
names one explicitly, e.g. `HYPOTHESIS_PROFILE=thorough python -m pytest tests` to hunt for bugs.
"""

import os

from hypothesis import settings

# A generous deadline only catches an example that hangs; CI machines are too noisy for one.
settings.register_profile("dev", max_examples=40, deadline=2000)
settings.register_profile("ci", max_examples=150, deadline=None, print_blob=True)
settings.register_profile("thorough", max_examples=3000, deadline=None, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
