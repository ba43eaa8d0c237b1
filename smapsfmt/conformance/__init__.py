"""The conformance corpus and harness for any smaps / smaps_rollup parser.

See docs/conformance.md and docs/decoder-contract.md.
"""
