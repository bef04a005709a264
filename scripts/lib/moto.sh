# start_moto: starts moto (DynamoDB, SQS, SES) from .tools/services on a free loopback
# port, exports UPLINE_TEST_MOTO, waits until it answers and stops it when the calling
# script exits. Needs TOOLS set and the services tools installed (scripts/test does both).
start_moto() {
  MOTO_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$TOOLS/services/bin/moto_server" -H 127.0.0.1 -p "$MOTO_PORT" > "$TOOLS/moto.log" 2>&1 &
  MOTO_PID=$!
  trap 'kill "$MOTO_PID" 2>/dev/null || true' EXIT
  export UPLINE_TEST_MOTO="http://127.0.0.1:$MOTO_PORT"
  python3 - "$UPLINE_TEST_MOTO" <<'PY'
import sys, time, urllib.request
for _ in range(300):
    try:
        urllib.request.urlopen(sys.argv[1] + "/moto-api/data.json", timeout=1)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit("moto did not start; see .tools/moto.log")
PY
}
