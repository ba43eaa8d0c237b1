"""The documented queries (``docs/fleet.md``), in SQL that DuckDB and Spark SQL both run
unchanged: ``smapsfmt query DIR "$(...)"`` and the Spark job (:mod:`smapsfmt.fleet.spark`)
give the same answers from the same text.

Every query orders its rows completely (ties broken by pid, pathname, host), so that two
engines give the same rows in the same order.
"""

from __future__ import annotations

from typing import Final

__all__ = ["QUERIES"]

# For each sample (in time order), its 10 processes with the largest Pss.
TOP_PSS: Final = """
SELECT s.host, s.time, s.sample_id, p.pid, p.comm, p.Pss, p.pss_rank
FROM (
    SELECT sample_id, pid, comm, Pss,
           row_number() OVER (PARTITION BY sample_id ORDER BY Pss DESC NULLS LAST, pid)
               AS pss_rank
    FROM processes
) p
JOIN samples s ON s.sample_id = p.sample_id
WHERE p.pss_rank <= 10
ORDER BY s.host, s.time, s.sample_id, p.pss_rank
"""

# Per host, the Pss of each pathname (all processes' mappings of it) in the first and the last
# sample that read mappings, and its growth; the 20 that grew most.
GROWTH_BY_PATHNAME: Final = """
WITH ends AS (
    SELECT host, min_by(sample_id, time) AS first_id, max_by(sample_id, time) AS last_id
    FROM samples
    WHERE smaps
    GROUP BY host
),
per AS (
    SELECT e.host, m.pathname,
           sum(CASE WHEN m.sample_id = e.first_id THEN m.Pss ELSE 0 END) AS pss_first,
           sum(CASE WHEN m.sample_id = e.last_id THEN m.Pss ELSE 0 END) AS pss_last
    FROM mappings m
    JOIN ends e ON m.sample_id IN (e.first_id, e.last_id)
    GROUP BY e.host, m.pathname
)
SELECT host, pathname, pss_first, pss_last, pss_last - pss_first AS growth
FROM per
ORDER BY growth DESC, host, pathname
LIMIT 20
"""

# Per kernel release and profile, over the latest sample of each host: hosts, processes and
# the total of each memory field.
KERNEL_TOTALS: Final = """
SELECT s.kernel_release, s.profile, count(DISTINCT s.host) AS hosts,
       count(*) AS processes, sum(p.Rss) AS Rss, sum(p.Pss) AS Pss,
       sum(p.Pss_Anon) AS Pss_Anon, sum(p.Pss_File) AS Pss_File,
       sum(p.Pss_Shmem) AS Pss_Shmem, sum(p.Swap) AS Swap, sum(p.SwapPss) AS SwapPss
FROM processes p
JOIN samples s ON s.sample_id = p.sample_id
WHERE s.sample_id IN (SELECT max_by(sample_id, time) FROM samples GROUP BY host)
GROUP BY s.kernel_release, s.profile
ORDER BY Pss DESC, s.kernel_release, s.profile
"""

QUERIES: Final[dict[str, str]] = {
    "top-pss": TOP_PSS,
    "growth-by-pathname": GROWTH_BY_PATHNAME,
    "kernel-totals": KERNEL_TOTALS,
}
