"""Evaluation of the assistant: dataset loading, scoring (metrics), reports and the ``eval.run`` CLI.

See eval/README.md for the dataset format and exactly how answers and quotes are matched.
"""
