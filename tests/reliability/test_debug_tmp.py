import logging, time
from datetime import date
from cosmo_avatar.celery import app
from outcomes import tasks
from trials.models import Role
from trials.services import analysis_settings_change
from .conftest import CeleryStack
from .test_worker_killed import _progressing_patient

def test_debug(celery_stack: CeleryStack, cast, caplog):
    caplog.set_level(logging.INFO)
    _progressing_patient(cast, date(2025, 2, 3))
    celery_stack.publish_to_broker()
    print("eager", app.conf.task_always_eager, app.conf.broker_url)
    t = time.monotonic()
    analysis_settings_change(trial=cast.cosmo, user=cast.user(Role.STATISTICIAN), reason="x", values={"data_cutoff_date": date(2025, 6, 15)})
    print("took", time.monotonic() - t)
    import redis
    print(redis.Redis.from_url(celery_stack.broker_url).keys("*"))
    import traceback
    for rec in caplog.records[-1:]: print("".join(traceback.format_exception(*rec.exc_info))[-3000:])
