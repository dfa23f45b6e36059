"""Suite-wide pytest set-up: nothing framework-specific lives here."""

import os

try:
    from hypothesis import settings
except ImportError:  # hypothesis comes with the [test] extra; tests that need it import it
    settings = None

if settings is not None:
    # No deadline: the first call of a Numba kernel compiles it, which would
    # trip hypothesis's per-example deadline on a slow CI machine.
    settings.register_profile("ci", deadline=None, max_examples=50)
    settings.register_profile("dev", deadline=None)
    _profile = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else None)
    if _profile:
        settings.load_profile(_profile)
