"""Benchmarks of bridge against reference servers (`bridge-bench`)."""

# Like every console script, bridge-bench keeps third-party deprecation
# warnings out of its output (see bridge.cmd).
import bridge.cmd  # noqa: E402,F401
