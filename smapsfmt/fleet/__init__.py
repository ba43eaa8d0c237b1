"""Fleet scale: memory samples of processes and captures as a Parquet dataset.

``smapsfmt sample`` reads every process of this machine (smaps_rollup, and with ``--smaps``
every mapping), ``smapsfmt export`` turns capture files into the same dataset, and
``smapsfmt query`` runs SQL on it with DuckDB; :mod:`smapsfmt.fleet.spark` is the same
queries as a Spark job. The layout and every column are in :mod:`smapsfmt.fleet.schema`
(documented in ``docs/fleet.md``).

pyarrow, DuckDB and pyspark are optional (``pip install 'smapsfmt[fleet]'``,
``'smapsfmt[spark]'``): nothing here imports them before a command needs them, and
``import smapsfmt`` never imports this package.
"""

from __future__ import annotations
