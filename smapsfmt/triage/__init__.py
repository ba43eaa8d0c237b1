"""Triage: where the memory goes, for one process, every process, over time.

``sweep`` reads every process's smaps_rollup (``smapsfmt ps``, and fleet sampling builds on
it); the command modules (``summary``, ``ps``, ``diff``, ``report``) each register their command
with ``smapsfmt._cli.main`` and import only what they use.
"""
