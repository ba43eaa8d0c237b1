"""smaps_rollup as the sum of smaps: the aggregator with the kernel's arithmetic, and the check
of a rollup against its smaps."""
