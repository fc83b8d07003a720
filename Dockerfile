# The Lab as one container. Build: docker build -t lab .   Run: docker run -p 8501:8501 lab
# torch==2.13.0 from the default index is the large CUDA build; to get the CPU build pass
# the PyTorch CPU wheel index: --build-arg PIP_EXTRA_INDEX_URL=<that index>.
FROM python:3.11-slim

ARG PIP_EXTRA_INDEX_URL=""
# MALLOC_ARENA_MAX=2: each session runs in its own thread, and glibc's per-thread arenas kept
# freed memory; with 2 arenas bench/load.py's 20 sessions peaked 90 MiB lower (README).
# housekeeping.py sets the same with mallopt at the first visit; this covers the start too.
ENV PIP_NO_CACHE_DIR=1 \
    PIP_EXTRA_INDEX_URL=${PIP_EXTRA_INDEX_URL} \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2

RUN useradd --create-home --uid 10001 lab
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY --chown=lab:lab . .
USER lab

EXPOSE 8501
# Streamlit's own health endpoint answers 200 once the server is up.
HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD python -c "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4); sys.exit(r.status != 200)"

# serve.py is `streamlit run app.py` with the warm-up begun at server start (see warmup.py).
CMD ["python", "serve.py", "--server.port=8501", "--server.address=0.0.0.0"]
