"""Text to models: the grammar's parser, the fast path and its C accelerator, batches of
entries for the aggregator."""
