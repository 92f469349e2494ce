"""The console scripts. Importing this package, which every console script
does first, hides third-party deprecation warnings
(:func:`bridge.cmd.common.hide_third_party_warnings`)."""

from bridge.cmd import common

common.hide_third_party_warnings()
