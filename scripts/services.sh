#!/usr/bin/env bash
# Starts the local services the tests use when they are not running: PostgreSQL, the Mosquitto
# MQTT broker (case events), Redis (the worker pool's queue), and installs Debian's Chromium for
# the browser tests and the GStreamer RTSP server the live-camera tests stream from. Needs root (as on the development and CI machines).
set -euo pipefail

# PostgreSQL on 127.0.0.1:5432 with a database "test" that the user postgres enters without a
# password (tests/service/conftest.py makes a database of its own per run beside it). Debian's
# package is installed when there is none; a fresh Debian cluster asks for a password on
# 127.0.0.1, so that one line of its pg_hba.conf is opened for the tests (a test machine only).
pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
pg_enters() { psql -h 127.0.0.1 -U postgres -w -d postgres -tAc 'select 1' >/dev/null 2>&1; }
if ! command -v pg_isready >/dev/null && ! pg_ready; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq postgresql >/dev/null
fi
pg_cluster() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n1; }
if ! pg_ready; then
    if command -v pg_ctlcluster >/dev/null && [ -n "$(pg_cluster)" ]; then
        pg_ctlcluster --skip-systemctl-redirect "$(pg_cluster)" main start || true
    fi
    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }
if ! pg_enters && [ -n "$(pg_cluster)" ]; then
    hba="/etc/postgresql/$(pg_cluster)/main/pg_hba.conf"
    if [ -f "$hba" ] && ! grep -q "^host all postgres 127.0.0.1/32 trust" "$hba"; then
        sed -i '1i host all postgres 127.0.0.1/32 trust' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$(pg_cluster)" main reload || true
        for _ in $(seq 1 10); do pg_enters && break; sleep 1; done
    fi
fi
pg_enters || { echo "PostgreSQL on 127.0.0.1:5432 does not let the user postgres in without a password" >&2; exit 1; }
if [ "$(psql -h 127.0.0.1 -U postgres -w -d postgres -tAc "select 1 from pg_database where datname = 'test'")" != 1 ]; then
    psql -h 127.0.0.1 -U postgres -w -d postgres -qc 'create database test' >/dev/null
fi

# Mosquitto on 127.0.0.1:1883, anonymous, for tests/service/test_events.py (Debian's package).
mqtt_ready() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }
if ! mqtt_ready; then
    if ! command -v mosquitto >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq mosquitto >/dev/null
    fi
    conf=/etc/mosquitto/conf.d/civicwatch-tests.conf
    if [ -d /etc/mosquitto/conf.d ] && ! grep -qs "^listener 1883" /etc/mosquitto/mosquitto.conf /etc/mosquitto/conf.d/*.conf; then
        printf 'listener 1883 127.0.0.1\nallow_anonymous true\n' > "$conf"
    fi
    mkdir -p /run/mosquitto && chown mosquitto: /run/mosquitto 2>/dev/null || true
    mosquitto -d -c /etc/mosquitto/mosquitto.conf
    for _ in $(seq 1 30); do mqtt_ready && break; sleep 0.5; done
fi
mqtt_ready || { echo "Mosquitto is not reachable on 127.0.0.1:1883" >&2; exit 1; }

# Redis on 127.0.0.1:6379: the Celery broker of the worker pool (tests/service/test_worker_pool.py,
# benchmarks/workers.py). Debian's package; started as a daemon when not running.
redis_ready() { (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; }
if ! redis_ready; then
    if ! command -v redis-server >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq redis-server >/dev/null
    fi
    redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis_ready && break; sleep 0.5; done
fi
redis_ready || { echo "Redis is not reachable on 127.0.0.1:6379" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi

# A real RTSP camera for tests/live (tests/live/rtsp_server.py runs under the system Python):
# Debian's GStreamer RTSP server, its GObject bindings, and the demuxer/parser/payloader it uses.
if ! /usr/bin/python3 -c 'import gi; gi.require_version("GstRtspServer", "1.0")' 2>/dev/null \
    || ! command -v gst-inspect-1.0 >/dev/null || ! gst-inspect-1.0 h264parse >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-tools \
        gstreamer1.0-plugins-good gstreamer1.0-plugins-bad >/dev/null
fi
