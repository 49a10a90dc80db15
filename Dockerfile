# syntax=docker/dockerfile:1
# A community mirror: docker build -t dockerhub-mirror .
#                     docker run -p 8080:8080 dockerhub-mirror
# Every option is an environment variable (docker run -e MIRROR_...=...).

ARG PYTHON_VERSION=3.12

# Stage 1: the project's wheel and the wheels of everything it needs.
FROM python:${PYTHON_VERSION}-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN pip install build
COPY . .
RUN python -m build --wheel --outdir /dist \
    && pip wheel --wheel-dir /wheels /dist/*.whl

# Stage 2: a slim runtime with those wheels installed and nothing else:
# no compiler, no source tree, and the wheels themselves only mounted.
FROM python:${PYTHON_VERSION}-slim
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PORT=8080
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels dockerhub-build-status
RUN groupadd --gid 10001 mirror \
    && useradd --uid 10001 --gid mirror --create-home \
       --shell /usr/sbin/nologin mirror \
    && install -d -o mirror -g mirror /home/mirror/state

# The accepted list version and peer table outlive a restart; mount a
# volume here to keep them when the container is replaced.
ENV MIRROR_STATE_DIR=/home/mirror/state

# Numeric, so that runtimes which refuse root can verify it.
USER 10001:10001
WORKDIR /home/mirror
EXPOSE 8080

# The slim image has no curl or wget; Python's urllib does the job.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/v1/health' % os.environ.get('PORT', '8080'), timeout=4)"]

# Exec form: the server is PID 1 and gets SIGTERM itself.
CMD ["dockerhub-mirror", "serve"]
