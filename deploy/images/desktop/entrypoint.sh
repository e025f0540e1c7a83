#!/bin/bash
# StreamSpace session image entrypoint: Xvnc + window manager + the app given as arguments.
# The contract (environment, files, signals, exit codes) is in deploy/images/README.md; both
# build paths (Dockerfile and build-offline.sh) install this one file. PID 1 is tini, which
# forwards SIGTERM here and reaps orphans.
set -euo pipefail
# Every background job gets its own process group, so stopping the app reaches its children
# (a browser's renderers, a shell's commands) and not only its first process.
set -m

log() { printf 'streamspace-entrypoint: %s\n' "$*" >&2; }
die() {
  log "$1"
  exit "${2:-64}"
}

VNC_PORT=${STREAMSPACE_VNC_PORT:-5900}
DISPLAY_NUMBER=${STREAMSPACE_DISPLAY:-1}
GEOMETRY=${STREAMSPACE_GEOMETRY:-1280x800}
WM=${STREAMSPACE_WM:-twm}
PASSWORD_FILE=${STREAMSPACE_VNC_PASSWORD_FILE:-/run/streamspace/vncpasswd}
# Seconds the app and window manager get to exit after SIGTERM before SIGKILL. Keep it below
# the platform's own grace (docker stop -t, terminationGracePeriodSeconds) so Xvnc still
# stops cleanly and the entrypoint exits 0.
GRACE_SECONDS=${STREAMSPACE_STOP_GRACE_SECONDS:-8}
RUNTIME_DIR=${STREAMSPACE_RUNTIME_DIR:-/tmp/streamspace-$(id -u)}
export HOME=${HOME:-/home/user}

[[ $VNC_PORT =~ ^[0-9]{1,5}$ ]] || die "STREAMSPACE_VNC_PORT must be a port number"
[[ $DISPLAY_NUMBER =~ ^[0-9]{1,3}$ ]] || die "STREAMSPACE_DISPLAY must be a display number"
[[ $GEOMETRY =~ ^[0-9]{3,4}x[0-9]{3,4}$ ]] || die "STREAMSPACE_GEOMETRY must look like 1280x800"
[[ $GRACE_SECONDS =~ ^[0-9]{1,4}$ ]] || die "STREAMSPACE_STOP_GRACE_SECONDS must be a number"
case $WM in twm | openbox | none) ;; *) die "STREAMSPACE_WM must be twm, openbox or none" ;; esac
# A missing app fails before Xvnc listens, so a driver waiting for the RFB banner sees the
# container exit (127) instead of a desktop that would end a moment later.
if (($# > 0)) && ! command -v -- "$1" >/dev/null; then die "app not found: $1" 127; fi

# The password file holds the plaintext password; Xvnc wants the obfuscated form
# (RFC 6143 §7.2.2 DES key) that `vncpasswd -f` writes. It lives on /tmp so the root
# filesystem can be read-only, readable only by this user.
(umask 077 && mkdir -p "$RUNTIME_DIR")
if [[ -r $PASSWORD_FILE ]]; then
  (umask 077 && vncpasswd -f <"$PASSWORD_FILE" >"$RUNTIME_DIR/passwd")
elif [[ -n ${STREAMSPACE_VNC_PASSWORD:-} ]]; then
  (umask 077 && printf '%s\n' "$STREAMSPACE_VNC_PASSWORD" | vncpasswd -f >"$RUNTIME_DIR/passwd")
else
  die "no VNC password: mount $PASSWORD_FILE or set STREAMSPACE_VNC_PASSWORD" 64
fi
# The app must not inherit the password.
unset STREAMSPACE_VNC_PASSWORD

# -AlwaysShared: several viewers may watch one session (a new viewer never kicks another).
# -displayfd: Xvnc writes the display number once it accepts X clients, so no polling.
# On a fresh tmpfs /tmp (read-only root filesystem) the X socket directory is missing and a
# non-root Xvnc refuses to create it; clients would then only find the abstract socket.
[[ -d /tmp/.X11-unix ]] || mkdir -m 1777 /tmp/.X11-unix
mkfifo "$RUNTIME_DIR/ready"
Xvnc ":$DISPLAY_NUMBER" -rfbport "$VNC_PORT" -SecurityTypes VncAuth \
  -PasswordFile "$RUNTIME_DIR/passwd" -geometry "$GEOMETRY" -depth 24 \
  -desktop "${STREAMSPACE_DESKTOP_NAME:-StreamSpace}" -AlwaysShared -nolisten tcp \
  -displayfd 3 3>"$RUNTIME_DIR/ready" &
XVNC_PID=$!
if ! read -r -t 30 _ <"$RUNTIME_DIR/ready"; then
  kill -TERM "$XVNC_PID" 2>/dev/null || true
  die "Xvnc did not start" 70
fi
rm -f "$RUNTIME_DIR/ready"
export DISPLAY=":$DISPLAY_NUMBER"
log "Xvnc ready on port $VNC_PORT, display $DISPLAY, geometry $GEOMETRY"

cd "$HOME" 2>/dev/null || cd /tmp
WM_PID=
case $WM in
  twm)
    # twm's default makes the user click to place every new window, which in a browser looks
    # like an empty desktop with an outline stuck to the pointer: place windows without asking.
    printf 'RandomPlacement\nUsePPosition "on"\nNoGrabServer\nDecorateTransients\n' >"$RUNTIME_DIR/twmrc"
    twm -f "$RUNTIME_DIR/twmrc" &
    WM_PID=$! ;;
  openbox) openbox &
    WM_PID=$! ;;
  none) ;;
