# Shared by scripts/test.sh and scripts/demo.sh: system packages and a private pcscd.
# Source it; it defines functions and changes nothing by itself.

# Packages every Sésame script needs on Debian: the PC/SC library headers to build the
# `pcsc` crate, pcscd itself, the vsmartcard vpcd driver for the virtual card, and
# OpenSSL (an independent peer in the interoperability tests).
SESAME_PACKAGES=(libpcsclite-dev pkg-config pcscd vsmartcard-vpcd iproute2 util-linux openssl)

sesame_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs what is missing (apt-get update first, as a fresh machine needs).
sesame_install_packages() {
    local missing=()
    for p in "${SESAME_PACKAGES[@]}" "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "==> installing ${missing[*]}"
        sesame_as_root apt-get update -qq
        sesame_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

# Starts a pcscd of our own, isolated from any pcscd already running: its own
# /run/pcscd (a private mount namespace), its own reader.conf.d with one vpcd entry.
# vpcd serves two readers (slots) per pcscd, on ports PORT and PORT+1.
# Sets SESAME_PCSCD_DIR, SESAME_PCSCD_PID, SESAME_VPCD_PORT and exports
# PCSCLITE_CSOCK_NAME (honoured by every PC/SC client, the `pcsc` crate included).
sesame_start_pcscd() {
    SESAME_PCSCD_DIR=$(mktemp -d /tmp/sesame-pcscd.XXXXXX)
    mkdir -p "$SESAME_PCSCD_DIR/run" "$SESAME_PCSCD_DIR/conf"
    # Ports below 32768: the ephemeral range can be held by TIME_WAIT sockets.
    local port=${SESAME_VPCD_PORT:-29170}
    while ss -ltn | grep -qE ":($port|$((port + 1)))\b"; do port=$((port + 2)); done
    SESAME_VPCD_PORT=$port
    cat > "$SESAME_PCSCD_DIR/conf/vpcd" <<CONF
FRIENDLYNAME "Sesame vpcd"
DEVICENAME   /dev/null:$port
LIBPATH      /usr/lib/pcsc/drivers/serial/libifdvpcd.so
CHANNELID    $port
CONF
    local ns=(unshare -m)
    if [ "$(id -u)" = 0 ]; then mkdir -p /run/pcscd; else ns=(unshare -r -m); fi
    "${ns[@]}" sh -c "mount --bind '$SESAME_PCSCD_DIR/run' /run/pcscd && exec pcscd -f -c '$SESAME_PCSCD_DIR/conf'" \
        >"$SESAME_PCSCD_DIR/pcscd.log" 2>&1 &
    SESAME_PCSCD_PID=$!
    export PCSCLITE_CSOCK_NAME="$SESAME_PCSCD_DIR/run/pcscd.comm"
    # Ready when the socket exists and vpcd listens on both ports. Never probe a vpcd port
    # by connecting to it: vpcd takes any connection for a card.
    local i
    for i in $(seq 1 100); do
        if [ -S "$PCSCLITE_CSOCK_NAME" ] && ss -ltn | grep -qE ":$port\b" && ss -ltn | grep -qE ":$((port + 1))\b"; then
            echo "==> pcscd ready (pid $SESAME_PCSCD_PID, vpcd on ports $port and $((port + 1)))"
            return 0
        fi
        if ! kill -0 "$SESAME_PCSCD_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    echo "pcscd did not start; its log:" >&2
    cat "$SESAME_PCSCD_DIR/pcscd.log" >&2
    return 1
}

sesame_stop_pcscd() {
    if [ -n "${SESAME_PCSCD_PID:-}" ]; then
        kill "$SESAME_PCSCD_PID" 2>/dev/null || true
        wait "$SESAME_PCSCD_PID" 2>/dev/null || true
        SESAME_PCSCD_PID=
    fi
    if [ -n "${SESAME_PCSCD_DIR:-}" ]; then
        rm -rf "$SESAME_PCSCD_DIR"
        SESAME_PCSCD_DIR=
    fi
}

# Logs in once through the daemon's HTTPS flow with curl, as a browser would: the IdP's
# /login (cookie), the consent page (session id, token), the progress events, the CAN,
# the answer page, and its form posted to the IdP's /callback. Leaves the IdP's page in
# WORK/result.html and the events in WORK/events.
#   sesame_curl_login IDP_URL DAEMON_URL CA_PEM CAN WORK
sesame_curl_login() {
    local idp=$1 daemon=$2 ca=$3 can=$4 work=$5 location session token events_pid
    curl_d() { curl -sS --fail-with-body --cacert "$ca" "$@"; }
    location=$(curl -sS -c "$work/cookies" -o /dev/null -w '%{redirect_url}' "$idp/login")
    curl_d -H 'Accept-Language: en' "$location" >"$work/consent.html"
    session=$(grep -o 'data-session="[^"]*"' "$work/consent.html" | cut -d'"' -f2)
    token=$(grep -o 'name="token" value="[^"]*"' "$work/consent.html" | head -1 | cut -d'"' -f4)
    : >"$work/events"
    curl_d -N --max-time 20 "$daemon/v1/sessions/$session/events?token=$token" >"$work/events" &
    events_pid=$!
    for _ in $(seq 1 100); do grep -q '^event: readers' "$work/events" && break; sleep 0.01; done
    curl_d -H "Origin: $daemon" --data "token=$token&can=$can" "$daemon/v1/sessions/$session/start" >/dev/null
    for _ in $(seq 1 1000); do grep -q '^event: done' "$work/events" && break; sleep 0.01; done
    kill "$events_pid" 2>/dev/null || true
    wait "$events_pid" 2>/dev/null || true
    curl_d -H "Origin: $daemon" -H 'Accept-Language: en' --data "token=$token&action=return" \
        "$daemon/v1/sessions/$session/finish" >"$work/return.html"
    python3 - "$work/return.html" >"$work/form" <<'PY'
import html, re, sys, urllib.parse
page = open(sys.argv[1], encoding="utf-8").read()
fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
print(urllib.parse.urlencode([(k, html.unescape(v)) for k, v in fields]), end="")
PY
    curl -sS -b "$work/cookies" -H 'Accept-Language: en' --data @"$work/form" "$idp/callback" >"$work/result.html"
}
