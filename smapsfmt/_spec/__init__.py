"""The specification files read as data: the ABI document (fields, units, invariants), the
kernel profiles (each kernel range's exact layout), the grammar, and where they are installed."""
