"""Operator commands behind ``bridge-manage`` (wired in
:mod:`bridge.cmd.manage`): :mod:`.upgradecheck` (``upgrade check``) and
:mod:`.deadletters` (``dead-letters list|replay``). Each command is a
function of a parsed configuration that prints for a human and returns the
process exit code."""
