"""The cellmeet domain: rule sets and the pure decisions of Huong dan 03-HD/TW and the Party Charter.

Nothing here does I/O, reads a clock or imports a framework; time and facts are arguments.
"""
