"""Every job's name, defined once: the jobs are defined under these names in their domain's
`jobs.py`, and sensors, the recovery check and the CLI's main job refer to them from here (a
module with no imports, so any module can name a job without importing its assets)."""

BOOTSTRAP_JOB = "bootstrap_job"
INGEST_JOB = "ingest_job"
PLATFORM_JOB = "platform_job"
BUSINESS_DAY_JOB = "business_day_job"
REFRESH_JOB = "refresh_job"
REPORTS_JOB = "reports_job"
FEEDS_JOB = "feeds_job"
EXPLAIN_JOB = "explain_job"
WHY_JOB = "why_job"
#: The landing job of each kind of input file (`data_files.DataFile.kind`).
LANDING_JOB_OF = {"live": INGEST_JOB, "platform": PLATFORM_JOB, "bootstrap": BOOTSTRAP_JOB}
