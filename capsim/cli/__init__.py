"""The command line.

Click commands and shared options; the only place that maps errors to exit codes.
"""
