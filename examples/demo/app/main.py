"""Demo API: a counter backed by Redis and PostgreSQL."""

import os

import psycopg
import redis
from flask import Flask, jsonify

app = Flask(__name__)
cache = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://localhost:6379/0"))


@app.get("/healthz")
def healthz():
    return jsonify(status="ok")


@app.get("/hits")
def hits():
    count = cache.incr("hits")
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute("INSERT INTO visits DEFAULT VALUES")
    return jsonify(hits=count)
