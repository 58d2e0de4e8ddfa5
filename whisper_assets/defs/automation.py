"""Former home of the jobs, the sensor and the schedules, now defs/jobs.py, defs/sensors.py and
defs/schedules.py. Kept only for importers outside the defs layer's owners; import from those."""

from whisper_assets.defs.jobs import JOBS, enrichment_job, forget_user_job, freshness_job, prune_job  # noqa: F401
from whisper_assets.defs.schedules import SCHEDULES, daily_closeout_schedule  # noqa: F401