esac

# With an app, the session lives as long as the app does. Without one, an xterm is
# started for convenience and the session lives as long as Xvnc.
if (($# > 0)); then
  "$@" &
  APP_PID=$!
  APP_REQUIRED=1
else
  xterm &
  APP_PID=$!
  APP_REQUIRED=0
fi

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# TERM the app's process group and give it GRACE_SECONDS to exit (this is when it flushes
# files), KILL what remains, then the window manager (nothing to flush; twm ignores SIGTERM
# until its next X event), then stop Xvnc. Exits with $1.
shutdown() {
  local code=$1 deadline
  trap '' TERM INT
  if [[ -n $APP_PID ]]; then
    kill -TERM -- "-$APP_PID" 2>/dev/null || kill -TERM "$APP_PID" 2>/dev/null || true
  fi
  deadline=$((SECONDS + GRACE_SECONDS))
  # bash reaps exited children from its SIGCHLD handler, so kill -0 fails once the app is
  # gone. Polling keeps the deadline honoured (bash's `wait` has no timeout).
  while alive "$APP_PID" && ((SECONDS < deadline)); do sleep 0.1; done
  if alive "$APP_PID"; then
    log "app ignored SIGTERM for ${GRACE_SECONDS}s; killing it"
    kill -KILL -- "-$APP_PID" 2>/dev/null || kill -KILL "$APP_PID" 2>/dev/null || true
  fi
  if [[ -n $WM_PID ]]; then
    kill -KILL -- "-$WM_PID" 2>/dev/null || kill -KILL "$WM_PID" 2>/dev/null || true
  fi
  if [[ -n $XVNC_PID ]]; then
    kill -TERM "$XVNC_PID" 2>/dev/null || true
    wait "$XVNC_PID" 2>/dev/null || true
  fi
  log "stopped"
  exit "$code"
}
trap 'log "SIGTERM received"; shutdown 0' TERM INT

set +e
while :; do
  wait -n -p DONE_PID
  status=$?
  # A trapped signal interrupts `wait` before any child exits; the trap already ran.
  [[ -n ${DONE_PID:-} ]] || continue
  if [[ $DONE_PID == "$XVNC_PID" ]]; then
    log "Xvnc exited with status $status"
    XVNC_PID=
    shutdown $((status == 0 ? 1 : status))
  elif [[ $DONE_PID == "$APP_PID" ]]; then
    if ((APP_REQUIRED)); then
      log "app exited with status $status; ending the session"
      APP_PID=
      shutdown "$status"
    fi
    log "xterm exited; the desktop keeps running"
    APP_PID=
  elif [[ $DONE_PID == "$WM_PID" ]]; then
    log "window manager exited with status $status"
    WM_PID=
  fi
  unset DONE_PID
done
