# Yunjian application image: API, ingest worker, simulator and dashboard share it;
# docker-compose.yml picks the process with the command. The database is a separate
# TimescaleDB container (see docker-compose.yml).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY backend ./backend
COPY dashboard ./dashboard
COPY ingest ./ingest
COPY migrations ./migrations
RUN pip install .

RUN useradd --system --uid 10001 yunjian
USER yunjian

EXPOSE 8000 8050 8090
# DATABASE_URL must point at PostgreSQL with TimescaleDB; see docker-compose.yml.
CMD ["yunjian", "api", "--host", "0.0.0.0"]
