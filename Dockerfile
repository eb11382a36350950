# One image for every racecheck service in docker-compose.yml: the target, the
# Locust master and the Locust workers. No build tools, no dev extras.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY target_app ./target_app
COPY loadtests ./loadtests
RUN pip install . \
    && useradd --create-home --uid 1000 racecheck \
    && mkdir -p /app/reports \
    && chown racecheck /app/reports

# Never run a load generator or a web server as root.
USER racecheck
# 8000 the target, 8089 Locust's web UI, 5557 the Locust master port.
EXPOSE 8000 8089 5557
CMD ["racecheck", "--help"]
