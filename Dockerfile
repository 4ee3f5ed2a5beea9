# syntax=docker/dockerfile:1
# batten in a container: non-root with a fixed UID/GID, read-only friendly, no shell needed at
# run time. Scan the current directory (reports go to stdout):
#   docker run --rm -v "$PWD:/src" batten:0.2.0 scan /src
#   docker run --rm --read-only --tmpfs /tmp --network none -v "$PWD:/src:ro" batten:0.2.0 scan /src --format sarif
FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
COPY widgets ./widgets
COPY fixers ./fixers
RUN pip install --no-cache-dir --no-compile --prefix=/install .

FROM python:3.12-slim@sha256:78387bc3881b8273120a12ebe6c1ab22b018ccc2c9adf565ae1ac9b536e184ea AS runtime
LABEL org.opencontainers.image.title="batten" \
      org.opencontainers.image.description="Container-hardening assistant: Dockerfile and compose findings, live containers, format-preserving fixes" \
      org.opencontainers.image.licenses="MIT"
COPY --from=build /install /usr/local
RUN groupadd --system --gid 10001 batten \
 && useradd --system --uid 10001 --gid batten --no-log-init --home-dir /home/batten --create-home batten
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/home/batten \
    XDG_STATE_HOME=/tmp/state
WORKDIR /src
USER 10001:10001
# a one-shot command line tool: there is no long-running service to probe
HEALTHCHECK NONE
ENTRYPOINT ["batten"]
CMD ["scan", "/src"]
