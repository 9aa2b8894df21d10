# The web, worker and beat image (docker-compose.yml). Python 3.11: Django 5.2 LTS.
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --create-home --uid 1000 edc
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DJANGO_DEBUG=False DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
USER edc
EXPOSE 8000
CMD ["gunicorn", "cosmo_avatar.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
