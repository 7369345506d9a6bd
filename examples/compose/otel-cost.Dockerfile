# otel-cost from this checkout (build context: the repository root, see docker-compose.yaml).
FROM python:3.12-slim
WORKDIR /src
COPY pyproject.toml README.md ./
COPY otel_cost ./otel_cost
# Without setup.py and a compiler the pricing path runs in pure Python: its C accelerator makes
# no measurable difference to the receiver (docs/receiver.md, Throughput), so the image skips it.
RUN pip install --no-cache-dir . && mkdir -p /data
EXPOSE 4317 4318 9464
ENTRYPOINT ["otel-cost"]
CMD ["serve", "--ledger", "/data/ledger.sqlite"]
