# Petunia: the API in one image.
#
#   docker build -t petunia .
#   docker run --rm -p 8000:8000 -v petunia-data:/data petunia petunia up --host 0.0.0.0   # demo
#   docker run --rm -p 8000:8000 -e DATABASE_URL=postgresql+psycopg://... petunia         # production
#
# The default command applies the migrations, then serves with $WORKERS uvicorn workers.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PETUNIA_DATA_DIR=/data \
    WORKERS=2

RUN groupadd --system --gid 10001 petunia \
    && useradd --system --uid 10001 --gid petunia --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin petunia

WORKDIR /app

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

# Then the source tree, installed in place (editable): the CLI finds the demo directory at
# /app/directory_data, next to the api package.
COPY . .
RUN pip install --no-cache-dir --no-deps -e . \
    && mkdir -p /data \
    && chown petunia:petunia /data

USER petunia
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

CMD ["sh", "-c", "petunia db upgrade && exec petunia serve --host 0.0.0.0 --port 8000 --workers \"${WORKERS:-2}\""]
