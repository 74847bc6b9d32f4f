# Sourced: whether a local port answers, and a wait for one with a deadline.
# The caller defines `log`.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name seconds
  local deadline=$((SECONDS + $3))
  until port_open "$1"; do
    ((SECONDS < deadline)) || { log "$2 did not open port $1 within $3 s"; exit 1; }
    sleep 0.2
  done
}
