"""The Lambda entry of each API function of a packaged stage.

Each module serves one blueprint of chalicelib/api/, so a function imports
only what its routes use. ``make package`` points the function's ``Handler``
at ``chalicelib.lambdas.<name>.app``; ``app.py`` stays the app of ``chalice
local``, ``chalice deploy`` and the tests.
"""
